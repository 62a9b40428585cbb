"""Test helpers shared by several test modules (importable: pytest puts tests/ on sys.path)."""

import cv2
import numpy as np
from scipy import ndimage

from talking_head.rasterize import rasterize


def projection_texture(image, points, topology, size):
    """(S, S, 4) uint8: each texel samples the image (independent of face/texture.py) where its mesh point is."""
    frags = rasterize(topology.uvs * size, topology.triangles, (size, size))
    xy = frags.interpolate(points[:, :2], topology.triangles).astype(np.float32)
    _, (rows, cols) = ndimage.distance_transform_edt(~frags.covered, return_indices=True)
    xy = xy[rows, cols]  # off-footprint texels repeat their nearest texel
    rgb = cv2.remap(image, xy[..., 0] - 0.5, xy[..., 1] - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.dstack([rgb, np.where(frags.covered, 255, 0).astype(np.uint8)])
