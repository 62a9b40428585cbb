"""Audio augmentation for real recordings (laptop microphones, calls, rooms).

``augment_real`` = a random codec (telephone band + mu-law, or coarse
quantisation, or none) followed by ``synth.augment_audio`` (room, band
limit, level, background noise, noise floor). Timing is unchanged, so the
targets of the clean clip still hold.
"""

from __future__ import annotations

import numpy as np

from .synth import Augmentation, augment_audio

# Real recordings already carry a room and some noise: a little less of both than for synthetic voices.
REAL = Augmentation(noise_prob=0.6, snr_db=(5.0, 35.0), reverb_prob=0.3, filter_prob=0.5)


def telephone(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """8 kHz round trip with 8-bit mu-law (G.711-like): (N,) float32 -> (N,) float32."""
    from scipy.signal import resample_poly

    narrow = resample_poly(samples.astype(np.float64), 8000, sample_rate)
    mu = 255.0
    coded = np.sign(narrow) * np.log1p(mu * np.minimum(np.abs(narrow), 1.0)) / np.log1p(mu)
    coded = np.round(coded * 127.0) / 127.0
    decoded = np.sign(coded) * ((1.0 + mu) ** np.abs(coded) - 1.0) / mu
    out = resample_poly(decoded, sample_rate, 8000)[: len(samples)]
    return np.pad(out, (0, len(samples) - len(out))).astype(np.float32)


def quantise(samples: np.ndarray, bits: int) -> np.ndarray:
    """Uniform quantisation to ``bits`` bits after peak normalisation (cheap recorders)."""
    peak = max(float(np.abs(samples).max()), 1e-9)
    steps = 2 ** (bits - 1)
    return (np.round(samples / peak * steps) / steps * peak).astype(np.float32)


def augment_real(samples: np.ndarray, sample_rate: int, rng: np.random.Generator,
                 codec_prob: float = 0.3, config: Augmentation = REAL) -> np.ndarray:
    """Codec (with ``codec_prob``), then room, band, level and noise.

    Args:
        samples: (N,) float32 speech at ``sample_rate``.
    Returns:
        (N,) float32 in [-1, 1].
    """
    x = samples.astype(np.float32)
    if rng.random() < codec_prob:
        x = telephone(x, sample_rate) if rng.random() < 0.7 else quantise(x, int(rng.integers(8, 11)))
    return augment_audio(x, sample_rate, rng, config)
