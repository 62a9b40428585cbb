"""The phonetic driver: timed phones from a real-speech recogniser -> visemes -> rig.

Audio -> voice activity (``audio/vad.py``, silero) -> pocketsphinx (forced
alignment to the transcript when one is given, else its phone loop;
``audio/phonetic.py``), with what the VAD calls silence marked as pauses ->
ARPAbet phones as IPA segments -> the viseme and coarticulation model that
also makes AudioNet's training targets (``audio/visemes.py``: one
implementation) -> coefficients per frame. Pauses are silence segments of
that model, so the mouth closes in them by construction. The track is then
moved ``LEAD_FRAMES`` earlier (real lips lead the sound) and scaled by
``GAIN``, the amplitude calibration to real speakers.
"""

from __future__ import annotations

import numpy as np

from .base import DriveRequest, DriverOutput, Report, TimedPhone, scale_motion, shift_frames

# Calibrated on real talking videos by tools/eval_drivers.py (see README "Drivers").
LEAD_FRAMES = 0  # frames (at 25 fps) the mouth moves ahead of the phone timing
GAIN = 1.0  # amplitude calibration of the viseme targets to real mouths


class PhoneticDriver:
    """Timed phones -> visemes -> coefficients; pauses from voice activity."""

    name = "phonetic"

    def __init__(self, lead_frames: int = LEAD_FRAMES, gain: float = GAIN):
        self.lead_frames = lead_frames
        self.gain = gain

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        from ..audio.phonetic import phones_to_segments, recognise, speech_mask_from_phones
        from ..audio.visemes import coefficient_track

        # recognise runs the VAD itself: it retries at lower thresholds, or
        # ignores the VAD, on whispered and creaky speech the recogniser hears.
        track = recognise(request.clip.samples, request.transcript)
        report(0.8)
        segments = phones_to_segments(track.phones)
        driven = coefficient_track(segments, request.frames, request.fps, request.driven).astype(np.float64)
        # The lead is measured at 25 fps; keep it in seconds at other rates.
        driven = shift_frames(driven, int(round(self.lead_frames * request.fps / 25.0)))
        coeffs = request.rest()
        columns = request.columns()
        coeffs[:, columns] = driven
        coeffs = scale_motion(coeffs, columns, self.gain * request.intensity)
        phones = tuple(TimedPhone(p.label, p.start, p.end) for p in track.phones)
        report(1.0)
        return DriverOutput(coeffs, tuple(track.notes), phones,
                            speech_mask_from_phones(track.phones, request.frames, request.fps))
