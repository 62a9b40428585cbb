"""Restoration modes compared: time, face sharpness (CPBD) and flicker.

    python -m tools.restore_report --photo assets/examples/astronaut.png \\
        --audio assets/examples/hello.m4a --seconds 1.0 [--restorer realesrgan]

Frames mode restores every frame (about 7 s per frame on a 2-core CPU), so
keep the clip short here; on a GPU it is a fraction of that.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg

from talking_head.config import GenerationConfig
from talking_head.eval.evaluate import evaluate_video
from talking_head.pipeline import TalkingHeadPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--restorer", default="realesrgan")
    parser.add_argument("--modes", default="off,reference,frames")
    args = parser.parse_args()
    base = GenerationConfig(restorer=args.restorer, blink=False)
    pipeline = TalkingHeadPipeline(base)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(args.audio), "-t", str(args.seconds),
                        "-ac", "1", "-ar", "16000", str(clip)], check=True)
        print(f"{'mode':<10} {'s/frame':>8} {'restore s':>10} {'CPBD face':>10} {'CPBD photo':>11} {'flicker':>8}")
        for mode in args.modes.split(","):
            out = Path(tmp) / f"{mode}.mp4"
            start = time.perf_counter()
            result = pipeline.generate(str(args.photo), str(clip), str(out), config=replace(base, restore=mode))
            total = time.perf_counter() - start
            restore = result.timings.get("restore", 0.0) + result.timings.get("restore_frames", 0.0)
            measured = evaluate_video(out, photo=args.photo)
            print(f"{mode:<10} {total / result.frames:>8.3f} {restore:>10.2f} {measured.sharpness:>10.4f} "
                  f"{measured.photo_sharpness:>11.4f} {measured.flicker:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
