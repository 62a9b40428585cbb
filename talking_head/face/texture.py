"""Texture sampler (the paper's pre-process): photo -> texture in the canonical UV layout.

Two modes:

* ``"dense"`` (default): every covered texel is a point on the posed mesh (its
  triangle and barycentric weights); the photo is sampled bilinearly at that
  point's image position. Texels whose point is hidden (back-facing or behind
  another part of the face) take the colour of the mirrored point when that one
  is visible, else the colour of the nearest valid texel.
* ``"paper"``: each vertex takes the colour of its nearest photo pixel and the
  texels in between are barycentric blends of the vertex colours (Lv et al. 2022).

Colours are also extended a few texels past the UV footprint (alpha stays 0) so
that bilinear texture filtering at the mesh border does not pull in black.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy import ndimage

from ..rasterize import rasterize
from ..types import FaceTexture
from .topology import Topology, load_topology

MODES = ("dense", "paper")
# A triangle is usable when its unit normal points towards the camera by at
# least this cosine; grazing triangles smear the photo over many texels.
MIN_FACING_COSINE = 0.1
# Depth slack of the visibility test, as a fraction of the face width (depth is
# in the same pixel units as x and y).
DEPTH_TOLERANCE = 0.02
# The image-space visibility raster is at most this many pixels across.
VISIBILITY_SIDE = 512


@dataclass(frozen=True)
class UVLayout:
    """The texels a texture of one size covers, and what each one is on the mesh.

    Attributes:
        size: S, texture side in texels.
        covered: (S, S) bool, texels whose centre lies in a UV triangle.
        texels: (N,) int64 row-major flat indices of the covered texels.
        triangle: (N,) int32 triangle of each covered texel.
        bary: (N, 3) float32 barycentric weights of the triangle's vertices.
        mirror: (N,) int64 index (into the N covered texels) of the texel at the
            mirrored surface point, -1 where that lands outside the coverage.
        ring: (R,) int64 flat indices of uncovered texels within a few texels of
            the coverage.
        ring_source: (R,) int64 index (into the N covered texels) of the nearest
            covered texel of each ring texel.
    """

    size: int
    covered: np.ndarray
    texels: np.ndarray
    triangle: np.ndarray
    bary: np.ndarray
    mirror: np.ndarray
    ring: np.ndarray
    ring_source: np.ndarray


def build_uv_layout(topology: Topology, size: int) -> UVLayout:
    """Rasterise the UV triangles at ``size`` (slow-ish: ~0.15 s at 1024).

    Args:
        topology: the mesh; all its triangles (mouth opening included) are used.
        size: texture side S in texels.
    Returns:
        UVLayout for an (S, S) texture.
    """
    triangles = topology.triangles
    fragments = rasterize(topology.uvs * size, triangles, (size, size))
    covered = fragments.covered
    texels = np.flatnonzero(covered)
    triangle = fragments.triangle.ravel()[texels].astype(np.int32)
    bary = fragments.bary.reshape(-1, 3)[texels].astype(np.float32)

    # Position of every flat texel in the covered list, -1 where uncovered.
    lookup = np.full(size * size, -1, dtype=np.int64)
    lookup[texels] = np.arange(len(texels))

    # Same barycentrics on the mirrored triangle (the mirror of a triangle of
    # this mesh is again one of its triangles), then the texel under that UV.
    mirrored_uv = np.einsum("nk,nkc->nc", bary, topology.uvs[topology.mirror[triangles[triangle]]])
    col = np.clip(np.floor(mirrored_uv[:, 0] * size).astype(np.int64), 0, size - 1)
    row = np.clip(np.floor(mirrored_uv[:, 1] * size).astype(np.int64), 0, size - 1)
    mirror = lookup[row * size + col]

    reach = max(2, size // 128)
    distance, nearest = ndimage.distance_transform_edt(~covered, return_indices=True)
    ring_mask = (distance > 0) & (distance <= reach)
    ring = np.flatnonzero(ring_mask)
    ring_source = lookup[nearest[0].ravel()[ring] * size + nearest[1].ravel()[ring]]

    layout = UVLayout(
        size=size,
        covered=covered,
        texels=texels,
        triangle=triangle,
        bary=bary,
        mirror=mirror,
        ring=ring,
        ring_source=ring_source,
    )
    for value in vars(layout).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return layout


@lru_cache(maxsize=4)
def _default_layout(size: int) -> UVLayout:
    return build_uv_layout(load_topology(), size)


def uv_layout(topology: Topology, size: int) -> UVLayout:
    """The UV layout of ``topology`` at ``size``; cached for the packaged topology."""
    if topology is load_topology():
        return _default_layout(size)
    return build_uv_layout(topology, size)


def facing_triangles(vertices: np.ndarray, triangles: np.ndarray, min_cosine: float = MIN_FACING_COSINE) -> np.ndarray:
    """Which triangles of an image-space mesh face the camera.

    The camera looks along +z (smaller z is nearer). The canonical mesh winds
    its outer faces counter-clockwise seen from the viewer, and the canonical ->
    image map is a proper similarity, so an outward normal facing the camera has
    a negative z component in image space.

    Args:
        vertices: (V, 3) image-space positions.
        triangles: (T, 3) vertex indices.
        min_cosine: required cosine between the outward normal and the direction
            to the camera.
    Returns:
        (T,) bool.
    """
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    length = np.linalg.norm(normal, axis=1)
    return -normal[:, 2] > min_cosine * np.maximum(length, 1e-12)


def visible_points(
    vertices: np.ndarray,
    triangles: np.ndarray,
    points: np.ndarray,
    point_triangles: np.ndarray,
    image_size: tuple[int, int],
) -> np.ndarray:
    """Whether surface points of a posed mesh are seen by the camera.

    A point is visible when it lies inside the image, its triangle faces the
    camera, and nothing is in front of it: the nearest surface at its pixel is
    its own triangle or one sharing a vertex with it, or is at most a small
    tolerance nearer.

    Args:
        vertices: (V, 3) image-space mesh (x, y pixels, z depth, smaller nearer).
        triangles: (T, 3) vertex indices.
        points: (N, 3) image-space points on the mesh.
        point_triangles: (N,) triangle of each point.
        image_size: (H, W) of the photo.
    Returns:
        (N,) bool.
    """
    height, width = image_size
    xy = vertices[:, :2]
    origin = np.floor(xy.min(axis=0)) - 1.0
    extent = np.ceil(xy.max(axis=0)) + 1.0 - origin
    # Visibility needs no more resolution than a few pixels per triangle.
    scale = min(1.0, VISIBILITY_SIDE / float(extent.max()))
    raster_w, raster_h = (np.ceil(extent * scale).astype(int) + 1).tolist()
    fragments = rasterize((xy - origin) * scale, triangles, (raster_h, raster_w), depth=vertices[:, 2])

    local = (points[:, :2] - origin) * scale
    col = np.clip(np.floor(local[:, 0]).astype(np.int64), 0, raster_w - 1)
    row = np.clip(np.floor(local[:, 1]).astype(np.int64), 0, raster_h - 1)
    front = fragments.triangle[row, col]
    front_depth = fragments.depth[row, col]

    tolerance = DEPTH_TOLERANCE * float(np.ptp(xy[:, 0]))
    unoccluded = (front < 0) | (points[:, 2] <= front_depth + tolerance)
    # Near the point's own triangle the buffer holds depth at another spot of a
    # steep surface: a triangle sharing a vertex does not occlude.
    doubtful = np.flatnonzero(~unoccluded)
    own = triangles[point_triangles[doubtful]]  # (M, 3)
    other = triangles[front[doubtful]]
    unoccluded[doubtful] = (own[:, :, None] == other[:, None, :]).any(axis=(1, 2))

    inside = (
        (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
    )
    facing = facing_triangles(vertices, triangles)[point_triangles]
    return inside & facing & unoccluded


def sample_bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of an image at continuous image-space positions.

    Args:
        image: (H, W, C) uint8.
        xy: (N, 2) x, y in pixels (pixel centres at +0.5); outside positions
            take the nearest border pixel.
    Returns:
        (N, C) float32 in [0, 255].
    """
    count = len(xy)
    if count == 0:
        return np.zeros((0, image.shape[2]), dtype=np.float32)
    x, y = xy[:, 0], xy[:, 1]
    # Only the region the points fall in is converted to float.
    height, width = image.shape[:2]
    x0 = int(np.clip(np.floor(x.min()) - 1, 0, width - 1))
    y0 = int(np.clip(np.floor(y.min()) - 1, 0, height - 1))
    x1 = int(np.clip(np.ceil(x.max()) + 1, x0 + 1, width))
    y1 = int(np.clip(np.ceil(y.max()) + 1, y0 + 1, height))
    region = image[y0:y1, x0:x1].astype(np.float32)
    # cv2.remap wants maps under 32767 rows and columns: lay the points out in rows.
    columns = 4096
    rows = -(-count // columns)
    maps = np.zeros((2, rows * columns), dtype=np.float32)
    maps[0, :count] = x
    maps[0, :count] -= x0 + 0.5
    maps[1, :count] = y
    maps[1, :count] -= y0 + 0.5
    out = cv2.remap(
        region,
        maps[0].reshape(rows, columns),
        maps[1].reshape(rows, columns),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(rows * columns, -1)[:count]


def _fill_from_nearest(colours: np.ndarray, filled: np.ndarray, layout: UVLayout) -> np.ndarray:
    """Give the covered texels that are not ``filled`` the colour of the nearest filled texel.

    Uses OpenCV's labelled distance transform (a 5x5-mask approximation of the
    Euclidean one, ~10x faster than scipy's exact transform at 1024^2).

    Args:
        colours: (N, 3) float32 per covered texel.
        filled: (N,) bool, at least one True.
    Returns:
        (N, 3) float32.
    """
    size = layout.size
    grid_index = np.full(size * size, -1, dtype=np.int64)
    grid_index[layout.texels[filled]] = np.flatnonzero(filled)
    holes = (grid_index < 0).astype(np.uint8).reshape(size, size)
    _, labels = cv2.distanceTransformWithLabels(holes, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    labels = labels.ravel()
    # Each source texel carries its own label; map labels back to covered-texel indices.
    sources = layout.texels[filled]
    label_source = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    label_source[labels[sources]] = grid_index[sources]
    missing = np.flatnonzero(~filled)
    out = colours.copy()
    out[missing] = colours[label_source[labels[layout.texels[missing]]]]
    return out


def _dense_colours(
    image: np.ndarray, vertices: np.ndarray, topology: Topology, layout: UVLayout
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) float32 colours and (N,) bool validity of the covered texels, dense mode."""
    corners = topology.triangles[layout.triangle]  # (N, 3)
    points = np.einsum("nk,nkc->nc", layout.bary, vertices.astype(np.float32)[corners])
    valid = visible_points(vertices, topology.triangles, points, layout.triangle, image.shape[:2])
    colours = sample_bilinear(image, points[:, :2])

    # Hidden texels: the same barycentrics on the mirrored triangle, if that point is seen.
    has_mirror = layout.mirror >= 0
    from_mirror = ~valid & has_mirror
    from_mirror[from_mirror] = valid[layout.mirror[from_mirror]]
    if from_mirror.any():
        mirrored_corners = topology.mirror[corners[from_mirror]]
        mirrored_points = np.einsum(
            "nk,nkc->nc", layout.bary[from_mirror], vertices[:, :2].astype(np.float32)[mirrored_corners]
        )
        colours[from_mirror] = sample_bilinear(image, mirrored_points)

    filled = valid | from_mirror
    if filled.any() and not filled.all():
        colours = _fill_from_nearest(colours, filled, layout)
    return colours, valid


def _paper_colours(
    image: np.ndarray, vertices: np.ndarray, topology: Topology, layout: UVLayout
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) float32 colours and (N,) bool validity of the covered texels, paper mode."""
    height, width = image.shape[:2]
    # The pixel containing a point is the one whose centre is nearest.
    col = np.clip(np.floor(vertices[:, 0]).astype(np.int64), 0, width - 1)
    row = np.clip(np.floor(vertices[:, 1]).astype(np.int64), 0, height - 1)
    vertex_colours = image[row, col].astype(np.float32)  # (V, 3)
    corners = topology.triangles[layout.triangle]
    colours = np.einsum("nk,nkc->nc", layout.bary, vertex_colours[corners])

    triangles = topology.triangles
    centroids = vertices[triangles].mean(axis=1)
    triangle_visible = visible_points(vertices, triangles, centroids, np.arange(len(triangles)), image.shape[:2])
    return colours, triangle_visible[layout.triangle]


def sample_texture(
    image: np.ndarray,
    vertices: np.ndarray,
    topology: Topology,
    size: int = 1024,
    mode: str = "dense",
) -> FaceTexture:
    """Sample a face texture in the canonical UV layout from a photo.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        vertices: (V, 3) image-space mesh at the photo's pose and expression
            (x, y pixels, z depth with smaller nearer), V = the topology's 468.
        topology: the mesh whose UVs define the layout.
        size: texture side S in texels.
        mode: ``"dense"`` (bilinear per texel, visibility and mirror fill) or
            ``"paper"`` (nearest-pixel vertex colours, barycentric in between).
    Returns:
        FaceTexture with rgba (S, S, 4) uint8 (alpha 255 on the UV footprint,
        colours extended a few texels beyond it with alpha 0) and valid (S, S)
        bool (texels seen directly in the photo).
    Raises:
        ValueError: wrong shapes, dtype, size or mode.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    vertices = np.asarray(vertices, dtype=np.float64)
    expected = (len(topology.vertices), 3)
    if vertices.shape != expected:
        raise ValueError(f"vertices must be {expected}, got {vertices.shape}")
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size}")

    layout = uv_layout(topology, int(size))
    if mode == "dense":
        colours, valid = _dense_colours(image, vertices, topology, layout)
    else:
        colours, valid = _paper_colours(image, vertices, topology, layout)
    colours = np.clip(np.rint(colours), 0, 255).astype(np.uint8)

    texel_count = layout.size * layout.size
    rgba = np.zeros((texel_count, 4), dtype=np.uint8)
    rgba[layout.texels, :3] = colours
    rgba[layout.texels, 3] = 255
    rgba[layout.ring, :3] = colours[layout.ring_source]
    valid_map = np.zeros(texel_count, dtype=bool)
    valid_map[layout.texels] = valid
    return FaceTexture(
        rgba=rgba.reshape(layout.size, layout.size, 4),
        valid=valid_map.reshape(layout.size, layout.size),
        mode=mode,
    )
