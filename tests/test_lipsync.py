"""Lip-sync figures on series with known answers."""

import numpy as np

from talking_head.eval.lipsync import CLOSED_OPENING, lip_sync, mouth_width


def test_identical_series_are_perfect():
    t = np.arange(100)
    real = 0.2 * np.clip(np.sin(t / 4.0), 0, None)
    width = 0.8 + 0.05 * np.cos(t / 7.0)
    result = lip_sync(real, real, width, width, speech=real > 0)
    assert result.r > 0.999 and result.best_lag == 0
    assert abs(result.amplitude_ratio - 1.0) < 1e-9
    assert result.silent_closed == 1.0 and result.silent_frames == int((real == 0).sum())
    assert result.width_std == result.real_width_std


def test_late_half_size_mouth_open_in_silence():
    t = np.arange(200)
    real = 0.2 * np.clip(np.sin(t / 5.0), 0, None)
    late = 0.5 * np.roll(real, 2) + 0.06  # two frames late, half the motion, never closed
    width = np.full(200, 0.8)
    result = lip_sync(late, real, width, width, speech=real > 0)
    assert result.best_lag == -2 and result.best_r > result.r
    assert abs(result.amplitude_ratio - 0.5) < 0.02
    assert result.silent_closed == 0.0
    assert 0.06 > CLOSED_OPENING


def test_mouth_width_is_scale_free():
    points = np.zeros((1, 478, 3))
    points[0, 33, :2], points[0, 133, :2] = (0, 0), (2, 0)  # right eye centre (1, 0)
    points[0, 263, :2], points[0, 362, :2] = (7, 0), (5, 0)  # left eye centre (6, 0)
    points[0, 61, :2], points[0, 291, :2] = (1, 5), (5, 5)
    np.testing.assert_allclose(mouth_width(points), [4 / 5])
    np.testing.assert_allclose(mouth_width(points * 3), [4 / 5])
