"""AudioNet training shards from real talking videos (the paper's recipe,
``talking_head/train/videos.py``), reusing the landmark tracks and rig fits
cached by ``tools/track_videos.py`` / ``tools/fit_visemes.py``.

Each clip: its audio's MFCC windows at 25 fps paired with the rig
coefficients fitted to its frames (GRID s1: one neutral for the speaker;
other videos: one per video), resampled at the frame centres. ``--copies``
extra copies per clip have augmented audio (``train/augment.py``: room,
band limit, level, noise, codec) with the same targets.

Splits: GRID s1 clips held out by ``fit_visemes.heldout`` are left out
entirely (evaluation clips); videos named by ``--val`` are validation (whole
speakers); ``--exclude`` videos (validation clips, footage without clear
rights) are never read.

Usage::

    python -m tools.make_video_data ../shared/data/real_talking --cache /tmp/visemes_fit \
        --tracks DIR... --out /tmp/video_shards [--copies 1] [--val grid_sbwe5n grid_lbax4n]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from talking_head.audio.visemes import audio_driven_names
from tools.fit_visemes import heldout, load_track

FPS = 25.0


def clip_example(video: Path, track: dict, coeffs: np.ndarray, columns: list[int], voice: str,
                 rng: np.random.Generator | None):
    """One video as a ``dataset.Example`` (augmented audio when ``rng`` is given)."""
    from talking_head.audio.decode import decode_audio
    from talking_head.audio.features import feature_windows, frame_count, mfcc
    from talking_head.train.augment import augment_real
    from talking_head.train.dataset import Example
    from talking_head.train.videos import loudness_silence, resample

    clip = decode_audio(video)
    samples = clip.samples
    n = frame_count(clip.duration, FPS)
    found = track["found"]
    targets = resample(track["times"][found], coeffs[:, columns], n, FPS).astype(np.float32)
    silent = loudness_silence(samples, clip.sample_rate, n, FPS)
    if rng is not None:
        samples = augment_real(samples, clip.sample_rate, rng)
    windows = feature_windows(mfcc(samples, clip.sample_rate), n, FPS)
    return Example(windows, targets, silent, voice)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--tracks", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--copies", type=int, default=1, help="augmented copies per GRID s1 clip (besides the clean one)")
    ap.add_argument("--other-copies", type=int, default=4, help="augmented copies per other video")
    ap.add_argument("--val", nargs="*", default=["grid_sbwe5n", "grid_lbax4n"])
    ap.add_argument("--exclude", nargs="*", default=["lieu_60s", "talk_a", "talk_b", "talk_c", "talk_d"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from talking_head.face.rig import load_rig
    from talking_head.train.dataset import ShardWriter

    rig = load_rig()
    names = audio_driven_names(rig.names)
    columns = [rig.index(n) for n in names]
    rng = np.random.default_rng(args.seed)
    track_dirs = [args.cache / "tracks"] + list(args.tracks)
    writers = {s: ShardWriter(args.out, s, names, FPS, tag="video") for s in ("train", "val")}
    counts = {"train": 0, "val": 0}
    started = time.time()

    fits = sorted(args.cache.glob("fits_grid_s1_*.npz"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not fits:
        raise SystemExit("no GRID s1 rig fits in the cache: run tools/fit_visemes.py first")
    with np.load(fits[-1]) as z:
        s1 = {k: z[k] for k in z.files}
    for stem in sorted(s1):
        if heldout(stem):
            continue
        video = args.data / "grid_s1" / f"{stem}.mp4"
        trk = load_track(stem, track_dirs, video)
        for copy in range(1 + args.copies):
            writers["train"].add(clip_example(video, trk, s1[stem], columns, "video:grid_s1", rng if copy else None))
            counts["train"] += 1
    print(f"grid_s1 done ({time.time() - started:.0f}s)", flush=True)

    for video in sorted(args.data.iterdir()):
        stem = video.stem
        if video.suffix.lower() not in (".mp4", ".mpg") or stem in args.exclude:
            continue
        ff = args.cache / f"fits_{stem}.npz"
        if not ff.exists():
            print(f"{stem}: no rig fit cached, skipped")
            continue
        coeffs = np.load(ff)["coeffs"]
        trk = load_track(stem, track_dirs, video)
        split = "val" if stem in args.val else "train"
        for copy in range(1 + (args.other_copies if split == "train" else 0)):
            writers[split].add(clip_example(video, trk, coeffs, columns, f"video:{stem}", rng if copy else None))
            counts[split] += 1
    for w in writers.values():
        w.close()
    print(f"examples {counts} in {time.time() - started:.0f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
