"""How well covered mouths are told from real lips, on real faces.

Usage::

    python -m tools.mouth_cover_report PHOTO_OR_VIDEO ... [--builtin]

For each face (a video's first frame is used; ``--builtin`` adds the
astronaut, variants of it and Grace Hopper from matplotlib's sample data):
the lip contrast (``landmarks.lip_contrast``: lips darker, redder and less
yellow than the upper face, in percent of the skin's L) and the verdicts of
``mouth_covered`` and of the hand check, on the face as it is and with skin
from its own cheek pasted over the mouth (a skin-coloured cover lit like the
face). Real faces must pass and the pasted ones be refused; the margins
between the two sets set ``MIN_LIP_CONTRAST``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from talking_head.face.landmarks import (
    MIN_SKIN_CHROMA,
    LandmarkDetector,
    hand_over_mouth,
    lip_colours,
    lip_contrast,
    mouth_covered,
)


def paste_cheek(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The face with skin from its right cheek stretched over the mouth (soft elliptical edge).

    Args:
        rgb: (H, W, 3) uint8; points: (468+, 2+) its landmarks.
    Returns:
        (H, W, 3) uint8 copy.
    """
    width = float(np.linalg.norm(points[291, :2] - points[61, :2]))
    centre = points[[61, 291, 13, 14], :2].mean(axis=0)
    cheek = points[205, :2]
    radius = max(int(0.35 * width), 2)
    patch = rgb[int(cheek[1]) - radius : int(cheek[1]) + radius, int(cheek[0]) - radius : int(cheek[0]) + radius]
    cover_w, cover_h = int(1.5 * width), int(0.9 * width)
    patch = cv2.resize(patch, (cover_w, cover_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    alpha = np.zeros((cover_h, cover_w), np.float32)
    cv2.ellipse(alpha, (cover_w // 2, cover_h // 2), (cover_w // 2 - 2, cover_h // 2 - 2), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 2.0)[..., None]
    out = rgb.astype(np.float32)
    x0, y0 = int(centre[0] - cover_w / 2), int(centre[1] - cover_h / 2)
    region = out[y0 : y0 + cover_h, x0 : x0 + cover_w]
    out[y0 : y0 + cover_h, x0 : x0 + cover_w] = region * (1.0 - alpha) + patch * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def builtin_faces() -> list[tuple[str, np.ndarray]]:
    """The astronaut (as it is, darkened, brightened, warmer, cooler) and Grace Hopper."""
    import matplotlib
    import skimage.data

    from talking_head.media import load_image

    astronaut = skimage.data.astronaut().astype(np.float32)
    faces = [
        ("astronaut", astronaut),
        ("astronaut x0.3", astronaut * 0.3),
        ("astronaut gamma 0.5", 255.0 * (astronaut / 255.0) ** 0.5),
        ("astronaut warm", astronaut * np.array([1.1, 1.0, 0.8])),
        ("astronaut cool", astronaut * np.array([0.85, 1.0, 1.15])),
    ]
    faces = [(name, np.clip(image, 0, 255).astype(np.uint8)) for name, image in faces]
    painting = cv2.xphoto.oilPainting(cv2.cvtColor(faces[0][1], cv2.COLOR_RGB2BGR), 3, 6)
    faces.append(("astronaut painting", cv2.cvtColor(painting, cv2.COLOR_BGR2RGB)))
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    faces.append(("grace_hopper", load_image(str(hopper)).rgb))
    return faces


def first_frame(path: str) -> np.ndarray:
    """(H, W, 3) uint8: an image, or a video's first frame."""
    if Path(path).suffix.lower() in (".mp4", ".mpg", ".mov", ".webm", ".avi"):
        from talking_head.video import read_frames

        return next(iter(read_frames(path)))
    from talking_head.media import load_image

    return load_image(path).rgb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="photos or videos (first frame)")
    parser.add_argument("--builtin", action="store_true", help="add the astronaut variants and Grace Hopper")
    args = parser.parse_args(argv)
    faces = builtin_faces() if args.builtin else []
    faces += [(Path(path).name, first_frame(path)) for path in args.paths]
    real, pasted = [], []
    print(f"{'face':22s} {'contrast':>8s} covered hand | pasted: {'contrast':>8s} covered hand")
    with LandmarkDetector() as detector:
        for name, rgb in faces:
            found = detector.find(rgb)
            if not found:
                print(f"{name:22s} no face")
                continue
            cells = []
            for image in (rgb, paste_cheek(rgb, found[0])):
                points = detector.find(image)
                if not points:
                    cells.append("no face")
                    continue
                colours = lip_colours(image, points[0])
                contrast = lip_contrast(*colours) if colours is not None else float("nan")
                hand = hand_over_mouth(detector.find_hands(image, points[0]), points[0], image.shape[:2])
                covered = mouth_covered(image, points[0])
                judged = colours is not None and float(np.hypot(*colours[1][1:])) >= MIN_SKIN_CHROMA
                if judged:
                    (real if image is rgb else pasted).append(contrast)
                note = "" if judged else " (grey skin: not judged)"
                cells.append(f"{contrast:8.1f} {covered!s:7s} {hand!s:5s}{note}")
            print(f"{name:22s} {cells[0]} | pasted: {cells[1]}")
    if real and pasted:
        print(f"lip contrast (judged faces): real {min(real):.1f}..{max(real):.1f}, "
              f"pasted skin {min(pasted):.1f}..{max(pasted):.1f}")


if __name__ == "__main__":
    main()
