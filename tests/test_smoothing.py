import numpy as np
import pytest

from talking_head.motion.smoothing import raised_cosine_weights, smooth


def reference(signal, l):
    """Equations (4)-(5) written out frame by frame."""
    frames = len(signal)
    out = np.empty_like(signal, dtype=float)
    for i in range(frames):
        li = min(l, i, frames - 1 - i)
        total = 0.0
        acc = np.zeros(signal.shape[1:])
        for p in range(i - li, i + li + 1):
            w = 0.5 * (1 - np.cos(np.pi * (p - (i - li - 1)) / (li + 1)))
            acc = acc + w * signal[p]
            total += w
        out[i] = acc / total
    return out


def test_weights_hand_values():
    assert np.allclose(raised_cosine_weights(0), [1.0])
    # l = 1: w = 1/2 (1 - cos(pi k / 2)), k = 1, 2, 3 -> 0.5, 1, 0.5
    assert np.allclose(raised_cosine_weights(1), np.array([0.5, 1.0, 0.5]) / 2.0)
    w = raised_cosine_weights(4)
    assert np.allclose(w, w[::-1]) and w.argmax() == 4 and np.isclose(w.sum(), 1.0)


@pytest.mark.parametrize("l", [1, 2, 3, 6, 10])
def test_matches_frame_by_frame_reference(l):
    rng = np.random.default_rng(l)
    signal = rng.normal(size=(37, 5))
    assert np.allclose(smooth(signal, l), reference(signal, l))


def test_identity_ends_and_constants():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(20, 3))
    assert np.array_equal(smooth(signal, 0), signal)
    smoothed = smooth(signal, 4)
    assert np.array_equal(smoothed[0], signal[0]) and np.array_equal(smoothed[-1], signal[-1])
    assert np.allclose(smooth(np.full((15, 2), 3.5), 5), 3.5)


def test_reduces_jitter():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 4 * np.pi, 200)
    noisy = np.sin(t) + 0.2 * rng.normal(size=t.size)
    jitter = lambda x: np.abs(np.diff(x, 2)).mean()  # noqa: E731
    assert jitter(smooth(noisy, 3)) < 0.3 * jitter(noisy)


def test_short_and_multidimensional():
    assert np.array_equal(smooth(np.ones((1, 4)), 3), np.ones((1, 4)))
    signal = np.random.default_rng(2).normal(size=(12, 2, 3))
    assert np.allclose(smooth(signal, 2).reshape(12, -1), smooth(signal.reshape(12, -1), 2))
