"""Contact sheet of mouths with and without mouth completion, and its speed.

Usage::

    python -m tools.mouth_contact_sheet --out sheet.png [--photo PATH] [--size 512]
                                        [--zoom 2] [--frames 200]
    python -m tools.mouth_contact_sheet --out sheet.png --portraits NAME_OR_PATH ...

With ``--portraits``: one row per portrait (rendered interior only), the photo
then the mouth at several openings. Besides paths (a video's first frame is
used), built-in names make variants of the astronaut: ``astronaut``,
``astronaut-dark``, ``astronaut-bright``, ``astronaut-painting``
(``cv2.xphoto.oilPainting``).

Renders the photo's face (default: the astronaut shipped with scikit-image)
with the photo's own mouth expression removed and a few mouth poses (jawOpen
0.3 / 0.6 / 1.0, speech, a funnel, a smile), once with the rendered interior
(``RenderedMouth``) and once with the dark fill (``DarkMouth``, the
``--no-mouth`` ablation). Each tile is the mouth region of the frame, scaled by
``--zoom``; the first column is the photo itself. Also prints the
completer's time per frame (``complete`` alone, jaw moving; median and 90th
percentile over ``--frames`` calls).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from talking_head.config import GenerationConfig
from talking_head.media import load_image
from talking_head.pipeline import TalkingHeadPipeline
from talking_head.render.mouth import neutral_mouth

POSES = (
    ("jawOpen 0.3", {"jawOpen": 0.3}),
    ("jawOpen 0.6", {"jawOpen": 0.6}),
    ("jawOpen 1.0", {"jawOpen": 1.0}),
    ("speech", {"jawOpen": 0.15, "mouthLowerDown": 0.6, "mouthUpperUp": 0.4}),
    ("funnel", {"mouthFunnel": 1.0, "jawOpen": 0.35}),
    ("smile", {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0, "mouthUpperUp": 0.5, "jawOpen": 0.15}),
)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    """Tile with a caption bar above it (RGB uint8)."""
    bar = np.full((22, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, tile], axis=0)


def write_sheet(path: Path, sheet: np.ndarray) -> None:
    """Write an RGB sheet as PNG, its levels rounded to multiples of 3.

    The photos' noise is most of a PNG's size; rounding (at most 1.5 levels
    of 255 off, invisible) keeps a ten-portrait sheet under 1 MB.
    """
    rounded = np.clip(np.round(sheet / 3.0) * 3.0, 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), cv2.cvtColor(rounded, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


SHEET_POSES = (
    ("jawOpen 0.15", {"jawOpen": 0.15}),
    ("jawOpen 0.3", {"jawOpen": 0.3}),
    ("jawOpen 0.6", {"jawOpen": 0.6}),
    ("jawOpen 1.0", {"jawOpen": 1.0}),
    ("speech", {"jawOpen": 0.15, "mouthLowerDown": 0.6, "mouthUpperUp": 0.4}),
    ("smile", {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0, "mouthUpperUp": 0.5, "jawOpen": 0.15}),
)


def portrait(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB: an astronaut variant, an image file or a video's first frame."""
    import skimage.data

    astronaut = skimage.data.astronaut()
    if name == "astronaut":
        return astronaut
    if name == "astronaut-dark":
        return np.clip(astronaut.astype(np.float32) * 0.3, 0, 255).astype(np.uint8)
    if name == "astronaut-bright":
        return np.clip(255.0 * (astronaut / 255.0) ** 0.5 * 1.05, 0, 255).astype(np.uint8)
    if name == "astronaut-painting":
        bgr = cv2.xphoto.oilPainting(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), 3, 6)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if Path(name).suffix.lower() in (".mp4", ".mpg", ".mov", ".webm", ".avi"):
        from talking_head.video import read_frames

        return next(iter(read_frames(name)))
    return load_image(name).rgb


