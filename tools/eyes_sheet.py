"""Contact sheet of eye close-ups: open, closing, closed, gaze left and right.

Each row is one portrait, each tile both eyes of a 512 px frame enlarged: the
photo's own eyes, a blink half-way and shut (``render/eyes.py`` paints the
lids), and the iris moved by the largest saccade offset left and right
(``motion/gaze.SaccadeModel.limit``). The re-detected eye opening (MediaPipe,
over the open eye's) is printed on the blink tiles.

    python -m tools.eyes_sheet --out docs/eyes_sheet.png \
        --photos astronaut dark:astronaut ../shared/data/real_talking/grid_lbax4n.mpg \
                 ../shared/data/real_talking/obama_20s.mp4

A photo is as in ``tools/head_pose_sheet.py``; ``dark:`` before it darkens
it (gamma 2.2, times 0.6: a dim photo).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def load(spec: str) -> tuple[np.ndarray, str]:
    from tools.head_pose_sheet import load_portrait

    dark = spec.startswith("dark:")
    rgb, label = load_portrait(spec.split(":", 1)[1] if dark else spec)
    if dark:
        rgb = (255.0 * (rgb / 255.0) ** 2.2 * 0.6).astype(np.uint8)
        label = f"dark {label}"
    return rgb, label


def main(argv: list[str] | None = None) -> int:
    from talking_head.config import GenerationConfig
    from talking_head.eval.headmotion import eye_opening
    from talking_head.media import load_image
    from talking_head.motion.blink import apply_blinks
    from talking_head.motion.gaze import SaccadeModel
    from talking_head.pipeline import TalkingHeadPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=["astronaut"])
    parser.add_argument("--tile", type=int, default=240, help="tile width in px")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = GenerationConfig(size=512, head_motion=0.0)
    pipeline = TalkingHeadPipeline(config)
    reach = SaccadeModel().limit[0]
    columns = (("open", 0.0, None), ("closing", 0.5, None), ("closed", 1.0, None),
               ("gaze left", 0.0, (-reach, 0.0)), ("gaze right", 0.0, (reach, 0.0)))
    rows = []
    for spec in args.photos:
        rgb, label = load(spec)
        asset = pipeline.analyse(load_image(rgb))
        with pipeline.animator(asset, config) as animator:
            base = asset.reconstruction.expression
            eyes = animator.reference_vertices[[33, 133, 263, 362], :2]
            (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
            width = x1 - x0
            box = (slice(int(y0 - 0.3 * width), int(y1 + 0.25 * width)),
                   slice(int(x0 - 0.12 * width), int(x1 + 0.12 * width)))
            tiles, open_level = [], None
            for name, closure, gaze in columns:
                coeffs = apply_blinks(base[None], pipeline.rig.names, np.array([closure]))[0]
                frame = animator.frame(coeffs, None, None if gaze is None else np.array(gaze)).rgb
                found = pipeline.detector.detect_all(frame)
                opening = float(eye_opening(found[0][None]).mean()) if found else float("nan")
                open_level = opening if open_level is None else open_level
                crop = frame[box]
                tile = cv2.resize(crop, (args.tile, round(args.tile * crop.shape[0] / crop.shape[1])),
                                  interpolation=cv2.INTER_CUBIC)
                text = f"{label[:16]}: {name}" if not tiles else name
                if 0.0 < closure:
                    text += f" ({opening / open_level:.2f})"
                cv2.rectangle(tile, (0, 0), (args.tile, 14), (0, 0, 0), -1)
                cv2.putText(tile, text, (3, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.34, (255, 255, 255), 1, cv2.LINE_AA)
                tiles.append(tile)
            height = min(t.shape[0] for t in tiles)
            rows.append(np.hstack([t[:height] for t in tiles]))
        print(label, flush=True)
    pipeline.close()
    sheet = np.vstack(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} {sheet.shape[1]}x{sheet.shape[0]}, {args.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
