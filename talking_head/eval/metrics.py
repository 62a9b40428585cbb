"""Quality metrics computed from pixels and re-detected landmarks.

Never reads the pipeline's own coefficients: every number comes from the
frames, so it can be computed on any video (ours, a real one, a competitor's).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face.rig import inner_lip_gap

# Landmark groups used by the metrics (MediaPipe 468-point topology).
RIGHT_EYE = (33, 133)
LEFT_EYE = (263, 362)
MOUTH_POINTS = (61, 291, 0, 17, 13, 14, 78, 308, 82, 87, 312, 317, 81, 178, 311, 402, 37, 84, 267, 314)
# Forehead and upper cheeks: skin that should not change while speaking.
STATIC_SKIN = (10, 151, 9, 109, 338, 67, 297, 50, 280, 101, 330, 118, 347)


def interocular(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres (corner means).

    Args:
        points: (..., 478 or 468, >=2) landmarks.
    Returns:
        (...) float64 pixels.
    """
    right = points[..., RIGHT_EYE, :2].mean(axis=-2)
    left = points[..., LEFT_EYE, :2].mean(axis=-2)
    return np.linalg.norm(left - right, axis=-1)


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap over inter-ocular distance, per frame.

    Args:
        points: (T, >=468, >=2) landmarks.
    Returns:
        (T,) float64, dimensionless.
    """
    points = np.asarray(points, dtype=np.float64)
    return np.asarray(inner_lip_gap(points[..., :2]), dtype=np.float64) / interocular(points)


def jitter(points: np.ndarray, indices: tuple[int, ...] | None = None) -> float:
    """Mean magnitude of the second temporal difference of landmarks.

    Normalised per frame by the inter-ocular distance, so it does not depend on
    resolution. Real speech moves too, so compare against a real video's value.

    Args:
        points: (T, N, >=2) landmarks over time, T >= 3.
        indices: landmark subset (default all).
    Returns:
        float, inter-ocular distances per frame^2.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape[0] < 3:
        return float("nan")
    scale = interocular(points)[1:-1, None]
    chosen = points[:, list(indices), :2] if indices is not None else points[..., :2]
    second = chosen[2:] - 2 * chosen[1:-1] + chosen[:-2]
    return float((np.linalg.norm(second, axis=-1) / scale).mean())


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length series (nan if either is constant)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def best_lag_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 2) -> tuple[float, int]:
    """Highest Pearson r of ``a[t]`` against ``b[t + lag]`` for |lag| <= max_lag.

    Returns:
        (r, lag); positive lag means ``b`` trails ``a``.
    """
    best = (float("-inf"), 0)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            r = pearson(a[: len(a) - lag], b[lag:])
        else:
            r = pearson(a[-lag:], b[: len(b) + lag])
        if np.isfinite(r) and r > best[0]:
            best = (r, lag)
    return best


def loudness_envelope(samples: np.ndarray, sample_rate: int, frames: int, fps: float) -> np.ndarray:
    """RMS loudness in dB per video frame (window centred on the frame).

    Args:
        samples: (N,) float mono audio.
        frames: number of video frames T.
    Returns:
        (T,) float64 dB.
    """
    from ..audio.loudness import frame_rms_db

    return frame_rms_db(samples, sample_rate, frames, fps)


# --- CPBD (Narvekar & Karam, IEEE TIP 2011) ----------------------------------
CPBD_BLOCK = 64
CPBD_EDGE_FRACTION = 0.002  # a block is an edge block above this share of edge pixels
CPBD_BETA = 3.6
CPBD_P_JNB = 0.63
CANNY_LOW, CANNY_HIGH = 26, 51


