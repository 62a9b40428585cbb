"""Train AudioNet on sharded frame data (``dataset.py``).

Batches are runs of ``seq`` consecutive frames of one utterance, so the
temporal loss can be used; the paper's losses treat every frame on its own.
Input statistics (per MFCC coefficient) are measured on the training split
and stored in the network. Progress is shown with tqdm; the loss curves are
written as a PNG next to the weights.

Command line (wired as ``python -m talking_head train-audionet``)::

    train-audionet --data DIR [DIR ...] --out assets/audionet/audionet.pt \
        [--steps 6000] [--batch 32] [--seq 8] [--lr 2e-3] [--seed 0] ...
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio.audionet import AudioNet, AudioNetConfig, save_audionet
from .dataset import FrameData, load_split, sequence_starts, tiled_starts
from .config import TRAIN_DESCRIPTION, TrainConfig, add_train_arguments
from .losses import LossWeights, audionet_loss


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        model: the trained network (eval mode, CPU).
        history: rows ``(step, train_loss, val_loss)`` (val NaN when not measured).
        seconds: wall time.
        best_step: step whose weights were kept (lowest validation loss).
    """

    model: AudioNet
    history: tuple[tuple[int, float, float], ...]
    seconds: float
    best_step: int


def feature_statistics(windows: np.ndarray, sample: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and std over (a sample of) (N, 16, 80) windows."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(windows.shape[0], size=min(sample, windows.shape[0]), replace=False)
    x = windows[np.sort(rows)].astype(np.float64).reshape(-1, windows.shape[-1])
    return x.mean(axis=0), x.std(axis=0)


def _batch(data: FrameData, starts: np.ndarray, seq: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, seq, 16, 80) windows and (B, seq, K) targets from start rows."""
    rows = starts[:, None] + np.arange(seq)[None]
    return torch.from_numpy(data.windows[rows].astype(np.float32)), torch.from_numpy(data.targets[rows])


def _learning_rate(step: int, config: TrainConfig) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


@torch.no_grad()
def evaluate(model: AudioNet, data: FrameData, weights: LossWeights, seq: int, max_rows: int = 20000) -> float:
    """Mean loss over (up to ``max_rows`` frames of) non-overlapping sequences."""
    model.eval()
    starts = tiled_starts(data.utterance, seq)
    keep = max(1, max_rows // seq)
    if starts.size > keep:  # evenly over the whole split, so every voice counts
        starts = starts[np.linspace(0, starts.size - 1, keep).astype(np.int64)]
    total, count = 0.0, 0
    for lo in range(0, len(starts), 256):
        x, y = _batch(data, starts[lo : lo + 256], seq)
        pred = model(x.flatten(0, 1)).view_as(y)
        loss, _ = audionet_loss(pred, y, weights)
        total += float(loss) * len(x)
        count += len(x)
    model.train()
    return total / max(count, 1)


def train(
    train_data: FrameData,
    val_data: FrameData | None,
    config: TrainConfig = TrainConfig(),
    progress: Callable[[int, dict], None] | None = None,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Train an AudioNet; keeps the weights of the best validation pass.

    Args:
        train_data, val_data: frames (``dataset.load_split``).
        progress: called as ``progress(step, {"loss": ..., "lr": ...})``.
        lower, upper: (K,) output bounds (default 0 and 1).
    """
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    net_config = AudioNetConfig(
        names=train_data.names,
        lower=tuple(float(v) for v in lower) if lower is not None else (),
        upper=tuple(float(v) for v in upper) if upper is not None else (),
        window=train_data.windows.shape[1], n_mfcc=train_data.windows.shape[2],
        channels=config.channels, hidden=config.hidden, fps=train_data.fps,
    )
    if config.init:
        from ..audio.audionet import load_audionet

        model = load_audionet(config.init)
        if tuple(model.config.names) != tuple(train_data.names):
            raise ValueError(f"{config.init} predicts {model.config.names}, the data has {train_data.names}")
    else:
        model = AudioNet(net_config)
        model.set_normalisation(*feature_statistics(train_data.windows, seed=config.seed))
    weights = LossWeights(config.l1_weight, config.delta_weight, config.temporal_weight)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    starts = sequence_starts(train_data.utterance, config.seq)
    if starts.size == 0:
        raise ValueError(f"no utterance has {config.seq} frames; lower --seq")
    history: list[tuple[int, float, float]] = []
    best = (evaluate(model, val_data, weights, config.seq) if config.init and val_data is not None else math.inf, 0,
            {k: v.clone() for k, v in model.state_dict().items()})
    started = time.perf_counter()
    running = None
    model.train()
    bar = tqdm(range(config.steps), desc="AudioNet", unit="step", disable=not show_progress, mininterval=2.0)
    for step in bar:
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, config)
        x, y = _batch(train_data, rng.choice(starts, size=config.batch), config.seq)
        x = x.flatten(0, 1)
        if config.input_noise > 0:
            # Noise in normalised units: each coefficient jitters by input_noise of its spread.
            x = x + torch.randn_like(x) * config.input_noise * model.feature_std
        pred = model(x).view_as(y)
        loss, parts = audionet_loss(pred, y, weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        value = float(loss.detach())
        running = value if running is None else 0.98 * running + 0.02 * value
        val = float("nan")
        last = step == config.steps - 1
        if val_data is not None and (step % config.eval_every == config.eval_every - 1 or last):
            val = evaluate(model, val_data, weights, config.seq)
            if val < best[0]:
                best = (val, step + 1, {k: v.clone() for k, v in model.state_dict().items()})
        history.append((step + 1, running, val))
        bar.set_postfix(loss=f"{running:.4f}", val=f"{best[0]:.4f}" if best[0] < math.inf else "-")
        if progress is not None:
            progress(step + 1, {"loss": running, "val": val, "lr": optimiser.param_groups[0]["lr"], **parts})
    if val_data is None:
        best = (math.nan, config.steps, model.state_dict())
    model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model, tuple(history), time.perf_counter() - started, best[1])


