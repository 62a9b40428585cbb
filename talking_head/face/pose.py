"""Rigid pose: a weighted similarity transform between canonical and image space."""

from __future__ import annotations

import numpy as np

from ..types import RigidPose


def similarity_transform(source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None) -> RigidPose:
    """Weighted least-squares similarity (Umeyama) with a proper rotation.

    Finds s, R, t minimising ``sum_i w_i |s R source_i + t - target_i|^2``.

    Args:
        source: (N, 3) points, e.g. canonical vertices.
        target: (N, 3) matching points, e.g. image landmarks.
        weights: (N,) non-negative weights, default uniform.
    Returns:
        RigidPose mapping source to target.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    w = np.ones(len(source)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = w @ source
    mu_t = w @ target
    cs, ct = source - mu_s, target - mu_t
    covariance = (ct * w[:, None]).T @ cs
    u, sigma, vt = np.linalg.svd(covariance)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag(d) @ vt
    variance = float(w @ (cs**2).sum(axis=1))
    scale = float((sigma * d).sum() / variance)
    translation = mu_t - scale * rotation @ mu_s
    return RigidPose(scale=scale, rotation=rotation, translation=translation)


def estimate_pose(canonical: np.ndarray, landmarks: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> RigidPose:
    """Pose of a face from the rigid landmark subset (MediaPipe's Procrustes basis).

    Args:
        canonical: (468, 3) canonical (or identity) vertices.
        landmarks: (>=468, 3) image-space landmarks.
        ids: (M,) landmark indices of the rigid basis.
        weights: (M,) their weights.
    """
    return similarity_transform(canonical[ids], landmarks[ids], weights)


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a pose rotation, relative to a frontal face.

    A frontal face in image space has ``R = diag(1, -1, -1)``; the angles are
    those of ``R @ diag(1, -1, -1)``.
    """
    r = rotation @ np.diag([1.0, -1.0, -1.0])
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)