def portrait_sheet(names: list[str], out: Path, size: int, zoom: int) -> None:
    """One row per portrait: the photo's mouth, then the mouth at SHEET_POSES."""
    pipeline = TalkingHeadPipeline(GenerationConfig(size=size))
    rows = []
    for name in names:
        asset = pipeline.analyse(load_image(portrait(name)))
        animator = pipeline.animator(asset)
        base = neutral_mouth(pipeline.rig.names, asset.reconstruction.expression)
        vertices = animator.reference_vertices
        centre = vertices[[61, 291, 13, 14], :2].mean(axis=0)
        width = 1.8 * np.linalg.norm(vertices[291, :2] - vertices[61, :2])
        half_w, half_h = int(width / 2), int(width / 3)
        x0, y0 = int(centre[0]) - half_w, int(centre[1]) - half_h + int(0.1 * width)
        side = 160 * zoom // 2

        def tile(image: np.ndarray) -> np.ndarray:
            crop = image[max(y0, 0) : y0 + 2 * half_h, max(x0, 0) : x0 + 2 * half_w]
            return cv2.resize(crop, (side, side * 2 // 3), interpolation=cv2.INTER_CUBIC)

        tiles = [label(tile(animator.background), f"{Path(name).stem}: photo")]
        for caption, values in SHEET_POSES:
            coeffs = base.copy()
            for key, value in values.items():
                coeffs[pipeline.rig.index(key)] = value
            tiles.append(label(tile(animator.frame(coeffs).rgb), caption))
        rows.append(np.concatenate(tiles, axis=1))
        animator.renderer.close()
    sheet = np.concatenate(rows, axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_sheet(out, sheet)
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")
    pipeline.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="PNG to write")
    parser.add_argument("--photo", type=Path, help="portrait photo (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=512, help="output frame size in px")
    parser.add_argument("--zoom", type=int, default=2, help="scale of the mouth tiles")
    parser.add_argument("--frames", type=int, default=200, help="frames for the timing")
    parser.add_argument("--portraits", nargs="+", help="one row per portrait (names or paths, see above)")
    args = parser.parse_args(argv)
    if args.portraits:
        portrait_sheet(args.portraits, args.out, args.size, args.zoom)
        return

    if args.photo is None:
        import skimage.data

        photo = load_image(skimage.data.astronaut())
    else:
        photo = load_image(str(args.photo))
    config = GenerationConfig(size=args.size)
    pipeline = TalkingHeadPipeline(config)
    asset = pipeline.analyse(photo)
    rig = pipeline.rig
    rendered = pipeline.animator(asset, config)
    dark = pipeline.animator(asset, replace(config, mouth=False))
    base = neutral_mouth(rig.names, asset.reconstruction.expression)

    # The tile: the mouth region, 1.6 mouth widths wide, 3:2.
    vertices = rendered.reference_vertices
    centre = vertices[[61, 291, 13, 14], :2].mean(axis=0)
    width = 1.8 * np.linalg.norm(vertices[291, :2] - vertices[61, :2])
    half_w, half_h = int(width / 2), int(width / 3)
    x0, y0 = int(centre[0]) - half_w, int(centre[1]) - half_h + int(0.1 * width)

    def tile(image: np.ndarray) -> np.ndarray:
        crop = image[max(y0, 0) : y0 + 2 * half_h, max(x0, 0) : x0 + 2 * half_w]
        return cv2.resize(crop, None, fx=args.zoom, fy=args.zoom, interpolation=cv2.INTER_CUBIC)

    rows = []
    for name, animator in (("rendered interior", rendered), ("dark fill (--no-mouth)", dark)):
        tiles = [label(tile(animator.background), "photo")]
        for caption, values in POSES:
            coeffs = base.copy()
            for key, value in values.items():
                coeffs[rig.index(key)] = value
            tiles.append(label(tile(animator.frame(coeffs).rgb), caption))
        row = np.concatenate(tiles, axis=1)
        rows.append(label(row, name))
    sheet = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_sheet(args.out, sheet)

    # Speed of the completer alone on composited frames, jaw moving.
    jaw = rig.index("jawOpen")
    compositor = rendered.compositor
    inputs = []
    for k in range(20):
        coeffs = base.copy()
        coeffs[jaw] = 0.5 + 0.5 * np.sin(k / 3.0)
        v = rendered.vertices(coeffs)
        render = rendered.renderer.render(v)
        frame = compositor.compose(render, v)
        inputs.append((frame.rgb, frame.mouth_mask * frame.face_alpha, v))
    completer = compositor.completer
    times = []
    for k in range(args.frames):
        start = time.perf_counter()
        completer.complete(*inputs[k % len(inputs)])
        times.append(time.perf_counter() - start)
    median, p90 = np.percentile(times, [50, 90]) * 1e3
    colours = completer.colours
    height, width = rendered.size
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    print(f"RenderedMouth.complete at {width}x{height}: median {median:.2f} ms, 90th percentile {p90:.2f} ms")
    source = "sampled from the photo" if colours.teeth_from_photo else "default"
    teeth = np.round(colours.teeth).astype(int).tolist()
    print(f"teeth colour {teeth} ({source}); lighting slope {colours.lighting:+.2f}")
    rendered.close()
    dark.close()
    pipeline.close()


if __name__ == "__main__":
    main()
