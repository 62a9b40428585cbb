"""The loudness baseline: the jaw follows the audio's RMS level (see ``audio/loudness.py``)."""

from __future__ import annotations

from ..audio.loudness import loudness_coefficients, loudness_track
from .base import DriveRequest, DriverOutput, Report, scale_motion


class LoudnessDriver:
    """The comparison every other driver must beat; knows nothing of phonemes."""

    name = "loudness"

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        clip = request.clip
        opening = loudness_track(clip.samples, clip.sample_rate, request.frames, request.fps)
        coeffs = loudness_coefficients(opening, request.names, request.base, request.driven)
        report(1.0)
        return DriverOutput(scale_motion(coeffs, request.columns(), request.intensity))
