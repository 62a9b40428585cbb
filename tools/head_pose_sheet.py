"""Contact sheet of extreme head poses on several portraits (for choosing the pose limits).

Each row is one portrait: the photo's own pose, then yaw, pitch and roll at
the generator's limits (``motion/headpose.LIMITS``), a combined pose, and
two poses 1.6x beyond the limits to show what the limits avoid.

    python -m tools.head_pose_sheet --out docs/head_pose_sheet.png \
        --photos astronaut painterly:../shared/data/real_talking/grid_lbbc2a.mpg \
                 ../shared/data/real_talking/grid_lwbsza.mpg ...

A photo is ``astronaut`` (scikit-image), an image, or a video (its first
frame); ``painterly:`` before it applies OpenCV's stylization filter (a
painting-like synthetic variant).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def load_portrait(spec: str) -> tuple[np.ndarray, str]:
    from talking_head.video import read_frames

    painterly = spec.startswith("painterly:")
    source = spec.split(":", 1)[1] if painterly else spec
    if source == "astronaut":
        import skimage.data

        rgb = skimage.data.astronaut()
    elif Path(source).suffix.lower() in (".mp4", ".mpg", ".mov", ".avi", ".webm"):
        rgb = next(read_frames(source))
    else:
        rgb = cv2.cvtColor(cv2.imread(source), cv2.COLOR_BGR2RGB)
    label = Path(source).stem
    if painterly:
        rgb = cv2.stylization(rgb, sigma_s=20, sigma_r=0.2)
        label = f"painterly {label}"
    return rgb, label


def poses() -> list[tuple[str, np.ndarray]]:
    from talking_head.motion.headpose import LIMITS

    yaw, pitch, roll = LIMITS[:3]
    out = [("photo", np.zeros(5))]
    out += [(f"yaw {s * yaw:+.0f}", np.array([s * yaw, 0, 0, 0, 0])) for s in (-1, 1)]
    out += [(f"pitch {s * pitch:+.0f}", np.array([0, s * pitch, 0, 0, 0])) for s in (-1, 1)]
    out += [(f"roll {roll:+.0f}", np.array([0, 0, roll, 0, 0]))]
    out += [("combined", np.array([0.7 * yaw, -0.7 * pitch, 0.7 * roll, 0.1, 0.08]))]
    out += [(f"beyond: yaw {1.6 * yaw:+.0f}", np.array([1.6 * yaw, 0, 0, 0, 0]))]
    out += [(f"beyond: pitch {-1.6 * pitch:+.0f}", np.array([0, -1.6 * pitch, 0, 0, 0]))]
    return out


def main(argv: list[str] | None = None) -> int:
    from talking_head.config import GenerationConfig
    from talking_head.media import load_image
    from talking_head.pipeline import TalkingHeadPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=["astronaut"])
    parser.add_argument("--tile", type=int, default=192)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = GenerationConfig(size=2 * args.tile, head_motion=1.0)
    pipeline = TalkingHeadPipeline(config)
    rows = []
    for spec in args.photos:
        rgb, label = load_portrait(spec)
        asset = pipeline.analyse(load_image(rgb))
        animator = pipeline.animator(asset, config)
        tiles = []
        for index, (name, head) in enumerate(poses()):
            frame = animator.frame(asset.reconstruction.expression, head).rgb
            tile = cv2.resize(frame, (args.tile, args.tile), interpolation=cv2.INTER_AREA)
            text = f"{label[:18]}: {name}" if index == 0 else name
            cv2.rectangle(tile, (0, args.tile - 16), (args.tile, args.tile), (0, 0, 0), -1)
            cv2.putText(tile, text, (4, args.tile - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1,
                        cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
        print(label, flush=True)
    pipeline.close()
    sheet = np.vstack(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} {sheet.shape[1]}x{sheet.shape[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