def _edge_widths(gray: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Marziliano edge widths along rows at vertical-edge pixels.

    The width of an edge is the length of the monotonic intensity run through
    the edge pixel along its row (from the local extremum on one side to the
    local extremum on the other), found for every pixel at once.

    Args:
        gray: (H, W) float64.
        edges: (H, W) bool edge pixels.
    Returns:
        (H, W) float64 widths (0 off edges).
    """
    h, w = gray.shape
    diff = np.diff(gray, axis=1)  # (H, W-1), diff[:, j] = g[j+1] - g[j]
    sign = np.sign(diff)
    # A run boundary sits between columns where the slope changes sign (flat
    # stretches end runs too, as at an extremum plateau).
    cols = np.arange(w)
    widths = np.zeros((h, w))
    for direction in (1.0, -1.0):
        monotone = sign == direction  # (H, W-1) steps in this direction
        # Left end: last column k <= j such that step k-1 is not monotone.
        breaks = np.where(~monotone, cols[None, 1:], 0)  # step k breaks -> run restarts at column k+1
        start = np.maximum.accumulate(np.concatenate([np.zeros((h, 1), int), breaks], axis=1), axis=1)
        # Right end: first column k >= j such that step k is not monotone.
        stop_marks = np.where(~monotone, cols[None, :-1], w - 1)
        stop = np.minimum.accumulate(np.concatenate([stop_marks, np.full((h, 1), w - 1)], axis=1)[:, ::-1], axis=1)[:, ::-1]
        # Which direction applies at a pixel: the gradient sign there.
        grad = np.zeros((h, w))
        grad[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
        use = edges & (np.sign(grad) == direction)
        widths[use] = (stop - start)[use]
    return widths


def cpbd(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Cumulative probability of blur detection: higher is sharper, in [0, 1].

    Implemented from Narvekar & Karam (2011): Canny edges (after a sigma-1
    Gaussian, thresholds 10% / 20% of full scale); vertical-edge widths
    measured along rows (Marziliano); per 64x64 edge block a just-noticeable
    blur width of 5 (contrast <= 50) or 3 (> 50); P_blur = 1 - exp(-(w /
    w_JNB)^3.6); CPBD = share of edges with P_blur <= 0.63.

    Args:
        image: (H, W) or (H, W, 3) uint8.
        mask: optional (H, W) bool region (e.g. the face); only edges inside count.
    Returns:
        float in [0, 1], nan where there are no edges.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray = np.asarray(gray, dtype=np.uint8)
    # Edge *detection* as in the common reference setting (Gaussian sigma 1,
    # hysteresis at 10% / 20% of full scale); widths are measured unblurred.
    canny = cv2.Canny(cv2.GaussianBlur(gray, (0, 0), 1.0), CANNY_LOW, CANNY_HIGH) > 0
    sobel_x = cv2.Sobel(gray.astype(np.float64), cv2.CV_64F, 1, 0, ksize=3)
    sobel_y = cv2.Sobel(gray.astype(np.float64), cv2.CV_64F, 0, 1, ksize=3)
    # Vertical edges: horizontal gradient dominates.
    edges = canny & (np.abs(sobel_x) >= np.abs(sobel_y))
    if mask is not None:
        edges &= mask.astype(bool)
    widths = _edge_widths(gray.astype(np.float64), edges)
    h, w = gray.shape
    probabilities = []
    for y in range(0, h - CPBD_BLOCK + 1, CPBD_BLOCK):
        for x in range(0, w - CPBD_BLOCK + 1, CPBD_BLOCK):
            block_edges = edges[y : y + CPBD_BLOCK, x : x + CPBD_BLOCK]
            if block_edges.sum() <= CPBD_EDGE_FRACTION * CPBD_BLOCK * CPBD_BLOCK:
                continue
            block = gray[y : y + CPBD_BLOCK, x : x + CPBD_BLOCK]
            contrast = int(block.max()) - int(block.min())
            jnb = 5.0 if contrast <= 50 else 3.0
            block_widths = widths[y : y + CPBD_BLOCK, x : x + CPBD_BLOCK][block_edges]
            block_widths = block_widths[block_widths > 0]
            probabilities.append(1.0 - np.exp(-((block_widths / jnb) ** CPBD_BETA)))
    if not probabilities:
        return float("nan")
    p = np.concatenate(probabilities)
    return float((p <= CPBD_P_JNB).mean()) if p.size else float("nan")


def flicker(frames: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute frame-to-frame difference inside a static region.

    Args:
        frames: (T, H, W, 3) uint8.
        mask: (H, W) bool, or (T, H, W) bool per frame.
    Returns:
        float, grey levels per frame.
    """
    frames = np.asarray(frames, dtype=np.float32)
    diff = np.abs(np.diff(frames, axis=0)).mean(axis=-1)  # (T-1, H, W)
    region = mask[1:] & mask[:-1] if mask.ndim == 3 else np.broadcast_to(mask, diff.shape)
    return float(diff[region].mean()) if region.any() else float("nan")


def region_mask(points: np.ndarray, indices: tuple[int, ...], size: tuple[int, int], grow: float = 0.0) -> np.ndarray:
    """(H, W) bool convex hull of some landmarks, optionally grown by a fraction."""
    hull_points = points[list(indices), :2].astype(np.float64)
    if grow:
        centre = hull_points.mean(axis=0)
        hull_points = centre + (hull_points - centre) * (1.0 + grow)
    mask = np.zeros(size, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(hull_points).astype(np.int32)), 1)
    return mask.astype(bool)
