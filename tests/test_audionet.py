"""AudioNet: shapes, bounds, checkpoints, overfitting a tiny set, the shipped weights."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from talking_head.audio.audionet import (
    DEFAULT_WEIGHTS,
    AudioNet,
    AudioNetConfig,
    load_audionet,
    predict,
    save_audionet,
)
from talking_head.audio.features import feature_windows, frame_count, mfcc
from talking_head.audio.visemes import audio_driven_names
from talking_head.errors import WeightsError
from talking_head.face.rig import inner_lip_gap, load_rig
from talking_head.face.topology import load_topology

NAMES = audio_driven_names(load_rig().names)


def tiny_config(**kw) -> AudioNetConfig:
    return AudioNetConfig(names=NAMES, channels=16, hidden=16, **kw)


def test_shapes_and_bounds():
    lower = tuple(0.1 for _ in NAMES)
    upper = tuple(0.5 for _ in NAMES)
    model = AudioNet(tiny_config(lower=lower, upper=upper)).eval()
    x = torch.randn(7, 16, 80) * 100
    with torch.no_grad():
        y = model(x)
    assert y.shape == (7, len(NAMES))
    assert float(y.min()) >= 0.1 and float(y.max()) <= 0.5
    with pytest.raises(ValueError, match=r"\(N, 16, 80\)"):
        model(torch.zeros(2, 80, 16))
    with pytest.raises(ValueError, match="bounds"):
        AudioNetConfig(names=("a", "b"), lower=(0.0,))


def test_checkpoint_round_trip_describes_itself(tmp_path):
    torch.manual_seed(0)
    model = AudioNet(tiny_config()).eval()
    model.set_normalisation(np.full(80, 3.0), np.full(80, 7.0))
    path = tmp_path / "net.pt"
    save_audionet(model, path, meta={"seed": 0, "recipe": ("a", "b")})
    loaded = load_audionet(path)
    assert loaded.config.names == NAMES and loaded.config.channels == 16
    assert loaded.config.meta["seed"] == 0
    x = np.random.default_rng(0).normal(0, 50, (5, 16, 80)).astype(np.float32)
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))
    # weights_only loading: the file holds plain containers and tensors
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == "talking_head.audionet/1" and list(blob["config"]["names"]) == list(NAMES)


def test_load_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_audionet(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        load_audionet(tmp_path / "junk.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="not an AudioNet"):
        load_audionet(tmp_path / "other.pt")


def test_predict_batches_and_iterables():
    model = AudioNet(tiny_config()).eval()
    x = np.random.default_rng(1).normal(0, 30, (10, 16, 80)).astype(np.float32)
    whole = predict(model, x)
    np.testing.assert_allclose(predict(model, x, batch_size=3), whole, atol=1e-6)
    np.testing.assert_allclose(predict(model, iter([x[:4], x[4:]])), whole, atol=1e-6)
    assert predict(model, iter([])).shape == (0, len(NAMES))


def test_tiny_audionet_overfits_a_tiny_dataset():
    from talking_head.train.dataset import FrameData
    from talking_head.train.loop import TrainConfig, evaluate, train
    from talking_head.train.losses import LossWeights

    rng = np.random.default_rng(0)
    n = 64
    windows = rng.normal(0, 20, (n, 16, 80)).astype(np.float16)
    targets = rng.uniform(0.05, 0.95, (n, len(NAMES))).astype(np.float32)
    data = FrameData(windows, targets, np.zeros(n, np.int32), np.repeat(np.arange(8), 8), np.zeros(n, bool),
                     NAMES, ("v",), 25.0)
    config = TrainConfig(steps=120, batch=8, seq=4, lr=1e-2, warmup=10, channels=32, hidden=64,
                         input_noise=0.0, eval_every=100, seed=0, threads=1, weight_decay=0.0)
    untrained = evaluate(AudioNet(AudioNetConfig(names=NAMES, channels=32, hidden=64)), data, LossWeights(), 4)
    result = train(data, data, config, show_progress=False)
    final = evaluate(result.model, data, LossWeights(), 4)
    assert final < 0.2 * untrained
    assert len(result.history) == 120 and result.best_step > 0


def test_train_main_writes_weights_curve_and_summary(tmp_path):
    from talking_head.train.dataset import Example, write_shard
    from talking_head.train.loop import train_main

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        ex = Example(rng.normal(0, 20, (40, 16, 80)).astype(np.float32),
                     rng.uniform(0, 1, (40, len(NAMES))).astype(np.float32), np.zeros(40, bool), split)
        write_shard(tmp_path / f"{split}-t-00000.npz", [ex], NAMES, 25.0)
    out = tmp_path / "out" / "net.pt"
    assert train_main(["--data", str(tmp_path), "--out", str(out), "--steps", "6", "--eval-every", "3",
                       "--channels", "8", "--hidden", "8", "--quiet"]) == 0
    assert load_audionet(out).config.names == NAMES
    assert (tmp_path / "out" / "net_loss.png").stat().st_size > 1000
    assert '"best_step"' in (tmp_path / "out" / "net_train.json").read_text()


def vowel_bursts(sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """0.6 s silence, then three 0.4 s /a/-like bursts (a 120 Hz pulse train
    through resonators at 700, 1220, 2600 Hz) with 0.6 s pauses, then 0.8 s
    silence; a faint noise floor throughout. Returns (samples, voiced (N,) bool)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)
    spans = [(0.6, 1.0), (1.6, 2.0), (2.6, 3.0)]
    total = 3.8
    n = int(total * sample_rate)
    t = np.arange(n) / sample_rate
    pulses = (np.diff(np.floor(t * 120.0), prepend=-1.0) > 0).astype(np.float64)
    signal = pulses
    for formant, bandwidth in ((700, 130), (1220, 70), (2600, 160)):
        r = np.exp(-np.pi * bandwidth / sample_rate)
        theta = 2 * np.pi * formant / sample_rate
        signal = lfilter([1.0 - r], [1.0, -2 * r * np.cos(theta), r * r], signal)
    voiced = np.zeros(n, bool)
    envelope = np.zeros(n)
    for a, b in spans:
        inside = (t >= a) & (t < b)
        voiced |= inside
        envelope[inside] = np.sin(np.pi * (t[inside] - a) / (b - a)) ** 0.3
    speech = signal * envelope
    speech *= 0.3 / np.abs(speech).max()
    return (speech + rng.normal(0, 3e-4, n)).astype(np.float32), voiced


