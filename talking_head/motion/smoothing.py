"""Raised-cosine temporal smoothing, equations (4)-(5) of Lv et al. (2022).

For target frame i and half-window l, frame p in [i - l, i + l] gets weight

    w_p = 1/2 (1 - cos(pi (p - (i - l - 1)) / (l + 1)))

and b'_i = sum_p w_p b_p / sum_p w_p. Near the ends the window shrinks
symmetrically: frame i uses l_i = min(l, i, T - 1 - i), so the first and last
frames are left as they are (l = 0 gives weight 1 on the frame itself).
"""

from __future__ import annotations

import numpy as np


def raised_cosine_weights(half_window: int) -> np.ndarray:
    """Normalised weights of one window.

    Args:
        half_window: l >= 0.
    Returns:
        (2l + 1,) float64 summing to 1, symmetric, peak at the centre.
    """
    if half_window < 0:
        raise ValueError(f"half_window must be >= 0, got {half_window}")
    k = np.arange(1, 2 * half_window + 2)  # p - (i - l - 1) for p = i - l .. i + l
    weights = 0.5 * (1.0 - np.cos(np.pi * k / (half_window + 1)))
    return weights / weights.sum()


def smooth(signal: np.ndarray, half_window: int) -> np.ndarray:
    """Smooth a per-frame signal along its first axis.

    Vectorised: one pass per window size (at most l + 1 passes), no loop over
    frames.

    Args:
        signal: (T, ...) float array.
        half_window: l >= 0; 0 returns a copy.
    Returns:
        (T, ...) float64, smoothed.
    """
    signal = np.asarray(signal, dtype=np.float64)
    frames = signal.shape[0]
    out = signal.copy()
    if half_window == 0 or frames < 3:
        return out
    index = np.arange(frames)
    local = np.minimum(np.minimum(index, frames - 1 - index), half_window)
    flat = signal.reshape(frames, -1)
    result = out.reshape(frames, -1)
    for size in range(1, half_window + 1):
        targets = index[local == size]
        if targets.size == 0:
            continue
        weights = raised_cosine_weights(size)
        # (n, 2*size+1) frame indices of each target's window.
        window = targets[:, None] + np.arange(-size, size + 1)[None, :]
        result[targets] = np.einsum("nw,nwc->nc", np.broadcast_to(weights, window.shape), flat[window])
    return result.reshape(signal.shape)
