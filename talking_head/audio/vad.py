"""Voice activity: where in the audio someone speaks (silero-vad, CPU).

silero-vad 6.2.3 (MIT) ships its TorchScript model inside the wheel
(``silero_vad/data/silero_vad.jit``); it is loaded from there by path, once
per process, without importing the ``silero_vad`` package (whose import sets
torch's global thread count). The model is a small recurrent net over
``WINDOW``-sample windows (32 ms at 16 kHz) that carries its state from
window to window, so audio of any length streams through it in constant
memory.

Speed: one window costs ~1 ms with one torch thread, but tens of ms with
several threads on a busy machine (the tensors are tiny and thread hand-off
dominates), so the model runs with one intra-op thread (restored afterwards)
and without the profiling JIT's optimisation pass: ~0.03 s per second of
audio, no warm-up.

From probabilities to speech (``speech_intervals``): a window is speech
above ``threshold`` and stays speech until the probability drops below
``threshold - 0.15`` (hysteresis); pauses shorter than ``min_pause`` are
filled (the mouth does not close between syllables), bursts shorter than
``min_speech`` are dropped (clicks), and every interval is widened by
``pad`` seconds on both sides (lips move a little before and after the
sound).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import WeightsError

SAMPLE_RATE = 16000
WINDOW = 512  # samples per model call at 16 kHz (the model's fixed size)
THRESHOLD = 0.5
HYSTERESIS = 0.15
MIN_PAUSE = 0.2  # s: shorter pauses stay speech (mouth keeps moving)
MIN_SPEECH = 0.09  # s: shorter bursts are not speech
PAD = 0.05  # s added before and after each speech interval

_lock = threading.Lock()
_model = None


def model_path() -> Path:
    """Path of the TorchScript model inside the installed silero-vad wheel."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("silero-vad is not installed (pip install silero-vad==6.2.3 --no-deps)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise WeightsError(f"silero-vad model missing from the installed wheel: {path}")
    return path


def _load():
    """The model, loaded once (caller holds ``_lock``)."""
    global _model
    if _model is None:
        import warnings

        import torch

        with warnings.catch_warnings():  # torch 2.13 deprecates jit.load; the wheel ships TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(model_path()), map_location="cpu")
        model.eval()
        _model = model
    return _model


@contextmanager
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # The profiling JIT spends ~4 s optimising the first calls for no gain
        # on this model (measured: same speed, same output without it).
        with torch.jit.optimized_execution(False):
            yield
    finally:
        torch.set_num_threads(threads)


def _to_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sample_rate == SAMPLE_RATE:
        return samples
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(SAMPLE_RATE, int(sample_rate))
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def speech_probability(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Per-window speech probability.

    Args:
        samples: (N,) float mono in [-1, 1]; resampled to 16 kHz if needed.
        sample_rate: its rate (Hz).
    Returns:
        (ceil(N16 / WINDOW),) float32 in [0, 1]; entry j describes 16 kHz
        samples ``[j * WINDOW, (j + 1) * WINDOW)`` (the last window zero-padded).
    """
    import torch

    x = _to_16k(samples, sample_rate)
    count = -(-x.shape[0] // WINDOW)
    out = np.zeros(count, np.float32)
    if count == 0:
        return out
    with _lock, _one_thread(), torch.inference_mode():
        model = _load()
        model.reset_states()
        block = np.zeros(WINDOW, np.float32)
        for j in range(count):
            chunk = x[j * WINDOW : (j + 1) * WINDOW]
            if chunk.shape[0] < WINDOW:
                block[:] = 0.0
                block[: chunk.shape[0]] = chunk
                chunk = block
            out[j] = float(model(torch.from_numpy(np.ascontiguousarray(chunk)), SAMPLE_RATE))
        model.reset_states()
    return out


def intervals_from_probability(
    probs: np.ndarray,
    threshold: float = THRESHOLD,
    min_pause: float = MIN_PAUSE,
    min_speech: float = MIN_SPEECH,
    pad: float = PAD,
    duration: float | None = None,
) -> tuple[tuple[float, float], ...]:
    """Speech intervals (seconds) from ``speech_probability`` output.

    Args:
        probs: (W,) per-window probabilities (window = WINDOW / 16000 s).
        duration: clip length in seconds (intervals are clipped to it);
            defaults to W windows.
    Returns:
        sorted, disjoint (start, end) pairs.
    """
    step = WINDOW / SAMPLE_RATE
    duration = probs.shape[0] * step if duration is None else duration
    raw: list[list[float]] = []
    active = False
    for j, p in enumerate(np.asarray(probs, np.float64)):
        if not active and p >= threshold:
            active = True
            raw.append([j * step, (j + 1) * step])
        elif active:
            if p < threshold - HYSTERESIS:
                active = False
            else:
                raw[-1][1] = (j + 1) * step
    merged: list[list[float]] = []
    for start, end in raw:
        if merged and start - merged[-1][1] < min_pause:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    out: list[tuple[float, float]] = []
    for start, end in merged:
        if end - start < min_speech:
            continue
        start, end = max(0.0, start - pad), min(duration, end + pad)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], end)
        elif end > start:
            out.append((start, end))
    return tuple(out)


def speech_intervals(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, **kwargs) -> tuple[tuple[float, float], ...]:
    """(start, end) seconds of speech in the clip; keyword arguments as
    ``intervals_from_probability``."""
    probs = speech_probability(samples, sample_rate)
    return intervals_from_probability(probs, duration=len(samples) / float(sample_rate), **kwargs)


def intervals_to_mask(intervals: Sequence[tuple[float, float]], n_frames: int, fps: float) -> np.ndarray:
    """(n_frames,) bool: frame i (covering [i/fps, (i+1)/fps)) overlaps an interval."""
    mask = np.zeros(n_frames, bool)
    for start, end in intervals:
        lo = max(0, int(np.floor(start * fps)))
        hi = min(n_frames, int(np.ceil(end * fps)))
        mask[lo:hi] = True
    return mask


def speech_mask(samples: np.ndarray, n_frames: int, fps: float, sample_rate: int = SAMPLE_RATE, **kwargs) -> np.ndarray:
    """(n_frames,) bool: video frame i (covering [i/fps, (i+1)/fps)) has speech.

    Keyword arguments as ``intervals_from_probability`` (threshold, min_pause,
    min_speech, pad). Frames outside speech are where the mouth closes.
    """
    return intervals_to_mask(speech_intervals(samples, sample_rate, **kwargs), n_frames, fps)
