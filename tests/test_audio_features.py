"""MFCC windows: frame rule, alignment, streaming = batch, and the MFCC maths
against a slow per-frame reference built from SciPy's DCT."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft

from talking_head.audio import (
    AudioClip,
    FeatureConfig,
    feature_count,
    feature_windows,
    frame_count,
    iter_feature_windows,
    mfcc,
    window_indices,
)
from talking_head.audio.features import dct_matrix, hz_to_mel, mel_filterbank

SR = 16000


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(round(seconds * SR))) * 0.1).astype(np.float32)


@pytest.mark.parametrize(
    "duration,fps,expected",
    [
        (1.0, 25, 25),
        (2.02, 25, 51),  # 50.5 rounds half up
        (2.019, 25, 50),
        (32320 / 16000, 25, 51),  # the same 2.02 s as a decoded sample count
        (0.5, 30, 15),
        (1.5, 24, 36),
        (3.0, 29.97, 90),  # 89.91
        (0.0, 25, 1),  # never zero frames
        (0.01, 25, 1),
    ],
)
def test_frame_count(duration, fps, expected):
    assert frame_count(duration, fps) == expected


def test_mfcc_shape_and_dtype():
    assert mfcc(noise(1.0), SR).shape == (101, 80)
    assert mfcc(np.zeros(15999, np.float32), SR).shape == (100, 80)
    assert feature_count(16000) == 101
    out = mfcc(noise(0.3), SR)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    with pytest.raises(ValueError, match="44100 Hz"):
        mfcc(noise(0.3), 44100)


@pytest.mark.parametrize("seconds,fps", [(1.0, 25), (2.02, 25), (0.5, 30), (0.93, 29.97)])
def test_windows_shape_and_indices(seconds, fps):
    samples = noise(seconds)
    frames = mfcc(samples, SR)
    n = frame_count(samples.size / SR, fps)
    windows = feature_windows(frames, n, fps)
    assert windows.shape == (n, 16, 80) and windows.dtype == np.float32
    # Reference: a loop over frames with the rule written out.
    for i in range(n):
        k = math.ceil(round((i + 0.5) / fps * 100, 6))
        rows = [min(max(k + r, 0), frames.shape[0] - 1) for r in range(-8, 8)]
        np.testing.assert_array_equal(windows[i], frames[rows])
    # Clamped at both ends: the first rows repeat feature frame 0, the last
    # rows of the last window repeat the final feature frame.
    np.testing.assert_array_equal(windows[0, 0], frames[0])
    if seconds == 0.5:
        np.testing.assert_array_equal(windows[-1, -1], frames[-1])


@pytest.mark.parametrize("fps,offset", [(25, 0.0), (25, 0.3), (30, 0.0), (30, -0.3), (24, 0.25), (25, -0.35)])
def test_click_lands_in_the_centre_of_its_frame(fps, offset):
    # A click at time T, in silence, peaks in the middle rows (7, 8) of the
    # window of the frame round(T * fps - 0.5) when T is that frame's centre,
    # and off-centre by exactly its time offset otherwise; no other window
    # holds it nearer to its centre.
    target = 17
    click_time = (target + 0.5 + offset) / fps
    samples = np.zeros(int(1.5 * SR), np.float32)
    samples[int(round(click_time * SR))] = 0.9
    windows = feature_windows(mfcc(samples, SR), frame_count(1.5, fps), fps)
    energy = windows[:, :, 0]  # c0 is proportional to the mean log-mel energy
    expected = round(click_time * fps - 0.5)
    assert expected == target
    peak_rows = np.argmax(energy, axis=1)
    assert abs(peak_rows[expected] - (7.5 + offset / fps * 100)) <= 1.0
    if offset == 0.0:
        assert peak_rows[expected] in (7, 8)
        assert int(np.argmax(np.diff(energy[expected]))) + 1 in (7, 8)  # the jump into the click
    holds_click = energy.max(axis=1) > energy.min() + 1.0
    distance = np.where(holds_click, np.abs(peak_rows - 7.5), np.inf)
    assert int(np.argmin(distance)) == expected
    assert np.count_nonzero(distance == distance.min()) == 1


@pytest.mark.parametrize(
    "seconds,fps,chunk", [(12.3, 25, 250), (12.3, 25, 37), (6.01, 30, 1), (7.77, 29.97, 100)]
)
def test_streaming_equals_batch_exactly(seconds, fps, chunk):
    clip = AudioClip(noise(seconds, seed=3), SR)
    batch = feature_windows(mfcc(clip.samples, SR), frame_count(clip.duration, fps), fps)
    parts = list(iter_feature_windows(clip, fps, chunk_frames=chunk))
    assert all(part.shape[0] <= chunk for part in parts)
    assert all(part.shape[0] == chunk for part in parts[:-1])
    np.testing.assert_array_equal(np.concatenate(parts), batch)


def test_mel_filterbank_hand_check():
    bank = mel_filterbank(SR, 512, 80, fmin=20.0)
    assert bank.shape == (80, 257)
    assert (bank.sum(axis=1) > 0).all()  # no empty filter at 31.25 Hz bins
    assert bank.max() <= 1.0 and bank.min() >= 0.0
    peaks = np.argmax(bank, axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]
    centres = np.sum(bank * np.arange(257), axis=1) / bank.sum(axis=1)  # centroids
    assert (np.diff(centres) > 0).all()
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # HTK scale anchor
    # A 1 kHz tone lights the filter centred near 1 kHz.
    t = np.arange(SR) / SR
    spectrum = np.abs(np.fft.rfft(np.sin(2 * np.pi * 1000 * t)[:512] * np.hanning(512))) ** 2
    hz = centres[np.argmax(bank @ spectrum)] * SR / 512
    assert abs(hz - 1000) < 60


def test_dct_is_orthonormal_and_matches_scipy():
    dct = dct_matrix(80, 80)
    np.testing.assert_allclose(dct @ dct.T, np.eye(80), atol=1e-12)
    np.testing.assert_allclose(dct, scipy.fft.dct(np.eye(80), norm="ortho", axis=0), atol=1e-12)


def test_mfcc_matches_slow_reference():
    config = FeatureConfig()
    samples = noise(0.37, seed=5).astype(np.float64)
    samples[2000:3000] *= 5.0
    hop, win = 160, 400
    emphasised = np.append(samples[0], samples[1:] - 0.97 * samples[:-1])
    padded = np.concatenate([np.zeros(win // 2), emphasised, np.zeros(win // 2)])
    hann = np.hanning(win + 1)[:-1]
    bank = mel_filterbank(SR, 512, 80, 20.0)
    expected = []
    for k in range(1 + samples.size // hop):
        frame = padded[k * hop : k * hop + win] * hann
        power = np.abs(np.fft.rfft(frame, 512)) ** 2
        expected.append(scipy.fft.dct(np.log(np.maximum(bank @ power, 1e-10)), norm="ortho"))
    actual = mfcc(samples.astype(np.float32), SR, config)
    np.testing.assert_allclose(actual, np.array(expected), rtol=1e-4, atol=1e-3)
