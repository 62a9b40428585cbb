"""Ablation: the same input rendered with post-processes off and on, side by side."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .config import GenerationConfig
from .video import VideoWriter, read_frames

TILE = 256


def variants_for(config: GenerationConfig, compare: list[str]) -> list[tuple[str, GenerationConfig]]:
    """Labelled configs that differ from ``config`` in one post-process at a time.

    Args:
        config: the settings chosen by the user.
        compare: any of "smoothing", "mouth completion", "restoration".
    Returns:
        [(label, config)] without duplicate configs: the off/on variants of
        each chosen post-process, then the user's own settings ("as chosen")
        only when they differ from all of those (e.g. smoothing l=1). A
        config reached twice keeps one tile whose label names both
        ("no smoothing, mouth completion").
    """
    out: list[tuple[str, GenerationConfig]] = []
    if "smoothing" in compare:
        smoothed = max(config.smoothing, 2)
        out += [("no smoothing", replace(config, smoothing=0)), (f"smoothing l={smoothed}", replace(config, smoothing=smoothed))]
    if "mouth completion" in compare:
        out += [("dark mouth", replace(config, mouth=False)), ("mouth completion", replace(config, mouth=True))]
    if "restoration" in compare:
        out += [(f"restore {mode}", replace(config, restore=mode)) for mode in ("off", "reference", "frames")]
    out.append(("as chosen", config))
    unique: list[tuple[str, GenerationConfig]] = []
    for label, variant in out:
        same = [i for i, (_, seen) in enumerate(unique) if seen == variant]
        if not same:
            unique.append((label, variant))
        elif label != "as chosen":
            first, seen = unique[same[0]]
            unique[same[0]] = (f"{first}, {label}", seen)
    return unique


def label_tile(frame: np.ndarray, label: str) -> np.ndarray:
    """Resize a frame to the tile height and write its label in a bar along its bottom.

    The bottom, because players lay their own label and buttons over the top corners.
    """
    height, width = frame.shape[:2]
    tile = cv2.resize(frame, (max(2, round(width * TILE / height / 2) * 2), TILE), interpolation=cv2.INTER_AREA)
    # Long labels (merged duplicates) shrink to fit the tile instead of running off it.
    (text_width, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    scale = 0.5 * min(1.0, (tile.shape[1] - 12) / max(text_width, 1))
    cv2.rectangle(tile, (0, TILE - 22), (tile.shape[1], TILE), (0, 0, 0), -1)
    cv2.putText(tile, label, (6, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def side_by_side(videos: list[Path], labels: list[str], out: Path, fps: float, audio: str) -> Path:
    """Stack videos horizontally, frame by frame (streamed), with the audio."""
    streams = [read_frames(v) for v in videos]
    writer = None
    try:
        for frames in zip(*streams):
            row = np.hstack([label_tile(f, l) for f, l in zip(frames, labels)])
            if writer is None:
                writer = VideoWriter(out, row.shape[:2], fps, audio=audio)
            writer.write(row)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return out


def compare_variants(
    pipeline,
    photo: str,
    audio: str,
    variants: list[tuple[str, GenerationConfig]],
    folder: Path,
    progress: Callable[[int, int, str, float], None] | None = None,
    transcript: str | None = None,
) -> tuple[Path, list[dict]]:
    """Generate every variant, measure it, and join them side by side.

    Returns:
        (path of the side-by-side MP4, [{"variant", "seconds", "face sharpness
        (CPBD)", "mouth jitter"}]).
    """
    from .eval.evaluate import evaluate_video

    folder = Path(folder)
    videos, rows = [], []
    for index, (label, config) in enumerate(variants):
        report = (lambda stage, fraction, i=index: progress(i, len(variants), stage, fraction)) if progress else None
        start = time.perf_counter()
        result = pipeline.generate(photo, audio, str(folder / f"variant_{index}.mp4"), config=config, progress=report,
                                   transcript=transcript)
        seconds = time.perf_counter() - start
        measured = evaluate_video(result.video)
        videos.append(result.video)
        rows.append({
            "variant": label,
            "seconds": round(seconds, 2),
            "face sharpness (CPBD)": round(measured.sharpness, 4),
            "mouth jitter": round(measured.jitter_mouth, 5),
        })
    fps = variants[0][1].fps
    return side_by_side(videos, [label for label, _ in variants], folder / "ablation.mp4", fps, audio), rows
