"""The generated head-pose track: shape, bounds, seeding, stillness, speech relation."""

import numpy as np
import pytest

from talking_head.face.pose import euler_angles
from talking_head.motion.headpose import (
    LIMITS,
    brow_track,
    delta_rotation,
    head_pose_track,
    phrase_start_frames,
    speech_activity,
)

FPS = 25.0


def speech_level(seconds: float = 8.0, pause: tuple[float, float] = (3.0, 5.0), seed: int = 0) -> np.ndarray:
    """(T,) dB: syllables at ~4 Hz with loud and soft ones, a silent pause in between."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    level = -25.0 + 8.0 * np.sin(2 * np.pi * 4.0 * t) + rng.normal(0, 2, len(t))
    level[(t >= pause[0]) & (t < pause[1])] = -90.0
    return level


def test_shape_and_bounds():
    track = head_pose_track(speech_level(), FPS, amount=2.0, seed=3)
    assert track.shape == (200, 5)
    assert np.isfinite(track).all()
    assert (np.abs(track) <= LIMITS + 1e-9).all()


def test_still_mode_is_all_zeros():
    assert not head_pose_track(speech_level(), FPS, amount=0.0).any()
    assert not brow_track(speech_level(), FPS, amount=0.0).any()


def test_seed_controls_the_random_parts():
    level = speech_level()
    a, b = head_pose_track(level, FPS, seed=1), head_pose_track(level, FPS, seed=1)
    c = head_pose_track(level, FPS, seed=2)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.5


def test_amount_scales_the_motion():
    level = speech_level()
    small, natural = head_pose_track(level, FPS, 0.5, seed=4), head_pose_track(level, FPS, 1.0, seed=4)
    assert 0.35 < small[:, :3].std() / natural[:, :3].std() < 0.65


def test_rejects_out_of_range_amounts():
    with pytest.raises(ValueError):
        head_pose_track(speech_level(), FPS, amount=2.5)


def test_natural_amplitude_is_in_the_range_of_real_speakers():
    # Real talking clips (tools/measure_head_motion.py, 8 s windows): yaw std
    # 0.9-5.5 deg, pitch 1.4-5.3, roll 0.7-4.5. Averaged over seeds.
    stds = np.mean([head_pose_track(speech_level(seed=s), FPS, seed=s).std(axis=0) for s in range(8)], axis=0)
    assert 1.0 < stds[0] < 6.0 and 1.0 < stds[1] < 6.0 and 0.5 < stds[2] < 4.5


def test_the_head_comes_to_rest_in_a_long_pause():
    level = speech_level(seconds=12.0, pause=(4.0, 10.0))
    speeds = []
    for seed in range(6):
        track = head_pose_track(level, FPS, seed=seed)
        speed = np.abs(np.diff(track[:, :3], axis=0)).sum(axis=1)
        speeds.append((speed[int(7 * FPS): int(10 * FPS)].mean(), speed[int(0.5 * FPS): int(4 * FPS)].mean()))
    pause, talking = np.mean(speeds, axis=0)
    assert pause < 0.35 * talking


def test_phrase_starts_and_activity():
    speech = np.zeros(100, bool)
    speech[10:30] = speech[32:40] = speech[60:80] = True
    assert phrase_start_frames(speech, FPS).tolist() == [10, 60]
    _, envelope = speech_activity(np.zeros(100), FPS, speech)
    assert envelope[20] > 0.95 and envelope[58] < envelope[42]


def test_brows_rise_on_emphasis_within_a_few_millimetres():
    raise_ = brow_track(speech_level(), FPS, seed=0)
    assert 0.1 < raise_.max() <= 0.35  # browInnerUp 1.0 lifts the inner brow 8 mm
    assert raise_[int(3.5 * FPS): int(4.5 * FPS)].max() < 0.05  # not in the pause


@pytest.mark.parametrize("angles", [(10, 0, 0), (0, 8, 0), (0, 0, 6), (8, -5, 4)])
def test_delta_rotation_is_measured_back_as_the_same_angles(angles):
    frontal = np.diag([1.0, -1.0, -1.0])  # a frontal face's pose rotation in image space
    measured = euler_angles(frontal @ delta_rotation(*angles))
    np.testing.assert_allclose(measured, angles, atol=0.6)
