"""The loudness baseline driver: the jaw opens with the audio's RMS level alone.

It is the comparison AudioNet must beat (issue: lip sync against real
videos); it knows nothing of phonemes, so lips never round, close for p/b/m
or spread.
"""

from __future__ import annotations

import numpy as np

QUIET_DB = -50.0  # at or below: mouth closed
LOUD_DB = -15.0  # at or above: fully open


def frame_rms_db(samples: np.ndarray, sample_rate: int, frames: int, fps: float) -> np.ndarray:
    """RMS level in dB of a two-frame window centred on each video frame.

    Args:
        samples: (N,) float mono audio in [-1, 1].
        frames: number of video frames T.
    Returns:
        (T,) float64 dB (-100 for silence).
    """
    hop = sample_rate / fps
    centres = (np.arange(frames) + 0.5) * hop
    lo = np.clip((centres - hop).astype(int), 0, len(samples))
    hi = np.clip((centres + hop).astype(int), 0, len(samples))
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(samples, dtype=np.float64) ** 2)])
    counts = np.maximum(hi - lo, 1)
    return 10 * np.log10(np.maximum(energy[hi] - energy[lo], 0.0) / counts + 1e-10)


def loudness_track(samples: np.ndarray, sample_rate: int, frames: int, fps: float) -> np.ndarray:
    """Per-frame opening in [0, 1] from the RMS level (see ``frame_rms_db``).

    Returns:
        (T,) float64.
    """
    db = frame_rms_db(samples, sample_rate, frames, fps)
    return np.clip((db - QUIET_DB) / (LOUD_DB - QUIET_DB), 0.0, 1.0)


def loudness_coefficients(opening: np.ndarray, names: tuple[str, ...], base: np.ndarray,
                          driven: tuple[str, ...]) -> np.ndarray:
    """Drive the jaw and lower lip from the opening; the other driven mouth shapes rest.

    Args:
        opening: (T,) in [0, 1].
        names: (K,) rig names.
        base: (K,) the photo's expression (kept for eyes and brows).
        driven: the speech-driven names (set to rest, then jaw and lower lip move).
    Returns:
        (T, K) float64.
    """
    coeffs = np.tile(np.asarray(base, dtype=np.float64), (len(opening), 1))
    coeffs[:, [names.index(n) for n in driven]] = 0.0
    coeffs[:, names.index("jawOpen")] = 0.5 * opening
    coeffs[:, names.index("mouthLowerDown")] = opening
    return coeffs
