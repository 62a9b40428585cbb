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


def fill_gaps(series: np.ndarray) -> np.ndarray:
    """Interpolate over NaN gaps (frames without a detected face).

    Args:
        series: (T,) float with NaN where nothing was measured.
    Returns:
        (T,) the same series, gaps filled linearly (ends held); unchanged when
        it has no NaN or nothing but NaN.
    """
    good = np.isfinite(series)
    if good.all() or not good.any():
        return series
    index = np.arange(len(series))
    return np.interp(index, index[good], series[good])


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
# The published metric as its reference implementation computes it (PyPI `cpbd`
# 1.0.7, the Python port of the authors' MATLAB code): Canny edges (scikit-image
# defaults) choose the 64x64 edge blocks; widths are measured at thinned
# vertical Sobel edges (Octave's `edge(..., 'sobel')`) along rows (Marziliano);
# the share of edge widths whose blur probability rounds to <= 0.63 is CPBD.
CPBD_BLOCK = 64
CPBD_EDGE_FRACTION = 0.002  # a block is an edge block above this share of Canny edge pixels
CPBD_BETA = 3.6
CPBD_MAX_WALK = 100  # the reference walks at most 100 steps each side of an edge


def _vertical_sobel_edges(gray: np.ndarray) -> np.ndarray:
    """Thinned vertical Sobel edges with Octave's automatic threshold.

    As in the reference, the squared strength is compared with twice the root
    of its mean (Octave compares like with like; the reference does not, and we
    follow the reference so the numbers match).

    Args:
        gray: (H, W) float64.
    Returns:
        (H, W) bool.
    """
    from scipy.ndimage import convolve

    kernel = np.array([[0.25, 0.5, 0.25], [0.0, 0.0, 0.0], [-0.25, -0.5, -0.25]])
    kernel /= np.abs(kernel).sum()
    strength = np.square(convolve(gray, kernel.T))
    strength[strength <= 2 * np.sqrt(strength.mean())] = 0
    padded_x = np.pad(strength, ((0, 0), (1, 1)))
    padded_y = np.pad(strength, ((1, 1), (0, 0)))
    across_x = (strength > padded_x[:, :-2]) & (strength > padded_x[:, 2:])
    across_y = (strength > padded_y[:-2]) & (strength > padded_y[2:])
    return across_x | across_y


def _runs(steps: np.ndarray, forward: bool) -> np.ndarray:
    """Length of the run of True ending (forward=False) or starting (True) at each element, per row.

    Args:
        steps: (H, N) bool.
    Returns:
        (H, N) int64.
    """
    if forward:
        return _runs(steps[:, ::-1], False)[:, ::-1]
    index = np.arange(steps.shape[1])
    last_false = np.maximum.accumulate(np.where(steps, -1, index), axis=1)
    return np.where(steps, index - last_false, 0)


def _edge_widths(gray: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Marziliano widths at vertical edges, as the reference measures them.

    At an edge pixel whose gradient (``np.gradient``) points along the row
    (quantised angle 0 or 180 degrees), the width is 2 plus the number of
    strictly monotonic steps in the gradient's direction that continue, left
    of the pixel's left neighbour and right of its right neighbour (at most
    100 each side). Pixels on the image border get no width.

    Args:
        gray: (H, W) float64.
        edges: (H, W) bool edge pixels.
    Returns:
        (H, W) float64 widths (0 off edges).
    """
    h, w = gray.shape
    gradient_y, gradient_x = np.gradient(gray)
    with np.errstate(invalid="ignore"):
        angles = np.where(gradient_x != 0, np.arctan2(gradient_y, gradient_x) * (180 / np.pi), 0.0)
    # The reference's one special case for a zero horizontal gradient.
    angles[(gradient_x == 0) & (gradient_y == np.pi / 2)] = 90.0
    widths = np.zeros((h, w))
    if not np.any(angles):
        return widths
    quantized = 45 * np.round(angles / 45)
    inner = np.zeros((h, w), bool)
    inner[1:-1, 1:-1] = edges[1:-1, 1:-1]
    steps = np.diff(gray, axis=1)  # (H, W-1): steps[:, k] = g[k+1] - g[k]
    for rising, chosen in ((True, quantized == 0), (False, np.abs(quantized) == 180)):
        monotone = steps > 0 if rising else steps < 0
        left_runs = _runs(monotone, forward=False)  # run ending at step k
        right_runs = _runs(monotone, forward=True)  # run starting at step k
        # Column c looks at steps c-2, c-3, ... to the left and c+1, c+2, ... to the right.
        left = np.zeros((h, w), np.int64)
        left[:, 2:] = left_runs[:, : w - 2]
        right = np.zeros((h, w), np.int64)
        right[:, : w - 2] = right_runs[:, 1:]
        total = np.minimum(left, CPBD_MAX_WALK) + np.minimum(right, CPBD_MAX_WALK) + 2
        use = inner & chosen
        widths[use] = total[use]
    return widths


def cpbd(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Cumulative probability of blur detection (Narvekar & Karam 2011): higher is sharper, in [0, 1].

    Matches the reference implementation (PyPI `cpbd` 1.0.7) to floating-point
    rounding; tests pin its values. Per 64x64 block with more than 0.2% Canny
    edge pixels, each width w gets P_blur = 1 - exp(-(w / w_JNB)^3.6), with
    w_JNB = 5 for block contrast <= 50 grey levels and 3 above; CPBD is the
    share of widths whose P_blur, rounded to a percent, is <= 63%.

    Args:
        image: (H, W) or (H, W, 3) uint8 (RGB is converted to grey as BT.601
            luma, as cv2/PIL do).
        mask: optional (H, W) bool; an extension of the published metric: only
            edges inside it count. Leave None for the published number.
    Returns:
        float in [0, 1]; 0 where no block has edges (as the reference).
    """
    from skimage.feature import canny

    grey = image if image.ndim == 2 else cv2.cvtColor(np.asarray(image, np.uint8), cv2.COLOR_RGB2GRAY)
    grey = np.asarray(grey, dtype=np.float64)
    canny_edges = canny(grey)
    widths = _edge_widths(grey, _vertical_sobel_edges(grey))
    if mask is not None:
        canny_edges &= mask.astype(bool)
        widths = np.where(mask, widths, 0.0)
    h, w = grey.shape
    hb, wb = h // CPBD_BLOCK, w // CPBD_BLOCK
    if hb == 0 or wb == 0:
        return 0.0

    def blocks(array: np.ndarray) -> np.ndarray:
        """(hb*wb, B*B) view of the whole blocks."""
        cut = array[: hb * CPBD_BLOCK, : wb * CPBD_BLOCK]
        return cut.reshape(hb, CPBD_BLOCK, wb, CPBD_BLOCK).swapaxes(1, 2).reshape(hb * wb, -1)

    block_grey = blocks(grey)
    is_edge_block = np.count_nonzero(blocks(canny_edges), axis=1) > CPBD_BLOCK * CPBD_BLOCK * CPBD_EDGE_FRACTION
    contrast = (block_grey.max(axis=1) - block_grey.min(axis=1)).astype(np.int64)
    jnb = np.where(contrast <= 50, 5.0, 3.0)
    block_widths = blocks(widths)
    chosen = is_edge_block[:, None] & (block_widths != 0)
    if not chosen.any():
        return 0.0
    ratio = (block_widths / jnb[:, None])[chosen]
    probability = 1 - np.exp(-np.abs(ratio) ** CPBD_BETA)
    # The reference histograms round(100 P) (half to even) and sums buckets 0..63.
    return float((np.round(probability * 100) <= 63).mean())


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
