"""Augmentation of real recordings."""

from __future__ import annotations

import numpy as np

from talking_head.train.augment import augment_real, quantise, telephone


def tone_mix(sr: int = 16000) -> np.ndarray:
    t = np.arange(sr) / sr
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)


def band_energy(x: np.ndarray, lo: float, hi: float, sr: int = 16000) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_telephone_keeps_the_voice_band_and_removes_the_top():
    x = tone_mix()
    y = telephone(x, 16000)
    assert y.shape == x.shape and y.dtype == np.float32
    assert band_energy(y, 250, 350) > 0.5 * band_energy(x, 250, 350)
    assert band_energy(y, 5500, 6500) < 0.01 * band_energy(x, 5500, 6500)


def test_quantise_has_few_levels():
    y = quantise(tone_mix(), 4)
    assert len(np.unique(y)) <= 17


def test_augment_real_is_seeded_bounded_and_same_length():
    x = tone_mix()
    a = augment_real(x, 16000, np.random.default_rng(3))
    b = augment_real(x, 16000, np.random.default_rng(3))
    assert a.shape == x.shape and np.array_equal(a, b)
    assert np.abs(a).max() <= 1.0
    assert not np.allclose(a, x)
