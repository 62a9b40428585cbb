"""The photo's displacement field for a moving head: hair, ears and neck follow,
torso, frame edges and far background stay put.

The mesh's own motion is extrapolated to the rest of the photo with the same
thin-plate fill as the jaw-only field (``compose.displacement_operator``), but
with more nodes pinned at zero:

* every node on the frame's border (so the frame edges never move and no
  pixel from outside the photo comes in);
* the torso: nodes lower than ``TORSO_BELOW_CHIN`` face heights under the
  chin, outside a neck column of ``NECK_HALF_WIDTH`` face widths (shoulders
  and clothes keep still; the neck in between stretches smoothly);
* nodes outside an ellipse ``ring`` times the face's half extents;
* with a person mask (MediaPipe's selfie segmentation, shipped in the
  mediapipe wheel): background nodes farther than ``BACKGROUND_BAND`` face
  widths from the person. Without it the field bent straight background
  lines (window bars behind a speaker) out to 3 face half-extents from the
  face; with it only a band beside the hair and shoulders stretches.

Between the mesh and the pinned nodes the field minimises the thin-plate
energy, so it continues the head's rotation into the hair and fades smoothly:
a backward-mapped smooth field has no holes and no tearing by construction.
"""

from __future__ import annotations

import numpy as np

from .compose import displacement_operator

TORSO_BELOW_CHIN = 0.3  # face heights below the chin where the torso starts
NECK_HALF_WIDTH = 0.45  # face widths either side of the chin that count as neck above the torso line
HEAD_RING = 3.2  # face half extents where the field reaches zero
BACKGROUND_BAND = 0.25  # face widths of background beside the person that may stretch


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """Person (hair, face, body) against background: MediaPipe selfie segmentation.

    Args:
        rgb: (H, W, 3) uint8.
    Returns:
        (H, W) float32 in [0, 1], 1 on the person.
    """
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        mask = segmenter.process(np.ascontiguousarray(rgb)).segmentation_mask
    if mask is None:
        return np.ones(rgb.shape[:2], np.float32)
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)


def pinned_nodes(reference: np.ndarray, grid: tuple[int, int], size: tuple[int, int],
                 person: np.ndarray | None = None, chin: int = 152,
                 edges: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> np.ndarray:
    """(gh, gw) bool, nodes the head's motion must not move (frame border, torso, far background).

    Args:
        reference: (V, 3) the photo's mesh in output pixels.
        grid: (gh, gw) nodes, centre convention of ``compose.displacement_operator``.
        size: (H, W) of the frame.
        person: (H, W) person mask in [0, 1] (``person_mask``), optional.
        chin: the chin vertex.
        edges: (top, bottom, left, right) frame edges to pin: those where the
            photo ends (``compose.PhotoSurround.pinned``); where it goes on, the
            warp may read the photo beyond the frame.
    """
    gh, gw = grid
    height, width = size
    xy = np.asarray(reference, dtype=np.float64)[:, :2]
    face_w, face_h = np.ptp(xy[:, 0]), np.ptp(xy[:, 1])
    xs, ys = np.meshgrid((np.arange(gw) + 0.5) * width / gw, (np.arange(gh) + 0.5) * height / gh)
    pinned = np.zeros(grid, dtype=bool)
    for pin, side in zip(edges, (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1])):
        pinned[side] |= pin
    chin_x, chin_y = xy[chin]
    below = ys > chin_y + TORSO_BELOW_CHIN * face_h
    # The shoulders: below the chin line and outside the neck column.
    shoulders = (ys > chin_y + 0.05 * face_h) & (np.abs(xs - chin_x) > NECK_HALF_WIDTH * face_w + (ys - chin_y))
    pinned |= below | shoulders
    if person is not None:
        import cv2

        background = (np.asarray(person) < 0.5).astype(np.uint8)
        distance = cv2.distanceTransform(background, cv2.DIST_L2, 5)
        far = distance > BACKGROUND_BAND * face_w
        pinned |= far[np.clip(ys.astype(int), 0, height - 1), np.clip(xs.astype(int), 0, width - 1)]
    return pinned


def head_displacement_operator(reference: np.ndarray, triangles: np.ndarray, grid: tuple[int, int],
                               size: tuple[int, int], ring: float = HEAD_RING,
                               person: np.ndarray | None = None,
                               edges: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> np.ndarray:
    """Linear map from vertex displacements to the coarse grid, for a moving head.

    Args:
        reference: (V, 3) the photo's mesh in output pixels.
        triangles: (T, 3) the mesh's triangles.
        grid: (gh, gw) nodes.
        size: (H, W) of the frame.
        ring: where the field reaches zero, relative to the face half extents.
        person: (H, W) person mask (``person_mask``), optional.
        edges: frame edges to pin (``pinned_nodes``).
    Returns:
        (gh * gw, V) float32, like ``compose.displacement_operator``; rows of
        pinned nodes that the mesh does not cover are zero.
    """
    return displacement_operator(reference, triangles, grid, size, ring=ring, edges=edges,
                                 pinned=pinned_nodes(reference, grid, size, person, edges=edges).ravel())
