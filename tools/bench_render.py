"""Measure render and composite speed on a real face.

Usage::

    python tools/bench_render.py [--size 512] [--frames 200] [--backend auto]
                                 [--samples 0] [--photo PATH] [--save DIR]

The face is the astronaut photo shipped with scikit-image (or ``--photo``),
its MediaPipe mesh is the reference, the texture comes from
``talking_head.face.texture.sample_texture`` when that module exists (else a
plain projection of the framed photo), and the jaw opens and closes
sinusoidally. Prints frames per second for render alone, compose alone and
both.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from talking_head.face.landmarks import LandmarkDetector
from talking_head.face.topology import INNER_LIP_LOWER, INNER_LIP_UPPER, MOUTH_CORNERS, Topology, load_topology
from talking_head.media import load_image
from talking_head.render.compose import Compositor, crop_photo, make_framing, to_output
from talking_head.render.gl import FaceRenderer
from talking_head.rasterize import rasterize


def projection_texture(image: np.ndarray, vertices: np.ndarray, topology: Topology, size: int) -> np.ndarray:
    """Texture by plain projection: each texel samples the photo where its mesh
    point is (no visibility handling). Returns (S, S, 4) uint8."""
    from scipy import ndimage

    frags = rasterize(topology.uvs * size, topology.triangles, (size, size))
    xy = frags.interpolate(vertices[:, :2], topology.triangles).astype(np.float32)
    _, (rows, cols) = ndimage.distance_transform_edt(~frags.covered, return_indices=True)
    xy = xy[rows, cols]  # texels off the UV footprint copy their nearest texel
    rgb = cv2.remap(image, xy[..., 0] - 0.5, xy[..., 1] - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.dstack([rgb, np.where(frags.covered, 255, 0).astype(np.uint8)])


def make_texture(image: np.ndarray, vertices: np.ndarray, topology: Topology, size: int) -> tuple[np.ndarray, str]:
    try:
        from talking_head.face.texture import sample_texture
    except ImportError:
        return projection_texture(image, vertices, topology, size), "projection"
    return sample_texture(image, vertices, topology, size=size).rgba, "sample_texture"


def jaw_weights(reference: np.ndarray) -> np.ndarray:
    """(468,) how much each vertex follows the jaw: 1 below the mouth's midline
    near the chin, fading towards the ears; 0 above the midline."""
    upper, lower = reference[list(INNER_LIP_UPPER)], reference[list(INNER_LIP_LOWER)]
    middle = (upper + lower) / 2.0
    order = np.argsort(middle[:, 0])
    line = np.interp(reference[:, 0], middle[order, 0], middle[order, 1])
    centre = reference[list(MOUTH_CORNERS), 0].mean()
    width = np.ptp(reference[:, 0])
    weights = (reference[:, 1] > line + 0.5) * np.exp(-(((reference[:, 0] - centre) / (0.4 * width)) ** 2))
    weights[list(MOUTH_CORNERS) + [78, 308]] = 0.0
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="output frame side in px")
    parser.add_argument("--frames", type=int, default=200, help="frames to time")
    parser.add_argument("--backend", default="auto", choices=("auto", "gl", "numpy"))
    parser.add_argument("--samples", type=int, default=None, help="MSAA samples (default: 4 on a GPU, 0 on CPU)")
    parser.add_argument("--texture-size", type=int, default=1024)
    parser.add_argument("--photo", type=Path, help="portrait photo (default: scikit-image astronaut)")
    parser.add_argument("--save", type=Path, help="folder for a few composited frames")
    args = parser.parse_args()

    if args.photo is None:
        import skimage.data

        photo = load_image(skimage.data.astronaut())
    else:
        photo = load_image(args.photo)
    with LandmarkDetector() as detector:
        landmarks = detector.detect(photo)
    topology = load_topology()
    framing = make_framing(landmarks, "crop", args.size)
    framed = crop_photo(photo.rgb, framing)
    reference = to_output(landmarks.mesh_points, framing)
    texture, source = make_texture(framed, reference, topology, args.texture_size)

    renderer = FaceRenderer(framing.size, topology, args.backend, samples=args.samples)
    renderer.set_texture(texture)
    compositor = Compositor(framed, reference)
    jaw = jaw_weights(reference)
    amplitude = 0.12 * np.ptp(reference[:, 1])

    def frame_vertices(index: int) -> np.ndarray:
        moved = reference.copy()
        moved[:, 1] += amplitude * jaw * np.sin(index * 0.3) ** 2
        return moved

    frames = [frame_vertices(i) for i in range(args.frames)]
    renderer.render(frames[0])  # warm-up (shader compile, first allocations)
    start = time.perf_counter()
    for v in frames:
        renderer.render(v)
    render_s = time.perf_counter() - start
    # Compose alone cycles through a few stored renders (storing all would time
    # the memory allocator).
    stored = [(renderer.render(v), v) for v in frames[:21]]
    start = time.perf_counter()
    for i in range(args.frames):
        compositor.compose(*stored[i % len(stored)])
    compose_s = time.perf_counter() - start
    start = time.perf_counter()
    for i, v in enumerate(frames):
        result = compositor.compose(renderer.render(v), v)
        if args.save is not None and i % 10 == 5:
            args.save.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.save / f"frame_{i:04d}.png"), cv2.cvtColor(result.rgb, cv2.COLOR_RGB2BGR))
    both_s = time.perf_counter() - start
    n = args.frames
    print(f"backend={renderer.backend} samples={renderer.samples} size={framing.size} texture={source} frames={n}")
    print(f"render   {n / render_s:8.1f} fps  ({render_s / n * 1e3:.2f} ms/frame)")
    print(f"compose  {n / compose_s:8.1f} fps  ({compose_s / n * 1e3:.2f} ms/frame)")
    print(f"both     {n / both_s:8.1f} fps  ({both_s / n * 1e3:.2f} ms/frame)")
    renderer.close()


if __name__ == "__main__":
    main()
