"""AudioNet training options (no torch import: the CLI builds its flags from these)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..config import check_options, option

TRAIN_DESCRIPTION = "Train AudioNet on sharded frame data (tools/make_speech_data.py and train.speech write it)."


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters."""

    steps: int = option(6000, "optimiser steps", bounds=(1, 10**7))
    batch: int = option(32, "sequences per batch", bounds=(1, 4096))
    seq: int = option(8, "consecutive frames per sequence", bounds=(1, 512))
    lr: float = option(2e-3, "peak learning rate (AdamW, warm-up then cosine decay)", bounds=(0.0, 1.0))
    weight_decay: float = option(1e-4, "AdamW weight decay", bounds=(0.0, 1.0))
    warmup: int = option(200, "linear warm-up steps", bounds=(0, 10**7))
    l1_weight: float = option(1.0, "weight of L1 (paper: 1)", bounds=(0.0, 100.0))
    delta_weight: float = option(1.0, "weight of the index-delta loss Ld (paper: 1)", bounds=(0.0, 100.0))
    temporal_weight: float = option(0.0, "weight of the temporal-delta loss (0 = off, as the paper)",
                                    bounds=(0.0, 100.0))
    input_noise: float = option(0.05, "std of Gaussian noise on normalised inputs", bounds=(0.0, 10.0))
    channels: int = option(128, "conv width", bounds=(1, 4096))
    hidden: int = option(128, "hidden linear width", bounds=(1, 4096))
    eval_every: int = option(250, "steps between validation passes", bounds=(1, 10**7))
    seed: int = option(0, "seed of weights init and batch sampling", bounds=(0, 2**31 - 1))
    threads: int = option(2, "CPU threads for torch", bounds=(1, 256))
    init: str = option("", "checkpoint to start from (fine-tuning: its architecture and input normalisation are kept)")

    def __post_init__(self) -> None:
        check_options(self)


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``train-audionet`` command's arguments, on ``parser``."""
    from ..options import add_config_options

    parser.add_argument("--data", nargs="+", required=True, type=Path, help="dataset folder(s) with train-/val- shards")
    parser.add_argument("--out", required=True, type=Path, help="output checkpoint (.pt); the loss curve goes beside it")
    add_config_options(parser, TrainConfig)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser
