"""Lip-sync figures of a generated mouth against a real one (from landmarks).

Both series come from MediaPipe landmarks re-detected on video frames
(``metrics.mouth_opening``: inner-lip gap over inter-ocular distance), so the
same numbers can be computed for any generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .metrics import best_lag_correlation, interocular, pearson

MOUTH_CORNERS = (61, 291)
# Inner-lip gap below which a mouth counts as closed: 5 % of the inter-ocular
# distance, about 3 mm on an adult face (MediaPipe's gap of sealed lips is
# 0-3 %; a relaxed, parted mouth is 6-10 %).
CLOSED_OPENING = 0.05


def mouth_width(points: np.ndarray) -> np.ndarray:
    """Mouth-corner distance over inter-ocular distance, per frame.

    Args:
        points: (T, >=468, >=2) landmarks.
    Returns:
        (T,) float64.
    """
    points = np.asarray(points, dtype=np.float64)
    corners = points[:, MOUTH_CORNERS, :2]
    return np.linalg.norm(corners[:, 0] - corners[:, 1], axis=-1) / interocular(points)


@dataclass(frozen=True)
class LipSync:
    """How a generated mouth follows a real one.

    Attributes:
        r: Pearson r of the openings at lag 0.
        best_r: best r within ±``max_lag`` frames; ``best_lag`` its lag
            (negative: the generated mouth is late, positive: early).
        amplitude_ratio: std of the generated opening over std of the real one.
        silent_closed: share of silent frames (by voice activity on the real
            audio) in which the generated mouth is closed; NaN without silence.
        silent_frames: how many frames were silent.
        width_std: std over time of the generated mouth width (inter-ocular units).
        real_width_std: the same for the real mouth.
    """

    r: float
    best_r: float
    best_lag: int
    amplitude_ratio: float
    silent_closed: float
    silent_frames: int
    width_std: float
    real_width_std: float

    def as_dict(self) -> dict:
        return asdict(self)


def lip_sync(opening: np.ndarray, real_opening: np.ndarray, width: np.ndarray, real_width: np.ndarray,
             speech: np.ndarray | None = None, max_lag: int = 2) -> LipSync:
    """Compare generated and real mouth series of the same length T.

    Args:
        opening, real_opening: (T,) mouth openings (NaN-free).
        width, real_width: (T,) mouth widths.
        speech: (T,) bool voice activity of the real audio, or None.
        max_lag: lag search in frames.
    """
    best_r, lag = best_lag_correlation(opening, real_opening, max_lag)
    real_std = float(np.std(real_opening))
    silent_closed, silent = float("nan"), 0
    if speech is not None:
        quiet = ~np.asarray(speech, dtype=bool)
        silent = int(quiet.sum())
        if silent:
            silent_closed = float((opening[quiet] < CLOSED_OPENING).mean())
    return LipSync(
        r=pearson(opening, real_opening),
        best_r=best_r,
        best_lag=lag,
        amplitude_ratio=float(np.std(opening)) / real_std if real_std > 0 else float("nan"),
        silent_closed=silent_closed,
        silent_frames=silent,
        width_std=float(np.std(width)),
        real_width_std=float(np.std(real_width)),
    )
