"""Cache MediaPipe landmark tracks of talking videos (the slow, CPU-bound
first step of fitting visemes and building video shards).

For every video: landmarks on every frame (tracking mode), the rigid pose
removed (``videos.unpose``), saved as one ``.npz`` per video under ``--out``:

=========  ===================  ==============================================
key        shape, dtype         meaning
=========  ===================  ==============================================
times      (T,) f64             frame centre, seconds from the audio start
found      (T,) bool            frame has a face
shapes     (F, 468, 3) f32      unposed canonical landmarks of found frames
opening    (T,) f32             image-space inner-lip gap / eye-corner distance
=========  ===================  ==============================================

Videos are processed in a seeded random order so that a run stopped early
still leaves a random subset; existing outputs are skipped (resumable).

Usage::

    python -m tools.track_videos VIDEO_OR_DIR... --out DIR [--limit N] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from talking_head.train.videos import VIDEO_SUFFIXES, mouth_opening, read_landmarks, unpose

EXTRA_SUFFIXES = (".mpg",)


def track(path: Path, out: Path, detector=None) -> Path:
    """Landmarks of one video -> ``out/<stem>.npz``."""
    trk = read_landmarks(path, detector)
    found = trk.found
    shapes = unpose(trk.points[found]).astype(np.float32) if found.any() else np.zeros((0, 468, 3), np.float32)
    target = out / f"{path.stem}.npz"
    tmp = out / f"{path.stem}.tmp.npz"
    np.savez(tmp, times=trk.times, found=found, shapes=shapes,
             opening=mouth_opening(trk.points).astype(np.float32))
    tmp.rename(target)
    return target


def collect(inputs: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES + EXTRA_SUFFIXES)
        else:
            paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0, help="at most this many videos (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard", default="0/1", help="i/n: process every n-th video from i (parallel runs)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = collect(args.inputs)
    order = np.random.default_rng(args.seed).permutation(len(paths))
    paths = [paths[i] for i in order]
    if args.limit:
        paths = paths[: args.limit]
    i, n = (int(x) for x in args.shard.split("/"))
    paths = paths[i::n]
    from talking_head.face.landmarks import LandmarkDetector

    start = time.time()
    for k, path in enumerate(paths):
        if (out / f"{path.stem}.npz").exists():
            continue
        detector = LandmarkDetector(max_faces=1, min_confidence=0.5, static=False)
        try:
            track(path, out, detector)
        except Exception as exc:  # one bad video must not stop a long run
            print(f"{path.name}: {exc}", file=sys.stderr)
        finally:
            detector.close()
        print(f"{k + 1}/{len(paths)} {path.name} {time.time() - start:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
