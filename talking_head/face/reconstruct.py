"""Photo -> animatable face: rigid pose, the photo's own expression, identity mesh.

The detected landmarks are un-posed into canonical space; the photo's
expression is estimated by fitting the rig against the canonical mean mesh with
its lips closed (``rig.closed_mouth``: a face at rest, so a neutral identity has
a closed mouth) on the expression-sensitive regions (lips, eyes, brows and a
little of the jaw), with priors that keep it near neutral so that a person's own
lip thickness or mouth width stays identity rather than being read as
expression: only the clearly expressive shapes (``PHOTO_SHAPES``) take part, a
soft threshold ignores the first ``EXPRESSION_THRESHOLD`` of each shape, and a
ridge shrinks the rest a little.
The identity mesh is what remains, ``identity = unposed - D @ expression`` with
the blinks of ``D`` rebuilt on the identity's own eyelids (so a blink closes
this person's eyes) and any gap left between its lips closed, so
``posed_vertices(recon, recon.expression)`` gives back the detected landmarks
up to that gap (a few tenths of a mm on real photos).
"""

from __future__ import annotations

import numpy as np

from ..types import FaceLandmarks, FaceReconstruction, RigidPose
from .pose import estimate_pose
from .rig import BLINK_LIDS, ExpressionRig, close_lips, closed_mouth, load_rig, regions
from .topology import Topology

# Shapes a photo's expression may use. Lips pushed out, rolled, pressed or
# sideways, and jaws sideways or forward, look too much like one person's own
# lips and jaw to be told apart on a single photo.
PHOTO_SHAPES = (
    "jawOpen",
    "mouthSmile_L",
    "mouthSmile_R",
    "mouthStretch_L",
    "mouthStretch_R",
    "mouthUpperUp",
    "mouthLowerDown",
    "eyeBlink_L",
    "eyeBlink_R",
    "browInnerUp",
    "browDown_L",
    "browDown_R",
)
# Priors of the photo's expression, relative to each shape's energy (see
# ExpressionRig.fit): the first 0.1 of a shape is taken as identity, except for
# the shapes that part the lips: lips apart are never identity (a face at rest
# has them closed), and what the fit leaves of a gap is closed afterwards.
EXPRESSION_THRESHOLD = 0.1
EXPRESSION_RIDGE = 0.05
OPENING_SHAPES = ("jawOpen", "mouthLowerDown", "mouthUpperUp")
OPENING_THRESHOLD = 0.0
OPENING_RIDGE = 0.01
POSE_REFINEMENTS = 1
# A blink is rebuilt on the identity's own lids, which the photo's blink has
# moved: identity = unposed - D(identity) e converges like e^n, and not at all
# for shut eyes, whose open shape a photo cannot tell. Photo blinks are capped.
MAX_PHOTO_BLINK = 0.8
IDENTITY_ITERATIONS = 100


def expression_weights(topology: Topology) -> np.ndarray:
    """(468,) fit weights of the photo's expression: lips, eyelids, brows, jaw."""
    reg = regions(topology)
    # The jaw a little: an open jaw also moves the chin, but chins differ.
    return np.maximum.reduce([reg.mouth, reg.eyes, reg.brows, 0.3 * reg.jaw])


def photo_expression(unposed: np.ndarray, rig: ExpressionRig, topology: Topology) -> np.ndarray:
    """The expression of one un-posed face, under the photo priors (see module).

    Args:
        unposed: (468, 3) canonical cm.
    Returns:
        (K,) coefficients; shapes outside ``PHOTO_SHAPES`` are 0.
    """
    used = [k for k, name in enumerate(rig.names) if name in PHOTO_SHAPES]
    names = tuple(rig.names[k] for k in used)
    blink = np.array([name in BLINK_LIDS for name in names])
    upper = np.where(blink, np.minimum(rig.upper[used], MAX_PHOTO_BLINK), rig.upper[used])
    photo_rig = ExpressionRig(names, rig.deltas[used], rig.lower[used], upper)
    opening = np.array([name in OPENING_SHAPES for name in names])
    expression = np.zeros(rig.size)
    expression[used] = photo_rig.fit(
        unposed,
        closed_mouth(topology),
        expression_weights(topology),
        regularization=np.where(opening, OPENING_RIDGE, EXPRESSION_RIDGE),
        threshold=np.where(opening, OPENING_THRESHOLD, EXPRESSION_THRESHOLD),
    )
    return expression


