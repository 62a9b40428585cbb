"""Saccade track: seeded, bounded, mostly horizontal, brief jumps every 1-3 s,
none during deep blinks, off with no head motion or with --no-gaze."""

from dataclasses import replace

import numpy as np
import pytest

from talking_head.motion.blink import blink_track
from talking_head.motion.gaze import SaccadeModel, saccade_track

FPS = 25.0


def jumps(track: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) of every jump: frames first + 1 .. last differ from the frame before."""
    moving = np.concatenate([[False], np.any(np.diff(track, axis=0) != 0, axis=1), [False]])
    edges = np.flatnonzero(np.diff(moving.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def test_shape_seeding_and_bounds():
    track = saccade_track(3000, FPS, seed=4)
    assert track.shape == (3000, 2) and np.all(track[0] == 0.0)
    np.testing.assert_array_equal(track, saccade_track(3000, FPS, seed=4))
    assert not np.array_equal(track, saccade_track(3000, FPS, seed=5))
    limit = np.array(SaccadeModel().limit)
    assert np.all(np.abs(track) <= limit + 1e-12)
    assert np.all(np.abs(saccade_track(3000, FPS, seed=4, amplitude=2.0)) <= limit + 1e-12)
    # Mostly horizontal, and small: a glance is a fraction of the eye width.
    assert track[:, 0].std() > 2.0 * track[:, 1].std()
    assert 0.02 < np.abs(track[:, 0]).max() <= 0.1


def test_brief_jumps_every_one_to_three_seconds():
    track = saccade_track(int(600 * FPS), FPS, seed=1)
    spans = jumps(track)
    starts = np.array([first for first, _ in spans]) / FPS
    intervals = np.diff(starts)
    assert 1.0 - 0.1 <= intervals.min() and intervals.max() <= 3.0 + 0.2
    # 30-60 ms: at 25 fps a jump is over 90 % done within two frame steps
    # (its first and last frames may lie a hair off its start and end).
    for first, last in spans:
        assert last - first <= 4
        step = np.abs(np.diff(track[first: last + 1, 0]))
        assert np.sort(step)[-2:].sum() >= 0.9 * step.sum()
    # Glances away alternate with returns towards the centre.
    held = track[[last for _, last in spans]]
    away, back = np.abs(held[0::2, 0]).mean(), np.abs(held[1::2, 0]).mean()
    assert back < 0.5 * away


def test_none_while_a_blink_is_deep():
    closure = blink_track(int(300 * FPS), FPS, seed=2)
    track = saccade_track(len(closure), FPS, seed=3, closure=closure)
    # Frames first + 1 .. last differ from the one before them.
    for first, last in jumps(track):
        assert np.all(closure[first + 1: last + 1] <= SaccadeModel().blink_deep)
    assert len(jumps(track)) > 100


def test_zero_amplitude_and_bad_input():
    assert not saccade_track(500, FPS, amplitude=0.0).any()
    assert saccade_track(0, FPS).shape == (0, 2)
    with pytest.raises(ValueError):
        saccade_track(10, 0.0)


def test_pipeline_gaze_follows_head_motion_and_its_option(pipeline):
    moving = replace(pipeline.config, head_motion=1.0, seed=3)
    gaze = pipeline.gaze(250, moving)
    assert gaze.shape == (250, 2) and np.abs(gaze).max() > 0
    np.testing.assert_array_equal(gaze, pipeline.gaze(250, moving))
    # The still output stays as it was: no gaze without head motion, nor when turned off.
    assert pipeline.gaze(250, replace(moving, head_motion=0.0)) is None
    assert pipeline.gaze(250, replace(moving, gaze=False)) is None
