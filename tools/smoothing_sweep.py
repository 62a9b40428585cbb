"""Choose the smoothing window by measurement on real talking videos.

For each video (first frame as the photo, its own audio) and each l, generate
a video and measure, from re-detected landmarks, the mouth jitter and the lip
sync against the real video's mouth opening. Also runs the loudness-baseline
driver for comparison.

    python -m tools.smoothing_sweep --videos ../shared/data/real_talking --json sweep.json
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from talking_head.config import GenerationConfig
from talking_head.eval.bench import quality, save_json
from talking_head.pipeline import TalkingHeadPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, required=True)
    parser.add_argument("--max-l", type=int, default=6)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = GenerationConfig(size=args.size, blink=False)  # blinks off: measure speech motion alone
    variants = [(f"l={l}", replace(base, smoothing=l)) for l in range(args.max_l + 1)]
    variants.append(("loudness l=0", replace(base, driver="loudness")))
    pipeline = TalkingHeadPipeline(base)
    with tempfile.TemporaryDirectory() as tmp:
        rows = quality(pipeline, sorted(args.videos.glob("*.mp4")), variants, Path(tmp))
    print(f"\n{'variant':<14} {'lip-sync r':>10} {'best r':>8} {'jitter mouth':>13} {'jitter all':>11}")
    for label in ["real video"] + [v for v, _ in variants]:
        chosen = [r for r in rows if r["variant"] == label]
        mean = lambda key: np.nanmean([np.nan if r[key] is None else r[key] for r in chosen])  # noqa: E731
        print(f"{label:<14} {mean('lip_sync_r'):>10.3f} {mean('lip_sync_best_r'):>8.3f} "
              f"{mean('jitter_mouth'):>13.5f} {mean('jitter_all'):>11.5f}")
    if args.json:
        save_json(args.json, rows)


if __name__ == "__main__":
    main()
