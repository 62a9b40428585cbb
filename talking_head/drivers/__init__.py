"""The table of drivers: name -> factory. The pipeline looks drivers up here.

A factory gets the pipeline's model cache (``models``, with ``audionet(config)``)
and the call's config, and returns a ``Driver``. Adding a driver is one entry
here and its name in ``config.DRIVERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Driver, DriveRequest, DriverOutput, TimedPhone, scale_motion, shift_frames

__all__ = ["DRIVER_TABLE", "Driver", "DriveRequest", "DriverOutput", "TimedPhone", "make_driver", "scale_motion",
           "shift_frames"]


def _phonetic(models, config) -> Driver:
    from .phonetic import PhoneticDriver

    return PhoneticDriver()


def _audionet(models, config) -> Driver:
    from .audionet import AudioNetDriver

    return AudioNetDriver(models.audionet(config))


def _loudness(models, config) -> Driver:
    from .loudness import LoudnessDriver

    return LoudnessDriver()


def _curves(models, config) -> Driver:
    from .curves import CurvesDriver

    return CurvesDriver(config.coeffs)


DRIVER_TABLE: dict[str, Callable[..., Driver]] = {
    "phonetic": _phonetic,
    "audionet": _audionet,
    "loudness": _loudness,
    "curves": _curves,
}


def make_driver(name: str, models, config) -> Driver:
    """The driver called ``name``.

    Raises:
        KeyError: unknown name (the config's check refuses it earlier).
    """
    return DRIVER_TABLE[name](models, config)
