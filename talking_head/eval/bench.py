"""`bench`: speed, memory and quality on real talking videos, as a Markdown report."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import GenerationConfig
from ..video import read_frames
from .evaluate import evaluate_video, track_video

QUALITY_COLUMNS = ("lip_sync_r", "lip_sync_best_r", "jitter_mouth", "jitter_all", "sharpness", "photo_sharpness",
                   "identity_distance", "flicker")


def first_frame(video: Path, out: Path) -> Path:
    """Save a video's first frame as the photo of its test case."""
    import cv2

    frame = next(read_frames(video))
    cv2.imwrite(str(out), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return out


def ablations(config: GenerationConfig) -> list[tuple[str, GenerationConfig]]:
    """The full pipeline and one post-process (or the driver) removed at a time."""
    return [
        ("full", config),
        ("no smoothing", replace(config, smoothing=0)),
        ("no mouth completion", replace(config, mouth=False)),
        ("paper-mode texture", replace(config, texture_mode="paper")),
        ("loudness driver", replace(config, driver="loudness")),
    ]


def quality(pipeline, videos: list[Path], variants: list[tuple[str, GenerationConfig]], folder: Path,
            log=print) -> list[dict]:
    """Generate every variant for every real video (first frame + its audio) and measure it.

    Returns:
        rows of {"video", "variant", metrics...}; the real video itself is
        measured too (variant "real video") as the reference for jitter.
    """
    rows = []
    for video in videos:
        photo = first_frame(video, folder / f"{video.stem}_photo.png")
        real, _ = track_video(video)
        measured = evaluate_video(video, photo=photo, real_track=real).as_dict()
        rows.append({"video": video.stem, "variant": "real video", **measured})
        for label, config in variants:
            out = folder / f"{video.stem}_{label.replace(' ', '_')}.mp4"
            start = time.perf_counter()
            pipeline.generate(str(photo), str(video), str(out), overwrite=True, config=config)
            seconds = time.perf_counter() - start
            measured = evaluate_video(out, photo=photo, real_track=real).as_dict()
            rows.append({"video": video.stem, "variant": label, "seconds": seconds, **measured})
            log(f"{video.stem:>8} {label:<22} r={measured['lip_sync_r']:.3f} "
                f"jitter_mouth={measured['jitter_mouth']:.4f} sharp={measured['sharpness']:.3f}")
    return rows


def write_tone_speech(path: Path, seconds: float, rate: int = 16000) -> Path:
    """Speech-like test audio (syllable-rate bursts of a harmonic tone), any length."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
    signal = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 700, 1200), start=1))
    samples = (0.3 * envelope * signal / 2.1 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return path


PEAK_PROBE = (
    "import sys\n"
    "from talking_head.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "print('PEAK_RSS_KB', hwm[0])\n"
    "sys.exit(code)\n"
)


def peak_memory(photo: Path, seconds: float, size: int = 512) -> dict:
    """Peak RSS of a fresh `generate` process for audio of a given length.

    The child reports its own ``VmHWM`` (peak resident set of its address
    space). ``ru_maxrss`` would not do: Linux carries it across ``execve``, so a
    child forked from a large parent starts at the parent's size.
    """
    with tempfile.TemporaryDirectory() as tmp:
        audio = write_tone_speech(Path(tmp) / "speech.wav", seconds)
        out = Path(tmp) / "out.mp4"
        command = [sys.executable, "-c", PEAK_PROBE, "generate", "--photo", str(photo), "--audio", str(audio),
                   "--out", str(out), "--size", str(size), "--max-audio-seconds", str(seconds + 60)]
        start = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
    peak_kb = int(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_KB")))
    return {"audio_seconds": seconds, "peak_rss_mb": peak_kb / 1024.0, "wall_seconds": wall}


def speed(pipeline, photo: Path, audio: Path, folder: Path, modes=("off", "reference"), log=print) -> list[dict]:
    """Per-stage seconds and seconds of compute per second of video, per restoration mode."""
    rows = []
    for mode in modes:
        config = replace(pipeline.config, restore=mode)
        out = folder / f"speed_{mode}.mp4"
        start = time.perf_counter()
        result = pipeline.generate(str(photo), str(audio), str(out), overwrite=True, config=config)
        total = time.perf_counter() - start
        row = {"restore_mode": mode, "video_seconds": result.duration, "total_seconds": total,
               "seconds_per_video_second": total / result.duration,
               **{k: v for k, v in result.timings.items()}}
        rows.append(row)
        log(f"restore={mode:<9} {total:.2f} s for {result.duration:.2f} s of video "
            f"({total / result.duration:.2f} s/s)")
    return rows


def summarise(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Mean of each metric per variant over the videos."""
    out: dict[str, dict[str, float]] = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        chosen = [r for r in rows if r["variant"] == variant]
        out[variant] = {c: float(np.nanmean([np.nan if r.get(c) is None else r[c] for r in chosen]))
                        for c in (*QUALITY_COLUMNS, "seconds") if any(c in r for r in chosen)}
    return out


def markdown_table(rows: list[dict], columns: tuple[str, ...], first: tuple[str, ...]) -> str:
    """A Markdown table of ``rows`` with ``first`` key columns then ``columns``."""
    header = "| " + " | ".join((*first, *columns)) + " |"
    rule = "|" + "---|" * (len(first) + len(columns))
    lines = [header, rule]
    for row in rows:
        cells = [str(row.get(k, "")) for k in first]
        for c in columns:
            v = row.get(c)
            cells.append("" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=1, default=float))


