"""Seconds per stage, measured with one small helper instead of perf_counter pairs."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class Timings:
    """Accumulates wall-clock seconds per named stage.

    Use ``with timings("render"): ...``; a name used twice adds up.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