@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="shipped AudioNet weights missing")
def test_shipped_weights_open_in_speech_close_in_silence():
    model = load_audionet()
    assert model.config.names == NAMES
    samples, voiced = vowel_bursts()
    n = frame_count(samples.shape[0] / 16000, 25.0)
    coeffs = predict(model, feature_windows(mfcc(samples, 16000), n, 25.0))
    rig, vertices = load_rig(), load_topology().vertices
    full = np.zeros((n, rig.size))
    full[:, [rig.index(k) for k in NAMES]] = coeffs
    opening = inner_lip_gap(rig.apply(vertices, full)) - inner_lip_gap(vertices)  # cm
    centres = ((np.arange(n) + 0.5) / 25 * 16000).astype(int)
    frame_voiced = voiced[centres]
    t = (np.arange(n) + 0.5) / 25
    deep_silence = np.array([not voiced[max(0, int((c - 0.15) * 16000)) : int((c + 0.15) * 16000)].any() for c in t])
    assert opening[frame_voiced].mean() > 0.3
    assert np.median(opening[deep_silence]) < 0.1
    assert opening[frame_voiced].mean() > 4 * max(opening[deep_silence].mean(), 0.01)


@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="shipped AudioNet weights missing")
def test_shipped_weights_run_faster_than_1000_frames_per_second():
    model = load_audionet()
    x = np.random.default_rng(0).normal(0, 30, (2000, 16, 80)).astype(np.float32)
    predict(model, x[:256])
    best = min(_timed(lambda: predict(model, x)) for _ in range(3))
    assert 2000 / best > 1000


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
