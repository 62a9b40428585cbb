"""AudioNet losses, as printed in the paper, plus a temporal variant.

With ``b`` the target and ``b^`` the predicted coefficients of one frame (K
of them, the paper's K is 64):

* ``L1 = sum_{i=1..K} |b_i - b^_i|``
* ``Ld = sum_{i=1..K-1} |(b_{i+1} - b_i) - (b^_{i+1} - b^_i)|`` -- differences
  between *neighbouring coefficient indices* of the same frame, exactly as
  printed (not between frames);
* ``L = l1 * L1 + ld * Ld`` with ``l1 = ld = 1``.

The temporal variant ``Lt = sum_i |(b_i(t+1) - b_i(t)) - (b^_i(t+1) - b^_i(t))|``
compares frame-to-frame changes of each coefficient; it needs sequences
(B, T, K). Every loss sums over coefficients and averages over frames (and
over the T - 1 frame pairs for ``Lt``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (the paper: l1 = ld = 1, no temporal term)."""

    l1: float = 1.0
    delta: float = 1.0
    temporal: float = 0.0


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L1``: sum over the last axis of |target - pred|, mean over the rest.

    Shape: pred, target (..., K) -> scalar.
    """
    _check(pred, target)
    return (target - pred).abs().sum(dim=-1).mean()


def index_delta_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``Ld`` as printed: neighbouring coefficient indices, same frame.

    Shape: pred, target (..., K) with K >= 2 -> scalar.
    """
    _check(pred, target)
    if pred.shape[-1] < 2:
        raise ValueError(f"the delta loss needs at least 2 coefficients, got {pred.shape[-1]}")
    d_target = target[..., 1:] - target[..., :-1]
    d_pred = pred[..., 1:] - pred[..., :-1]
    return (d_target - d_pred).abs().sum(dim=-1).mean()


def temporal_delta_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``Lt``: consecutive frames, per coefficient.

    Shape: pred, target (B, T, K) with T >= 2 -> scalar.
    """
    _check(pred, target)
    if pred.ndim != 3 or pred.shape[1] < 2:
        raise ValueError(f"the temporal loss needs (B, T >= 2, K) sequences, got {tuple(pred.shape)}")
    d_target = target[:, 1:] - target[:, :-1]
    d_pred = pred[:, 1:] - pred[:, :-1]
    return (d_target - d_pred).abs().sum(dim=-1).mean()


def audionet_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: LossWeights = LossWeights()
) -> tuple[torch.Tensor, dict[str, float]]:
    """``l1 * L1 + ld * Ld (+ lt * Lt)``.

    Shape: pred, target (B, T, K) (or (B, K) when the temporal weight is 0).
    Returns:
        (total loss, {"l1": ..., "delta": ..., "temporal": ...} as floats).
    """
    parts = {"l1": l1_loss(pred, target), "delta": index_delta_loss(pred, target)}
    total = weights.l1 * parts["l1"] + weights.delta * parts["delta"]
    if weights.temporal:
        parts["temporal"] = temporal_delta_loss(pred, target)
        total = total + weights.temporal * parts["temporal"]
    return total, {k: float(v.detach()) for k, v in parts.items()}
