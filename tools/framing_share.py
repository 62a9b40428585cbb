"""Share of each frame that lies outside the photo, old crop framing against the current one.

Usage::

    python -m tools.framing_share [--real-talking DIR] [--size 512]

Portraits: the astronaut (scikit-image) and, with ``--real-talking``, the first
frames of talk_a..d, obama_20s, lieu_60s and grid_brbk7n in DIR. Each is used
whole and cut tight four ways: a square 1.3x the face box, a strip 1.2x the
face width, and the face at the top-left corner. "old" is the crop framing
before issue 10 (a square 2.2x the face mesh box, centred on it, 6 % of its
height lower), which could leave the photo; "new" is ``make_framing``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from talking_head.face.landmarks import LandmarkDetector
from talking_head.media import load_image
from talking_head.render.compose import make_framing
from talking_head.types import FaceLandmarks, Framing

CLIPS = ("talk_a.mp4", "talk_b.mp4", "talk_c.mp4", "talk_d.mp4", "obama_20s.mp4", "lieu_60s.mp4", "grid_brbk7n.mpg")


def old_framing(landmarks: FaceLandmarks, size: int) -> Framing:
    """The crop framing before issue 10 (may extend past the photo)."""
    points = landmarks.mesh_points[:, :2]
    low, high = points.min(axis=0), points.max(axis=0)
    box = high - low
    centre = (low + high) / 2.0 + np.array([0.0, 0.06 * box[1]])
    scale = size / (2.2 * max(box.max(), 1.0))
    affine = np.array([[scale, 0.0, size / 2.0 - scale * centre[0]], [0.0, scale, size / 2.0 - scale * centre[1]]])
    return Framing(mode="crop", affine=affine, size=(size, size))


def outside_share(framing: Framing, image_size: tuple[int, int]) -> float:
    """Share of frame pixels whose centre maps outside the photo."""
    height, width = framing.size
    a = framing.affine
    xs = (np.arange(width) + 0.5 - a[0, 2]) / a[0, 0]
    ys = (np.arange(height) + 0.5 - a[1, 2]) / a[1, 1]
    inside_x = ((xs >= 0) & (xs <= image_size[1])).mean()
    inside_y = ((ys >= 0) & (ys <= image_size[0])).mean()
    return float(1.0 - inside_x * inside_y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-talking", type=Path, help="folder with the real talking clips")
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    import skimage.data

    from talking_head.video import read_frames

    sources = {"astronaut": skimage.data.astronaut()}
    if args.real_talking is not None:
        for name in CLIPS:
            if (args.real_talking / name).is_file():
                sources[Path(name).stem] = next(iter(read_frames(args.real_talking / name)))
    rows = []
    with LandmarkDetector() as detector:
        for name, image in sources.items():
            points = detector.detect(load_image(image)).points
            low, high = points[:468, :2].min(axis=0), points[:468, :2].max(axis=0)
            (face_w, face_h), (cx, cy) = high - low, (low + high) / 2
            height, width = image.shape[:2]
            side, strip = int(1.3 * max(face_w, face_h)), int(1.2 * face_w)
            cuts = {
                "whole": (0, 0, height, width),
                "tight square": (int(max(cy - side / 2, 0)), int(max(cx - side / 2, 0)), side, side),
                "strip": (0, int(max(cx - strip / 2, 0)), height, strip),
                "corner": (int(max(low[1] - 5, 0)), int(max(low[0] - 5, 0)), height, width),
            }
            for cut, (top, left, h, w) in cuts.items():
                crop = image[top : top + h, left : left + w]
                moved = points.copy()
                moved[:, 0] -= left
                moved[:, 1] -= top
                landmarks = FaceLandmarks(points=moved, image_size=crop.shape[:2])
                old = outside_share(old_framing(landmarks, args.size), crop.shape[:2])
                framing = make_framing(landmarks, "crop", args.size)
                new = outside_share(framing, crop.shape[:2])
                rows.append((old, new))
                print(f"{name:12} {cut:13} {str(crop.shape[:2]):12} old {old:.3f} new {new:.3f} {framing.mode:5} "
                      f"{'; '.join(framing.notes)}")
    old, new = np.array(rows).T
    print(f"{len(rows)} portraits: old mean {old.mean():.3f} ({(old >= 0.1).sum()} at >= 10 %, max {old.max():.3f}); "
          f"new mean {new.mean():.4f}, max {new.max():.4f}")


if __name__ == "__main__":
    main()
