"""The paper's audio input: one 16x80 MFCC window per video frame.

MFCC recipe (NumPy only, float64 inside, float32 out):

1. pre-emphasis ``y[n] = x[n] - 0.97 x[n-1]`` for ``0 <= n < N`` (``x[-1] = 0``),
   over the whole signal, so chunked computation gives the same numbers;
2. feature frame ``k`` is centred at ``k * hop`` seconds: 25 ms (400 samples
   at 16 kHz) periodic-Hann window, 10 ms hop (100 frames/s), the signal
   zero-padded by half a window on both sides; ``1 + N // hop`` frames;
3. power spectrum ``|rfft(frame, 512)|^2``;
4. 80 triangular mel filters on the HTK mel scale
   ``mel = 2595 log10(1 + f / 700)`` from 20 Hz to ``sample_rate / 2``, peak 1
   (no area normalisation);
5. natural log with a floor of 1e-10 (digital silence gives ln 1e-10);
6. orthonormal DCT-II, keeping all 80 coefficients.

No per-utterance mean/variance normalisation: the coefficients are absolute,
so the batch and the streaming paths agree exactly without a first pass over
the audio. A network that wants normalised inputs keeps fixed statistics with
its weights.

MFCC frames are computed in blocks of ``BLOCK`` frames on a fixed grid, each
block with the same array shapes, so any frame's value does not depend on how
much audio was processed around it: ``iter_feature_windows`` equals
``feature_windows(mfcc(...))`` bit for bit.

Video frames (see ``frame_count`` and ``window_indices``): the audio's
duration fixes ``n = max(1, round_half_up(duration * fps))`` frames; frame
``i`` is shown at ``t_i = (i + 0.5) / fps`` and gets the 16 feature frames
``k_i - 8 ... k_i + 7`` where ``k_i`` is the first feature frame centred at or
after ``t_i``; indices outside the audio repeat the first or last frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .decode import AudioClip

BLOCK = 512  # MFCC frames per computation block (5.12 s at 10 ms hop)
LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class FeatureConfig:
    """Audio feature parameters (defaults are the paper's input).

    Attributes:
        fps: video frames per second; one window per video frame.
        n_mfcc: cepstral coefficients kept per feature frame.
        window: feature frames per video-frame window.
        hop_ms: feature frame hop (10 ms = 100 feature frames per second).
        win_ms: analysis window length.
        n_mels: mel filters.
        sample_rate: audio rate the features are defined at (Hz).
        n_fft: FFT size (the window is zero-padded to it).
        preemphasis: first-order pre-emphasis coefficient; 0 turns it off.
        fmin: lowest mel filter edge (Hz).
        fmax: highest mel filter edge (Hz); None means sample_rate / 2.
    """

    fps: float = 25.0
    n_mfcc: int = 80
    window: int = 16
    hop_ms: float = 10.0
    win_ms: float = 25.0
    n_mels: int = 80
    sample_rate: int = 16000
    n_fft: int = 512
    preemphasis: float = 0.97
    fmin: float = 20.0
    fmax: float | None = None

    @property
    def hop_length(self) -> int:
        """Hop in samples (160 at 16 kHz)."""
        return _samples(self.hop_ms, self.sample_rate, "hop_ms")

    @property
    def win_length(self) -> int:
        """Window in samples (400 at 16 kHz)."""
        return _samples(self.win_ms, self.sample_rate, "win_ms")

    @property
    def frame_rate(self) -> float:
        """Feature frames per second (100 at a 10 ms hop)."""
        return 1000.0 / self.hop_ms


DEFAULT_CONFIG = FeatureConfig()


def _samples(ms: float, sample_rate: int, name: str) -> int:
    value = ms * sample_rate / 1000.0
    if abs(value - round(value)) > 1e-6 or round(value) < 1:
        raise ValueError(f"{name}={ms} ms is not a whole number of samples at {sample_rate} Hz")
    return int(round(value))


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of ``hz_to_mel``."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters, equally spaced on the HTK mel scale, peak 1.

    Returns:
        (n_mels, n_fft // 2 + 1) float64; filter m rises from edge m to its
        peak at edge m + 1 and falls to edge m + 2 (n_mels + 2 edges in mel).
    """
    fmax = sample_rate / 2.0 if fmax is None else fmax
    if not 0.0 <= fmin < fmax <= sample_rate / 2.0:
        raise ValueError(f"need 0 <= fmin < fmax <= {sample_rate / 2}, got {fmin}, {fmax}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.arange(n_fft // 2 + 1) * (sample_rate / n_fft)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - left) / (centre - left)
    falling = (right - bins[None]) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II rows: (n_out, n_in) float64, ``D @ D.T = I``."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * math.sqrt(2.0 / n_in)
    basis[0] /= math.sqrt(2.0)
    return basis


@lru_cache(maxsize=8)
def _tables(config: FeatureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window (win,), mel filters transposed (bins, mels), DCT transposed (mels, mfcc))."""
    if config.n_fft < config.win_length:
        raise ValueError(f"n_fft={config.n_fft} is shorter than the window ({config.win_length} samples)")
    if config.n_mfcc > config.n_mels:
        raise ValueError(f"n_mfcc={config.n_mfcc} exceeds n_mels={config.n_mels}")
    n = config.win_length
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann
    mel = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)
    dct = dct_matrix(config.n_mfcc, config.n_mels)
    for table in (hann, mel, dct):
        table.setflags(write=False)
    return hann, np.ascontiguousarray(mel.T), np.ascontiguousarray(dct.T)


def feature_count(num_samples: int, config: FeatureConfig = DEFAULT_CONFIG) -> int:
    """MFCC frames for ``num_samples`` samples: ``1 + num_samples // hop``."""
    return 1 + int(num_samples) // config.hop_length


def _mfcc_block(samples: np.ndarray, block: int, config: FeatureConfig) -> np.ndarray:
    """MFCC frames ``block * BLOCK ... (block + 1) * BLOCK - 1``: (BLOCK, n_mfcc) float32.

    Frames past the end of the audio see zeros; callers drop them.
    """
    hop, win = config.hop_length, config.win_length
    hann, mel_t, dct_t = _tables(config)
    # Frame k covers samples [k hop - win // 2, k hop - win // 2 + win); one extra
    # sample in front feeds the pre-emphasis of the first one.
    start = block * BLOCK * hop - win // 2 - 1
    length = (BLOCK - 1) * hop + win + 1
    segment = np.zeros(length, np.float64)
    lo, hi = max(start, 0), min(start + length, samples.shape[0])
    if hi > lo:
        segment[lo - start : hi - start] = samples[lo:hi]
    emphasised = segment[1:] - config.preemphasis * segment[:-1]
    # The emphasised signal ends with the audio (zero after it), as in a
    # pre-emphasis of the whole signal followed by zero padding.
    emphasised[max(0, samples.shape[0] - start - 1) :] = 0.0
    frames = np.lib.stride_tricks.sliding_window_view(emphasised, win)[::hop]  # (BLOCK, win)
    power = np.square(np.abs(np.fft.rfft(frames * hann, n=config.n_fft, axis=1)))
    log_mel = np.log(np.maximum(power @ mel_t, LOG_FLOOR))
    return (log_mel @ dct_t).astype(np.float32)


def mfcc(samples: np.ndarray, sample_rate: int, config: FeatureConfig = DEFAULT_CONFIG) -> np.ndarray:
    """MFCCs of a mono signal.

    Args:
        samples: (N,) float, nominally in [-1, 1].
        sample_rate: must equal ``config.sample_rate`` (decode at that rate).
    Returns:
        (1 + N // hop, n_mfcc) float32; row k describes the audio around
        ``k * hop_ms`` milliseconds.
    """
    samples = _check_signal(samples, sample_rate, config)
    count = feature_count(samples.shape[0], config)
    blocks = [_mfcc_block(samples, b, config) for b in range(-(-count // BLOCK))]
    return np.ascontiguousarray(np.concatenate(blocks)[:count])


def _check_signal(samples: np.ndarray, sample_rate: int, config: FeatureConfig) -> np.ndarray:
    if sample_rate != config.sample_rate:
        raise ValueError(
            f"audio is at {sample_rate} Hz but the features expect {config.sample_rate} Hz; "
            "decode with decode_audio(..., sample_rate=config.sample_rate)"
        )
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples of shape (N,), got {samples.shape}")
    return samples


def frame_count(duration: float, fps: float) -> int:
    """Video frames for audio of ``duration`` seconds.

    Rule: ``n = max(1, floor(duration * fps + 0.5))``, i.e. round half up
    (1.0 s at 25 fps -> 25, 2.02 s -> 51, 0.5 s at 30 fps -> 15). The video
    then lasts ``n / fps``, within half a frame of the audio.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    # Rounding to 6 decimals first keeps 2.02 * 25 = 50.49999... from flooring.
    return max(1, int(math.floor(round(duration * fps, 6) + 0.5)))


def window_indices(
    start: int, stop: int, n_features: int, fps: float, config: FeatureConfig = DEFAULT_CONFIG
) -> np.ndarray:
    """MFCC frame indices of the windows of video frames ``start ... stop - 1``.

    Frame i is centred at ``t_i = (i + 0.5) / fps``; ``k_i`` is the first
    feature frame centred at or after it (``ceil(t_i * frame_rate)``); the
    window is ``k_i - window // 2 ... k_i + window - window // 2 - 1``,
    clamped to ``[0, n_features - 1]``.

    Returns:
        (stop - start, window) int64.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    centres = (np.arange(start, stop, dtype=np.float64) + 0.5) * (config.frame_rate / fps)
    # Round before ceil so that exact grid points (25 fps: 2, 6, 10...) stay put.
    first_after = np.ceil(np.round(centres, 6)).astype(np.int64)
    offsets = np.arange(config.window, dtype=np.int64) - config.window // 2
    return np.clip(first_after[:, None] + offsets[None], 0, n_features - 1)


def feature_windows(
    mfcc_frames: np.ndarray,
    n_frames: int,
    fps: float | None = None,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> np.ndarray:
    """One MFCC window per video frame.

    Args:
        mfcc_frames: (F, n_mfcc) from ``mfcc``.
        n_frames: video frames, usually ``frame_count(clip.duration, fps)``.
        fps: video frame rate; None means ``config.fps``.
    Returns:
        (n_frames, window, n_mfcc) float32; row ``window // 2`` of window i is
        the first feature frame at or after frame i's centre time.
    """
    fps = config.fps if fps is None else fps
    if mfcc_frames.ndim != 2 or mfcc_frames.shape[0] < 1:
        raise ValueError(f"expected (F >= 1, n_mfcc) MFCC frames, got {mfcc_frames.shape}")
    index = window_indices(0, n_frames, mfcc_frames.shape[0], fps, config)
    return np.ascontiguousarray(mfcc_frames[index], dtype=np.float32)


def iter_feature_windows(
    clip: AudioClip,
    fps: float | None = None,
    chunk_frames: int = 250,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> Iterator[np.ndarray]:
    """Stream the windows of ``clip`` in batches of video frames.

    Memory stays bounded by the chunk (plus a few MFCC blocks), not by the
    audio length. The batches concatenate to exactly
    ``feature_windows(mfcc(clip.samples, clip.sample_rate), frame_count(clip.duration, fps), fps)``.

    Yields:
        (<= chunk_frames, window, n_mfcc) float32 batches, in order.
    """
    fps = config.fps if fps is None else fps
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    samples = _check_signal(clip.samples, clip.sample_rate, config)
    n_features = feature_count(samples.shape[0], config)
    n_frames = frame_count(clip.duration, fps)
    cache: dict[int, np.ndarray] = {}
    for start in range(0, n_frames, chunk_frames):
        stop = min(start + chunk_frames, n_frames)
        index = window_indices(start, stop, n_features, fps, config)
        first, last = int(index.min()) // BLOCK, int(index.max()) // BLOCK
        for block in [b for b in cache if b < first]:
            del cache[block]  # windows only move forward
        for block in range(first, last + 1):
            if block not in cache:
                cache[block] = _mfcc_block(samples, block, config)
        local = np.concatenate([cache[b] for b in range(first, last + 1)])
        yield np.ascontiguousarray(local[index - first * BLOCK], dtype=np.float32)