def plot_mouth(rows_video: str, real: Path, ours: Path, out: Path) -> None:
    """Mouth opening over time, ours against the real video."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import fill_gaps
    from .metrics import mouth_opening

    figure, axis = plt.subplots(figsize=(9, 2.6))
    for path, label in ((real, "real video"), (ours, "ours")):
        track, _ = track_video(path)
        opening = fill_gaps(mouth_opening(track.points))
        axis.plot(np.arange(len(opening)) / track.fps, opening, label=label, lw=1.4)
    axis.set_xlabel("seconds")
    axis.set_ylabel("inner-lip gap / eye distance")
    axis.set_title(rows_video)
    axis.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(out, dpi=90)
    plt.close(figure)


def plot_jitter(summary: dict[str, dict[str, float]], out: Path) -> None:
    """Mouth jitter per ablation (mean over videos)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(summary)
    values = [summary[k].get("jitter_mouth", np.nan) for k in labels]
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.barh(labels, values, color=["0.5" if k == "real video" else "C0" for k in labels])
    axis.set_xlabel("mouth jitter (inter-ocular distances / frame^2)")
    figure.tight_layout()
    figure.savefig(out, dpi=90)
    plt.close(figure)


def run_bench(out: Path, real_videos: Path | None, device: str = "auto", frames_mode: bool = False,
              memory_seconds: tuple[float, ...] = (10.0, 60.0, 300.0), log=print) -> Path:
    """The whole benchmark; writes ``out/report.md``, JSON and PNG plots; returns the report path."""
    from ..pipeline import TalkingHeadPipeline

    here = Path(__file__).resolve().parents[2]
    photo = here / "assets" / "examples" / "astronaut.png"
    audio = here / "assets" / "examples" / "hello.m4a"
    out.mkdir(parents=True, exist_ok=True)
    config = GenerationConfig(device=device)
    pipeline = TalkingHeadPipeline(config)
    lines = ["# Benchmark", "", f"Device: {pipeline.device(config)}; example: {photo.name} + {audio.name}.", ""]

    log("speed ...")
    modes = ("off", "reference", "frames") if frames_mode else ("off", "reference")
    speed_rows = speed(pipeline, photo, audio, out, modes, log)
    stage_keys = [k for k in ("audio", "analysis", "restore", "texture", "driver", "smoothing", "render_setup",
                              "render", "restore_frames", "render_and_encode") if any(k in r for r in speed_rows)]
    lines += ["## Speed (512x512)", "", markdown_table(speed_rows, ("seconds_per_video_second", "total_seconds",
                                                                    *stage_keys), ("restore_mode",)), ""]
    log("memory ...")
    memory_rows = [peak_memory(photo, s) for s in memory_seconds]
    for row in memory_rows:
        log(f"{row['audio_seconds']:>6.0f} s of audio: peak {row['peak_rss_mb']:.0f} MB, {row['wall_seconds']:.1f} s")
    lines += ["## Peak memory (fresh process, RSS)", "",
              markdown_table(memory_rows, ("peak_rss_mb", "wall_seconds"), ("audio_seconds",)), ""]
    payload = {"speed": speed_rows, "memory": memory_rows}
    if real_videos is not None:
        videos = sorted(Path(real_videos).glob("*.mp4"))
        log(f"quality on {len(videos)} real videos ...")
        rows = quality(pipeline, videos, ablations(config), out, log)
        summary = summarise(rows)
        payload["quality"] = rows
        lines += ["## Quality on real videos (first frame + own audio)", "",
                  "Lip sync: Pearson r of the mouth opening (re-detected) against the real video's; "
                  "jitter: second temporal difference of landmarks / inter-ocular distance; sharpness: "
                  "CPBD of the face region; identity: dlib descriptor distance to the photo.", "",
                  markdown_table([{"variant": k, **v} for k, v in summary.items()], QUALITY_COLUMNS, ("variant",)),
                  "", "### Per video", "",
                  markdown_table(rows, QUALITY_COLUMNS, ("video", "variant")), ""]
        plot_jitter(summary, out / "jitter.png")
        lines += ["![jitter per ablation](jitter.png)", ""]
        for video in videos:
            plot_mouth(video.stem, video, out / f"{video.stem}_full.mp4", out / f"mouth_{video.stem}.png")
            lines += [f"![mouth opening {video.stem}](mouth_{video.stem}.png)", ""]
    save_json(out / "bench.json", payload)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report
