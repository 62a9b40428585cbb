"""AudioNet losses against values computed by hand."""

from __future__ import annotations

import pytest
import torch

from talking_head.train.losses import (
    LossWeights,
    audionet_loss,
    index_delta_loss,
    l1_loss,
    temporal_delta_loss,
)

# One frame, K = 3.  target b = (1, 1, 0), prediction b^ = (0, 1, 2)
TARGET = torch.tensor([[1.0, 1.0, 0.0]])
PRED = torch.tensor([[0.0, 1.0, 2.0]])


def test_l1_by_hand():
    # |1 - 0| + |1 - 1| + |0 - 2| = 3
    assert float(l1_loss(PRED, TARGET)) == pytest.approx(3.0)


def test_index_delta_by_hand():
    # target deltas (0, -1), prediction deltas (1, 1): |0 - 1| + |-1 - 1| = 3
    assert float(index_delta_loss(PRED, TARGET)) == pytest.approx(3.0)


def test_index_delta_ignores_a_common_offset_l1_does_not():
    shifted = TARGET + 0.25
    assert float(index_delta_loss(shifted, TARGET)) == pytest.approx(0.0, abs=1e-6)
    assert float(l1_loss(shifted, TARGET)) == pytest.approx(0.75)


def test_means_over_frames_sum_over_coefficients():
    pred = torch.stack([PRED[0], TARGET[0]])  # second frame exact
    target = torch.stack([TARGET[0], TARGET[0]])
    assert float(l1_loss(pred, target)) == pytest.approx(1.5)
    assert float(index_delta_loss(pred, target)) == pytest.approx(1.5)


def test_temporal_delta_by_hand():
    # B = 1, T = 3, K = 2
    target = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]])
    pred = torch.tensor([[[0.0, 0.0], [0.5, 0.0], [0.5, 0.0]]])
    # frame pairs: target deltas (1, 0), (0, 1); predicted (0.5, 0), (0, 0)
    # pair 1: |1 - 0.5| + 0 = 0.5; pair 2: 0 + |1 - 0| = 1; mean 0.75
    assert float(temporal_delta_loss(pred, target)) == pytest.approx(0.75)
    # a constant offset over time costs nothing
    assert float(temporal_delta_loss(target + 0.3, target)) == pytest.approx(0.0, abs=1e-6)


def test_total_is_weighted_sum_paper_weights_one():
    total, parts = audionet_loss(PRED, TARGET)
    assert float(total) == pytest.approx(6.0)
    assert parts == pytest.approx({"l1": 3.0, "delta": 3.0})
    seq_pred, seq_target = PRED.expand(2, 3)[None], TARGET.expand(2, 3)[None]
    total, parts = audionet_loss(seq_pred, seq_target, LossWeights(l1=2.0, delta=0.5, temporal=1.0))
    assert parts["temporal"] == pytest.approx(0.0)
    assert float(total) == pytest.approx(2.0 * 3.0 + 0.5 * 3.0)


def test_gradients_flow():
    pred = PRED.clone().requires_grad_(True)
    total, _ = audionet_loss(pred, TARGET)
    total.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        l1_loss(PRED, TARGET[:, :2])
    with pytest.raises(ValueError, match="at least 2"):
        index_delta_loss(PRED[:, :1], TARGET[:, :1])
    with pytest.raises(ValueError, match=r"\(B, T >= 2, K\)"):
        temporal_delta_loss(PRED, TARGET)
