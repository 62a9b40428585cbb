"""AudioNet training loop: from scratch and fine-tuning from a checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from talking_head.audio.audionet import load_audionet
from talking_head.audio.visemes import audio_driven_names
from talking_head.face.rig import load_rig
from talking_head.train.dataset import Example, ShardWriter
from talking_head.train.loop import train_main


def make_data(root, seed: int, shift: float = 0.0) -> None:
    """Tiny learnable shards: jawOpen follows the mean of the window's first MFCC."""
    names = audio_driven_names(load_rig().names)
    rng = np.random.default_rng(seed)
    for split, voices in (("train", 3), ("val", 1)):
        with ShardWriter(root, split, names, 25.0, tag="t") as writer:
            for v in range(voices):
                windows = (rng.normal(0, 1, (40, 16, 80)) * 10 + shift).astype(np.float32)
                targets = np.zeros((40, len(names)), np.float32)
                targets[:, 0] = 1 / (1 + np.exp(-windows[:, :, 0].mean(axis=1) / 5))
                writer.add(Example(windows, targets, np.zeros(40, bool), f"{split}{v}"))


def test_fine_tuning_keeps_the_input_normalisation(tmp_path):
    make_data(tmp_path / "a", 0)
    make_data(tmp_path / "b", 1, shift=50.0)  # other input statistics
    base = tmp_path / "base.pt"
    common = ["--steps", "10", "--batch", "4", "--seq", "4", "--eval-every", "5", "--threads", "1", "--quiet"]
    assert train_main(["--data", str(tmp_path / "a"), "--out", str(base)] + common) == 0
    tuned = tmp_path / "tuned.pt"
    assert train_main(["--data", str(tmp_path / "b"), "--out", str(tuned), "--init", str(base)] + common) == 0
    a, b = load_audionet(base), load_audionet(tuned)
    assert torch.equal(a.feature_mean, b.feature_mean) and torch.equal(a.feature_std, b.feature_std)
    assert b.config.meta["train_config"]["init"] == str(base)
    # From scratch on the same data the statistics are re-measured (about 50 for the shifted inputs).
    scratch = tmp_path / "scratch.pt"
    assert train_main(["--data", str(tmp_path / "b"), "--out", str(scratch)] + common) == 0
    assert abs(float(load_audionet(scratch).feature_mean.mean()) - 50.0) < 2.0
