"""Videos per hour of `talking-head batch` on this machine, local process pool and local Ray.

Makes N jobs (the astronaut photo, N different short synthetic speech-like
clips), runs them with each engine into a fresh folder and prints wall time,
videos per hour and the machine's load average before and after.

    python tools/batch_throughput.py --out /tmp/bt --jobs 20 --seconds 3 --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talking_head.batch import available_cores, run_manifest  # noqa: E402
from talking_head.config import GenerationConfig  # noqa: E402

RATE = 16000


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Harmonic bursts at random onsets: enough for the drivers to move the mouth."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voice = sum(np.sin(2 * np.pi * f * t) * a for f, a in ((130, 1.0), (260, 0.6), (730, 0.5), (1090, 0.3)))
    gate = np.zeros_like(t)
    for onset in np.arange(0.2, seconds - 0.4, 0.5) + rng.uniform(0, 0.1):
        inside = (t >= onset) & (t < onset + 0.3)
        gate[inside] = np.sin(np.pi * (t[inside] - onset) / 0.3)
    return 0.2 * gate * voice / 2.4


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--engines", default="local,ray")
    args = parser.parse_args()
    from skimage import data
    from PIL import Image

    inputs = args.out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(inputs / "photo.png")
    lines = ["photo,audio,out"]
    for i in range(args.jobs):
        write_wav(inputs / f"clip{i:02d}.wav", speech_like(args.seconds, i))
        lines.append(f"photo.png,clip{i:02d}.wav,video{i:02d}.mp4")
    (inputs / "manifest.csv").write_text("\n".join(lines) + "\n")
    defaults = GenerationConfig(size=args.size, texture_size=512)
    report = {"jobs": args.jobs, "audio_seconds": args.seconds, "size": args.size, "cores": available_cores()}
    for engine in args.engines.split(","):
        folder = args.out / engine
        shutil.rmtree(folder, ignore_errors=True)
        load_before = os.getloadavg()
        start = time.perf_counter()
        summary = run_manifest(inputs / "manifest.csv", folder, defaults, engine, args.workers, progress=False)
        wall = time.perf_counter() - start
        ok = sum(r.status == "ok" for r in summary.results)
        job_seconds = [r.seconds for r in summary.results if r.status == "ok"]
        report[engine] = {"ok": ok, "wall_s": round(wall, 1), "videos_per_hour": round(3600 * ok / wall, 1),
                          "mean_job_s": round(float(np.mean(job_seconds)), 2) if job_seconds else None,
                          "load_before": [round(v, 2) for v in load_before],
                          "load_after": [round(v, 2) for v in os.getloadavg()]}
        print(json.dumps({engine: report[engine]}), flush=True)
    (args.out / "throughput.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
