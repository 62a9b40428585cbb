"""Reference rasteriser in NumPy: slow, obviously correct, no system libraries.

Used once per photo or topology (UV-space coverage, image-space visibility) and
as the reference the OpenGL renderer is tested against. It sits at the package
root because both the photo stage (face/texture.py) and the renderers (render/)
use it. As a per-frame renderer it is a slow fallback (about 0.2 s per 512 px
frame on a CPU): real-time rendering needs OpenGL (EGL), and `generate` says so
in its notes when it had to fall back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fragments:
    """Per-pixel result of rasterising a triangle mesh.

    Attributes:
        triangle: (H, W) int32 index into the triangle array, -1 where empty.
        bary: (H, W, 3) float64 barycentric weights of the triangle's vertices
            (zero where empty).
        depth: (H, W) float64 interpolated depth, +inf where empty.
    """

    triangle: np.ndarray
    bary: np.ndarray
    depth: np.ndarray

    @property
    def covered(self) -> np.ndarray:
        """(H, W) bool."""
        return self.triangle >= 0

    def interpolate(self, attributes: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """Interpolate per-vertex attributes over covered pixels.

        Args:
            attributes: (V, C) per-vertex values.
            triangles: (T, 3) the triangles that were rasterised.
        Returns:
            (H, W, C) float64, zero where empty.
        """
        tri = np.where(self.covered, self.triangle, 0)
        corner = attributes[triangles[tri]]  # (H, W, 3, C)
        out = np.einsum("hwk,hwkc->hwc", self.bary, corner)
        out[~self.covered] = 0.0
        return out


def rasterize(
    positions: np.ndarray,
    triangles: np.ndarray,
    size: tuple[int, int],
    depth: np.ndarray | None = None,
) -> Fragments:
    """Rasterise triangles given in pixel coordinates, nearest depth wins.

    A pixel (i, j) is sampled at its centre (j + 0.5, i + 0.5). Both windings
    are drawn (no back-face culling).

    Args:
        positions: (V, 2) x, y pixel coordinates.
        triangles: (T, 3) int vertex indices.
        size: (H, W) of the target.
        depth: (V,) per-vertex depth, smaller is nearer; default zeros (then
            later triangles win ties).
    Returns:
        Fragments of shape (H, W).
    """
    height, width = size
    positions = np.asarray(positions, dtype=np.float64)
    z = np.zeros(len(positions)) if depth is None else np.asarray(depth, dtype=np.float64)
    triangle_map = np.full((height, width), -1, dtype=np.int32)
    bary_map = np.zeros((height, width, 3))
    depth_map = np.full((height, width), np.inf)
    corners = positions[triangles]  # (T, 3, 2)
    lo = np.floor(corners.min(axis=1) - 0.5).astype(int)
    hi = np.ceil(corners.max(axis=1) - 0.5).astype(int)
    for index in range(len(triangles)):
        x0, y0 = np.maximum(lo[index], 0)
        x1, y1 = np.minimum(hi[index], (width - 1, height - 1))
        if x0 > x1 or y0 > y1:
            continue
        (ax, ay), (bx, by), (cx, cy) = corners[index]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-12:
            continue
        px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) / area
        w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) / area
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        if not inside.any():
            continue
        a, b, c = triangles[index]
        zz = w0 * z[a] + w1 * z[b] + w2 * z[c]
        block = depth_map[y0 : y1 + 1, x0 : x1 + 1]
        win = inside & (zz <= block)
        block[win] = zz[win]
        triangle_map[y0 : y1 + 1, x0 : x1 + 1][win] = index
        bary_map[y0 : y1 + 1, x0 : x1 + 1][win] = np.stack([w0, w1, w2], axis=-1)[win]
    return Fragments(triangle=triangle_map, bary=bary_map, depth=depth_map)
