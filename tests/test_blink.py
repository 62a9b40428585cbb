"""Blinks: seeded, human rate and durations, full closure, asymmetric profile,
applied to both eyes before smoothing, off when disabled."""

import wave

import numpy as np
import pytest

from talking_head.config import GenerationConfig
from talking_head.media import load_image
from talking_head.motion.blink import (
    BlinkModel,
    apply_blinks,
    blink_events,
    blink_profile,
    blink_track,
)
from talking_head.pipeline import TalkingHeadPipeline

FPS = 25.0


def runs(track: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) frame of every run of nonzero values."""
    active = np.concatenate([[False], track > 0, [False]])
    edges = np.flatnonzero(np.diff(active.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def test_same_seed_same_blinks():
    a = blink_track(3000, FPS, seed=7)
    np.testing.assert_array_equal(a, blink_track(3000, FPS, seed=7))
    assert not np.array_equal(a, blink_track(3000, FPS, seed=8))
    # A longer video with the same seed starts with the same blinks.
    longer = blink_track(6000, FPS, seed=7)
    last_end = runs(a)[-1][1]
    np.testing.assert_array_equal(longer[:last_end], a[:last_end])


def test_rate_is_human_over_an_hour():
    track = blink_track(int(3600 * FPS), FPS, seed=0)
    per_minute = len(runs(track)) / 60.0
    # Conversational spontaneous blinking: 10.5-32.5 per minute (Doughty 2001).
    assert 10.5 <= per_minute <= 32.5
    assert abs(per_minute - BlinkModel().rate_per_min) < 2.0
    for rate in (10.0, 30.0):
        events = blink_events(3600.0, FPS, seed=1, model=BlinkModel(rate_per_min=rate))
        assert abs(len(events) / 60.0 - rate) < 0.1 * rate


def test_intervals_are_skewed_and_durations_human():
    events = blink_events(3600.0, FPS, seed=2)
    starts = np.array([b.start for b in events])
    intervals = np.diff(starts)
    assert np.median(intervals) < intervals.mean()  # right-skewed
    assert 0.4 < intervals.std() / intervals.mean() < 1.0
    ends = np.array([b.end for b in events])
    assert (starts[1:] - ends[:-1]).min() >= BlinkModel().min_gap - 1e-9
    durations = np.array([b.duration for b in events])
    assert durations.min() >= 0.1 and durations.max() <= 0.4 + 1e-9
    assert 0.2 < durations.mean() < 0.35
    # Closing is faster than opening, every time.
    assert all(b.close < b.open for b in events)


def test_every_blink_closes_fully_in_the_track():
    track = blink_track(int(600 * FPS), FPS, seed=3)
    assert track.min() == 0.0 and track.max() == 1.0
    spans = runs(track)
    assert len(spans) > 100
    for first, last in spans:
        segment = track[first:last]
        assert segment.max() == 1.0
        assert 2 <= last - first <= int(0.4 * FPS) + 2  # 0.1-0.4 s at 25 fps
        peak = int(np.argmax(segment))
        # Asymmetric: fewer frames closing than opening.
        assert peak <= len(segment) - 1 - peak


def test_profile_shape():
    (blink,) = blink_events(2.0, 1000.0, seed=0, model=BlinkModel(rate_per_min=40.0))[:1]
    t = np.linspace(blink.start - 0.05, blink.end + 0.05, 2001)
    p = blink_profile(t, blink)
    assert p.min() == 0.0 and p.max() == 1.0
    assert np.all(p[t <= blink.start] == 0.0) and np.all(p[t >= blink.end] == 0.0)
    closing = (t > blink.start) & (t < blink.shut)
    opening = (t > blink.shut + blink.hold) & (t < blink.end)
    assert np.all(np.diff(p[closing]) >= 0) and np.all(np.diff(p[opening]) <= 0)
    # Peak lid speed: closing ~1.5x faster than opening (Sforza et al. 2008: 40-47 %).
    speed = np.abs(np.diff(p)) / np.diff(t)
    ratio = speed[closing[1:]].max() / speed[opening[1:]].max()
    assert 1.2 < ratio < 2.0


def test_apply_blinks_moves_both_eyes_towards_closed():
    names = ("jawOpen", "eyeBlink_L", "eyeBlink_R")
    coeffs = np.tile([0.3, 0.2, 0.0], (5, 1))
    track = np.array([0.0, 0.5, 1.0, 0.25, 0.0])
    out = apply_blinks(coeffs, names, track)
    np.testing.assert_allclose(out[:, 0], 0.3)
    np.testing.assert_allclose(out[:, 1], 0.2 + 0.8 * track)
    np.testing.assert_allclose(out[:, 2], track)
    np.testing.assert_array_equal(apply_blinks(coeffs, names, np.zeros(5)), coeffs)
    with pytest.raises(ValueError):
        apply_blinks(coeffs, names, np.zeros(4))


def test_short_videos_and_bad_input():
    assert blink_track(0, FPS).shape == (0,)
    assert not blink_track(5, FPS).any()  # 0.2 s: no room for a whole blink
    with pytest.raises(ValueError):
        blink_events(10.0, 0.0)
    with pytest.raises(ValueError):
        BlinkModel(rate_per_min=0.0)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """12 s of a tone as WAV (the network is replaced below; only the length matters)."""
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    rate = 16000
    t = np.arange(12 * rate) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@pytest.mark.parametrize("blink", [True, False])
def test_generate_blinks_and_not_when_disabled(blink, speech, astronaut, tmp_path):
    config = GenerationConfig(size=64, texture_size=128, blink=blink, blink_seed=5, smoothing=0)
    pipeline = TalkingHeadPipeline(config)
    # The driver is not under test: the mouth keeps the photo's expression.
    from talking_head.audio.features import frame_count
    from talking_head.drivers import DriverOutput

    pipeline.drive = lambda clip, base, transcript=None, progress=None, config=None: DriverOutput(
        np.tile(base, (frame_count(clip.duration, FPS), 1)))
    try:
        result = pipeline.generate(load_image(astronaut), str(speech), str(tmp_path / "out.mp4"))
    finally:
        pipeline.close()
    track = result.coefficients
    columns = [track.names.index("eyeBlink_L"), track.names.index("eyeBlink_R")]
    expected = blink_track(track.frames, FPS, seed=5) if blink else np.zeros(track.frames)
    if blink:
        assert expected.max() == 1.0  # the seed gives blinks in 12 s
    base = track.raw[:, columns]
    np.testing.assert_allclose(track.final[:, columns], base + (1.0 - base) * expected[:, None], atol=1e-12)
    assert np.ptp(base, axis=0).max() == 0.0  # raw is the prediction, without blinks


def test_rendered_blink_closes_the_eye_as_mediapipe_sees_it(pipeline, asset, detector):
    """A blink at its deepest leaves <= 0.3 of the open eye (real blinks: 0.12-0.25)."""
    from talking_head.eval.headmotion import eye_opening

    names = list(pipeline.rig.names)
    animator = pipeline.animator(asset)
    open_coeffs = asset.reconstruction.expression.copy()
    shut = open_coeffs.copy()
    shut[[names.index("eyeBlink_L"), names.index("eyeBlink_R")]] = 1.0
    opened = eye_opening(detector.detect_all(animator.frame(open_coeffs).rgb)[0][None])[0]
    closed = eye_opening(detector.detect_all(animator.frame(shut).rgb)[0][None])[0]
    assert (closed / opened).mean() <= 0.3, closed / opened


def test_smoothing_does_not_weaken_blinks(pipeline):
    from talking_head.config import GenerationConfig

    names = list(pipeline.rig.names)
    raw = np.zeros((250, len(names)))
    final = pipeline.motion(raw, GenerationConfig(smoothing=4, blink_seed=3))
    track = blink_track(250, 25.0, 3)
    assert track.max() == 1.0
    np.testing.assert_allclose(final[:, names.index("eyeBlink_L")], np.clip(track, 0, 1))
