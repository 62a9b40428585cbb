"""The driver interface: speech in, a (T, K) rig-coefficient track out.

A driver turns one decoded clip into expression coefficients for every video
frame. Drivers are interchangeable behind ``Driver`` and listed, by name, in
the table of ``talking_head/drivers/__init__.py``; the pipeline looks a driver
up there and never branches on its name. What every driver shares (the
columns it may move, the photo's expression in the others, the mouth-motion
intensity) lives in ``DriveRequest`` and the pure functions below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..audio.decode import AudioClip

Report = Callable[[float], None]


@dataclass(frozen=True)
class DriveRequest:
    """What a driver gets.

    Attributes:
        clip: decoded mono audio (16 kHz float32).
        frames: T, the number of video frames (``features.frame_count``).
        fps: video frame rate.
        names: (K,) rig shape names, rig order.
        driven: the names a speech driver moves (jaw and mouth shapes, from the rig).
        base: (K,) float64 the photo's own expression, kept in the columns
            the driver does not move (eyes, brows).
        transcript: what is said, when the user gave it (normalised text), else None.
        intensity: the user's mouth-motion factor (1 = calibrated to real speakers).
    """

    clip: AudioClip
    frames: int
    fps: float
    names: tuple[str, ...]
    driven: tuple[str, ...]
    base: np.ndarray
    transcript: str | None = None
    intensity: float = 1.0

    def columns(self, names: tuple[str, ...] | None = None) -> list[int]:
        """Rig column indices of ``names`` (default: the driven names)."""
        return [self.names.index(n) for n in (self.driven if names is None else names)]

    def rest(self) -> np.ndarray:
        """(T, K) float64: the photo's expression with the driven columns at rest (0)."""
        coeffs = np.tile(np.asarray(self.base, dtype=np.float64), (self.frames, 1))
        coeffs[:, self.columns()] = 0.0
        return coeffs


@dataclass(frozen=True)
class TimedPhone:
    """One recognised or aligned phone (ARPAbet label, seconds)."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class DriverOutput:
    """What a driver returns.

    Attributes:
        coeffs: (T, K) float64 coefficients before motion post-processing.
        notes: remarks for the user (fallbacks taken, languages).
        phones: timed phones when the driver knows them (phonetic driver).
        speech: (T,) bool voice activity per frame when the driver measured it.
        absolute: the coefficients are a whole expression (external curves),
            not speech relative to rest: the photo's expression is not put back
            under them.
        head: (T, 5) head-pose deltas from the source (yaw, pitch, roll
            degrees; tx, ty inter-ocular distances, image axes), used instead
            of the pose generated from the speech; None to generate it.
    """

    coeffs: np.ndarray
    notes: tuple[str, ...] = ()
    phones: tuple[TimedPhone, ...] = ()
    speech: np.ndarray | None = field(default=None, compare=False)
    absolute: bool = False
    head: np.ndarray | None = field(default=None, compare=False)


class Driver(Protocol):
    """Speech -> coefficients. ``name`` is its key in the driver table."""

    name: str

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        """Coefficients for every frame of ``request.clip``; ``report(fraction)`` shows progress."""
        ...


def scale_motion(coeffs: np.ndarray, columns: list[int], gain: float) -> np.ndarray:
    """Scale the driven columns' departure from rest (0) by ``gain``.

    Every mouth shape scales by the same factor, so relations between shapes
    hold (``mouthClose`` seals the lips over ``jawOpen`` when both are equal).

    Args:
        coeffs: (T, K).
        columns: the driven columns.
        gain: > 0.
    Returns:
        (T, K) float64, the driven columns clipped to [0, 1].
    """
    out = np.array(coeffs, dtype=np.float64)
    out[:, columns] = np.clip(out[:, columns] * gain, 0.0, 1.0)
    return out


def shift_frames(track: np.ndarray, frames: int) -> np.ndarray:
    """Move a (T, ...) track ``frames`` earlier (positive) or later (negative), holding the ends.

    Real lips move ahead of the sound they make; a driver that times the mouth
    by the sound shifts its track earlier.
    """
    if frames == 0 or len(track) == 0:
        return track
    index = np.clip(np.arange(len(track)) + frames, 0, len(track) - 1)
    return track[index]