def identity_of(unposed: np.ndarray, expression: np.ndarray, rig: ExpressionRig, topology: Topology) -> np.ndarray:
    """The neutral face behind an expression: ``unposed - D(identity) e``.

    The blinks of ``D`` depend on the identity's own lids: a fixed point,
    reached geometrically (ratio = the blink coefficient). What is left of a
    gap between the lips is then closed.

    Args:
        unposed: (468, 3) canonical cm.
        expression: (K,) coefficients.
    Returns:
        (468, 3) canonical cm.
    """
    identity = unposed - np.tensordot(expression, rig.deltas, axes=(0, 0))
    for _ in range(IDENTITY_ITERATIONS):
        previous = identity
        identity = unposed - np.tensordot(expression, rig.personalize(identity, topology).deltas, axes=(0, 0))
        if np.abs(identity - previous).max() < 1e-9:
            break
    # What the rig could not explain of the gap between the lips (a few mm at
    # most) is not identity either: a face at rest has its lips together.
    return close_lips(identity, topology)


def reconstruct(landmarks: FaceLandmarks, rig: ExpressionRig, topology: Topology) -> FaceReconstruction:
    """Fit pose, expression and identity to one detection.

    The pose is estimated on MediaPipe's rigid (Procrustes) landmarks, first
    against the neutral canonical face, then once more against it wearing the
    estimated expression (an open jaw moves some of those landmarks).

    Args:
        landmarks: the photo's detection (>= 468 points, image space).
        rig: the expression rig.
        topology: the canonical mesh.
    Returns:
        FaceReconstruction with ``identity`` (468, 3) canonical cm and
        ``expression`` (K,) within the rig's bounds.
    Raises:
        ValueError: the landmarks are not 468+ finite 3D points.
    """
    points = np.asarray(landmarks.mesh_points, dtype=np.float64)
    if points.shape != (topology.vertices.shape[0], 3) or not np.isfinite(points).all():
        raise ValueError(f"expected finite (468, 3) mesh landmarks, got {points.shape}")
    reference = closed_mouth(topology)
    for _ in range(POSE_REFINEMENTS + 1):
        pose = estimate_pose(reference, points, topology.procrustes_ids, topology.procrustes_weights)
        unposed = pose.invert(points)
        expression = photo_expression(unposed, rig, topology)
        reference = rig.apply(closed_mouth(topology), expression)
    identity = identity_of(unposed, expression, rig, topology)
    return FaceReconstruction(landmarks=landmarks, pose=pose, identity=identity, expression=expression)


def mesh(recon: FaceReconstruction, coeffs: np.ndarray, rig: ExpressionRig | None = None) -> np.ndarray:
    """The person's face wearing an expression, in canonical space.

    Args:
        coeffs: (K,) or (T, K) rig coefficients.
        rig: the rig the reconstruction was made with (default ``load_rig()``);
            its blinks are rebuilt on the identity's eyelids.
    Returns:
        (468, 3) or (T, 468, 3) canonical cm.
    """
    rig = load_rig() if rig is None else rig
    return rig.personalize(recon.identity).apply(recon.identity, coeffs)


def posed_vertices(
    recon: FaceReconstruction,
    coeffs: np.ndarray,
    pose: RigidPose | None = None,
    rig: ExpressionRig | None = None,
) -> np.ndarray:
    """The person's face wearing an expression, placed in the photo.

    Args:
        coeffs: (K,) or (T, K) rig coefficients.
        pose: rigid pose to use instead of the photo's own.
        rig: the rig the reconstruction was made with (default ``load_rig()``).
    Returns:
        (468, 3) or (T, 468, 3) image-space points (pixels, z like MediaPipe's).
    """
    pose = recon.pose if pose is None else pose
    return pose.apply(mesh(recon, coeffs, rig))


# The head turns about a point behind and below the nose (canonical cm; the
# nose tip is at z = 7.5, the ears at z = -2.4): near the top of the neck, so
# a nod moves the chin more than the forehead, and a turn moves the face
# sideways over the neck, as real heads do.
HEAD_PIVOT = np.array([0.0, -3.0, -2.0])


def moved_pose(pose: RigidPose, delta: np.ndarray, interocular_px: float) -> RigidPose:
    """The photo's pose with a head-pose delta applied on top.

    The rotation turns the head about ``HEAD_PIVOT`` in its own frame:
    ``c' = Rd (c - p) + p``, then ``x = s R c' + t + d``, where d is the
    translation (tx, ty) in image pixels.

    Args:
        pose: the photo's rigid pose.
        delta: (5,) yaw, pitch, roll degrees and tx, ty in inter-ocular distances
            (``motion/headpose.py``).
        interocular_px: the photo's inter-ocular distance in the same pixels as ``pose``.
    Returns:
        RigidPose; ``pose`` itself when ``delta`` is all zeros.
    """
    from ..motion.headpose import delta_rotation

    delta = np.asarray(delta, dtype=np.float64)
    if not delta.any():
        return pose
    turn = delta_rotation(*delta[:3])
    rotation = pose.rotation @ turn
    shift = np.array([delta[3], delta[4], 0.0]) * interocular_px
    translation = pose.scale * pose.rotation @ (HEAD_PIVOT - turn @ HEAD_PIVOT) + pose.translation + shift
    return RigidPose(scale=pose.scale, rotation=rotation, translation=translation)