def plot_history(history: Sequence[tuple[int, float, float]], path: str | Path, title: str = "AudioNet") -> None:
    """Write the training (smoothed) and validation loss curves as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.asarray(history, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(rows[:, 0], rows[:, 1], label="train (EMA)", lw=1)
    val = ~np.isnan(rows[:, 2])
    ax.plot(rows[val, 0], rows[val, 2], "o-", label="validation (held-out voices)", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("L1 + Ld")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="talking-head train-audionet", description=TRAIN_DESCRIPTION)
    return add_train_arguments(parser)


def train_main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: parse ``argv``, train, write the checkpoint, curve and a JSON summary."""
    return run_train(build_parser().parse_args(argv))


def run_train(args: argparse.Namespace) -> int:
    """Train from parsed ``train-audionet`` arguments; returns the exit code."""
    config = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    train_data = load_split(args.data, "train")
    try:
        val_data = load_split(args.data, "val")
    except FileNotFoundError:
        val_data = None
    if val_data is not None and val_data.names != train_data.names:
        raise SystemExit("train and val shards have different coefficient names")
    from ..face.rig import load_rig

    rig = load_rig()
    lower = [float(rig.lower[rig.index(n)]) for n in train_data.names]
    upper = [float(rig.upper[rig.index(n)]) for n in train_data.names]
    print(f"train: {len(train_data)} frames ({train_data.hours:.2f} h, {len(train_data.voices)} voices); "
          f"val: {len(val_data) if val_data else 0} frames ({len(val_data.voices) if val_data else 0} voices)")
    result = train(train_data, val_data, config, lower=lower, upper=upper, show_progress=not args.quiet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "train_config": asdict(config),
        "data": [str(d) for d in args.data],
        "train_frames": len(train_data), "train_hours": round(train_data.hours, 3),
        "train_voices": len(train_data.voices), "val_voices": list(val_data.voices) if val_data else [],
        "best_step": result.best_step, "seconds": round(result.seconds, 1),
    }
    save_audionet(result.model, args.out, meta)
    curve = args.out.with_name(args.out.stem + "_loss.png")
    plot_history(result.history, curve)
    summary = {**meta, "final_train_loss": result.history[-1][1],
               "best_val_loss": min((h[2] for h in result.history if not math.isnan(h[2])), default=None)}
    args.out.with_name(args.out.stem + "_train.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out} and {curve.name} in {result.seconds / 60:.1f} min (best step {result.best_step})")
    return 0
