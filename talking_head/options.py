"""Command-line flags generated from the config dataclasses (``config.option``).

A field ``mouth_motion: float = option(1.0, "...", bounds=(0.5, 1.5))`` becomes
``--mouth-motion X``; a boolean that defaults to True becomes ``--no-mouth``
(and one that defaults to False, ``--name``). Values are parsed by the field's
type and checked by the config itself, so argparse and the app accept and
refuse exactly the same values.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import fields
from typing import Any

from .config import option_fields


def _number(kind: type, name: str):
    """An argparse type that refuses NaN/inf with a clear message."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} needs a number, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"--{name} needs a finite number, got {text!r}")
        return value

    return parse


def _value_type(spec) -> type:
    default = spec.default
    if isinstance(default, bool):
        return bool
    if isinstance(default, (int, float, str)):
        return type(default)
    return str  # optional paths (default None)


def add_config_options(parser: argparse.ArgumentParser, kind: type, only: tuple[str, ...] | None = None,
                       skip: tuple[str, ...] = ()) -> None:
    """Add one flag per ``option`` field of ``kind``.

    Args:
        only: restrict to these field names (in declaration order).
        skip: leave these out.
    """
    for spec in option_fields(kind):
        if not spec.metadata["cli"] or spec.name in skip or (only is not None and spec.name not in only):
            continue
        flag = spec.name.replace("_", "-")
        meta, default = spec.metadata, spec.default
        value_type = _value_type(spec)
        help_text = meta["help"]
        if value_type is bool:
            if default:
                parser.add_argument(f"--no-{flag}", dest=spec.name, action="store_false",
                                    help=meta.get("off") or f"turn off: {help_text}")
            else:
                parser.add_argument(f"--{flag}", dest=spec.name, action="store_true", help=help_text)
            continue
        kwargs: dict[str, Any] = dict(dest=spec.name, default=default, help=help_text)
        if meta["choices"] is not None:
            kwargs["choices"] = meta["choices"]
        if value_type in (int, float):
            kwargs["type"] = _number(value_type, flag)
            kwargs["metavar"] = "N" if value_type is int else "X"
        else:
            kwargs["type"] = str
        if default is not None:
            kwargs["help"] = f"{help_text} (default {default})"
        parser.add_argument(f"--{flag}", **kwargs)


def config_from_args(args: argparse.Namespace, kind: type) -> Any:
    """Build a ``kind`` config from parsed flags (fields not on the command line keep their defaults).

    Raises:
        ValueError: from the config's own checks.
    """
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in vars(args).items() if k in names})
