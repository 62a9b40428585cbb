"""Compute per second of video with head motion off and on, interleaved (same machine load).

Reports wall seconds (what `generate` prints) and CPU seconds (all threads
of this process plus the finished ffmpeg encoder; less sensitive to other
jobs on a shared machine) per second of video.

    python -m tools.speed_head_motion --photo assets/examples/astronaut.png --audio assets/examples/hello.m4a
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (the encoder)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main(argv: list[str] | None = None) -> int:
    from talking_head.config import GenerationConfig
    from talking_head.pipeline import TalkingHeadPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    pipeline = TalkingHeadPipeline(GenerationConfig(size=args.size))
    with tempfile.TemporaryDirectory() as tmp:
        pipeline.generate(args.photo, args.audio, str(Path(tmp) / "warm.mp4"))  # loads models once
        for repeat in range(args.repeats):
            for amount in (0.0, 1.0):
                config = GenerationConfig(size=args.size, head_motion=amount)
                wall, cpu = time.perf_counter(), cpu_seconds()
                result = pipeline.generate(args.photo, args.audio, str(Path(tmp) / f"{repeat}_{amount}.mp4"),
                                           overwrite=True, config=config)
                wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
                print(f"head_motion {amount:g}: {wall / result.duration:.3f} s wall, {cpu / result.duration:.3f} s CPU "
                      f"per second of video ({result.duration:.1f} s)", flush=True)
    pipeline.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
