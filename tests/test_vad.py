"""Voice activity (silero-vad from its wheel) on a real recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talking_head.audio import vad
from talking_head.audio.decode import decode_audio

CLIP = Path(__file__).parent / "data" / "librivox_0930.flac"


@pytest.fixture(scope="module")
def padded() -> np.ndarray:
    """1 s of digital silence, the 3.3 s clip, 1 s of silence."""
    speech = decode_audio(CLIP).samples
    pad = np.zeros(16000, np.float32)
    return np.concatenate([pad, speech, pad])


def test_probability_is_per_window(padded):
    probs = vad.speech_probability(padded)
    assert probs.shape == (-(-len(padded) // vad.WINDOW),) and probs.dtype == np.float32
    assert 0.0 <= probs.min() and probs.max() <= 1.0
    # Streamed state is reset between calls: the same input gives the same output.
    np.testing.assert_array_equal(probs, vad.speech_probability(padded))


def test_speech_found_in_the_clip_and_not_in_the_padding(padded):
    intervals = vad.speech_intervals(padded)
    assert intervals, "no speech found"
    start, end = intervals[0][0], intervals[-1][1]
    # The words run from ~1.3 s to ~4.0 s (the clip has ~0.3 s of silence at each end).
    assert 1.0 < start < 1.5 and 3.7 < end < 4.4
    covered = sum(e - s for s, e in intervals)
    assert covered > 0.85 * (end - start)  # one phrase: no pause inside it is long enough to close


def test_speech_mask_frames(padded):
    fps = 25.0
    n = int(len(padded) / 16000 * fps)
    mask = vad.speech_mask(padded, n, fps)
    assert mask.shape == (n,) and mask.dtype == bool
    assert not mask[:20].any() and not mask[-20:].any()
    assert mask[40:90].all()


def test_no_speech_in_low_white_noise_or_hum():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(3 * 16000) * 0.01).astype(np.float32)  # -40 dBFS
    assert vad.speech_intervals(noise) == ()
    t = np.arange(3 * 16000) / 16000
    hum = (0.05 * np.sin(2 * np.pi * 50 * t) + 0.02 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    assert vad.speech_intervals(hum) == ()


def test_other_sample_rates_are_resampled(padded):
    from scipy.signal import resample_poly

    at_8k = resample_poly(padded, 1, 2).astype(np.float32)
    assert len(vad.speech_probability(at_8k, 8000)) == len(vad.speech_probability(padded))
    assert vad.speech_intervals(at_8k, 8000)


def test_interval_rules():
    step = vad.WINDOW / vad.SAMPLE_RATE
    probs = np.zeros(100, np.float32)
    probs[10:30] = 0.9  # speech
    probs[30:33] = 0.0  # a 96 ms gap: filled
    probs[33:50] = 0.9
    probs[80:81] = 0.9  # a 32 ms click: dropped
    out = vad.intervals_from_probability(probs, pad=0.0)
    np.testing.assert_allclose(out, [(10 * step, 50 * step)])
    assert vad.intervals_to_mask([(0.1, 0.2)], 10, 25.0).tolist() == [False, False, True, True, True] + [False] * 5
