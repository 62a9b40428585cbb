"""MediaPipe's canonical face mesh: vertices, UVs, triangles and named regions.

The asset is extracted by ``tools/extract_canonical_mesh.py`` (see its NOTICE).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ASSET = Path(__file__).resolve().parents[2] / "assets" / "face_model" / "canonical_mesh.npz"
NUM_VERTICES = 468

# Named landmark groups of the 468-point topology (facts of the topology).
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_LIP_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LIP_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291)
# Eyes: subject's right eye is on the image's left (x < 0 in canonical space).
RIGHT_EYE_UPPER = (246, 161, 160, 159, 158, 157, 173)
RIGHT_EYE_LOWER = (7, 163, 144, 145, 153, 154, 155)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_UPPER = (466, 388, 387, 386, 385, 384, 398)
LEFT_EYE_LOWER = (249, 390, 373, 374, 380, 381, 382)
LEFT_EYE_CORNERS = (263, 362)
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


@dataclass(frozen=True)
class Topology:
    """The canonical mesh.

    Attributes:
        vertices: (468, 3) float64 canonical positions in cm.
        uvs: (468, 2) float64 in [0, 1], ``v`` is an image row (0 = top).
        triangles: (898, 3) int32 vertex indices.
        mouth_triangles: (898,) bool, triangles that close the mouth opening;
            they are dropped when rendering so an open jaw shows a hole.
        procrustes_ids: (33,) int32 landmarks MediaPipe uses for rigid alignment.
        procrustes_weights: (33,) float64 their weights.
        mirror: (468,) int index of each vertex's mirror image across x = 0.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    triangles: np.ndarray
    mouth_triangles: np.ndarray
    procrustes_ids: np.ndarray
    procrustes_weights: np.ndarray
    mirror: np.ndarray

    @property
    def face_triangles(self) -> np.ndarray:
        """(T', 3) the triangles drawn as skin (mouth opening removed)."""
        return self.triangles[~self.mouth_triangles]


def mirror_indices(vertices: np.ndarray) -> np.ndarray:
    """Index of each vertex's mirror across the x = 0 plane.

    Args:
        vertices: (V, 3) canonical positions (the canonical mesh is symmetric).
    Returns:
        (V,) int, nearest vertex to ``(-x, y, z)``.
    """
    flipped = vertices * np.array([-1.0, 1.0, 1.0])
    distances = np.linalg.norm(vertices[None, :, :] - flipped[:, None, :], axis=2)
    return distances.argmin(axis=1)


@lru_cache(maxsize=1)
def load_topology(path: Path = ASSET) -> Topology:
    """Load the canonical mesh asset (cached; the arrays are read-only)."""
    with np.load(path) as data:
        vertices = data["vertices"].astype(np.float64)
        topology = Topology(
            vertices=vertices,
            uvs=data["uvs"].astype(np.float64),
            triangles=data["triangles"].astype(np.int32),
            mouth_triangles=data["mouth_triangles"].astype(bool),
            procrustes_ids=data["procrustes_ids"].astype(np.int32),
            procrustes_weights=data["procrustes_weights"].astype(np.float64),
            mirror=mirror_indices(vertices),
        )
    for array in vars(topology).values():
        array.setflags(write=False)
    return topology
