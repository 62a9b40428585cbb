"""The phonetic driver: timed phones from a real-speech recogniser -> visemes -> rig.

Audio -> pocketsphinx (forced alignment to the transcript when one is given,
else its phone loop; ``audio/phonetic.py``) -> ARPAbet phones as IPA segments
-> the viseme and coarticulation model that also makes AudioNet's training
targets (``audio/visemes.py``: one implementation) -> coefficients per frame.
Voice activity (``audio/vad.py``) gates the mouth shut in pauses, whatever the
recogniser made of breaths and background sound. The track is then moved
``LEAD_FRAMES`` earlier (real lips lead the sound) and scaled by ``GAIN``, the
amplitude calibration to real speakers.
"""

from __future__ import annotations

import numpy as np

from ..motion.smoothing import smooth
from .base import DriveRequest, DriverOutput, Report, TimedPhone, scale_motion, shift_frames

# Calibrated on real talking videos by tools/eval_drivers.py (see README "Drivers").
LEAD_FRAMES = 0  # frames the mouth moves ahead of the phone timing, at 25 fps
GAIN = 1.0  # amplitude calibration of the viseme targets to real mouths
GATE_RAMP = 2  # half window (frames) of the raised-cosine ramp of the voice-activity gate


def speech_gate(speech: np.ndarray, ramp: int = GATE_RAMP) -> np.ndarray:
    """Soft 0..1 gate from a per-frame voice-activity mask.

    Args:
        speech: (T,) bool.
        ramp: raised-cosine half window in frames (0 = hard gate).
    Returns:
        (T,) float64, 1 in speech, 0 in pauses, ramps of about ``ramp`` frames.
    """
    gate = np.asarray(speech, dtype=np.float64)[:, None]
    return smooth(gate, ramp)[:, 0] if ramp > 0 and len(gate) else gate[:, 0]


class PhoneticDriver:
    """Timed phones -> visemes -> coefficients, gated by voice activity."""

    name = "phonetic"

    def __init__(self, lead_frames: int = LEAD_FRAMES, gain: float = GAIN):
        self.lead_frames = lead_frames
        self.gain = gain

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        from ..audio.phonetic import phones_to_segments, recognise
        from ..audio.vad import speech_mask
        from ..audio.visemes import coefficient_track

        clip = request.clip
        track = recognise(clip.samples, request.transcript)
        report(0.6)
        speech = speech_mask(clip.samples, request.frames, request.fps)
        report(0.8)
        segments = phones_to_segments(track.phones)
        driven = coefficient_track(segments, request.frames, request.fps, request.driven).astype(np.float64)
        driven *= speech_gate(speech)[:, None]
        # Lead is measured in 25 fps frames; keep it in seconds at other rates.
        lead = int(round(self.lead_frames * request.fps / 25.0))
        driven = shift_frames(driven, lead)
        coeffs = request.rest()
        columns = request.columns()
        coeffs[:, columns] = driven
        coeffs = scale_motion(coeffs, columns, self.gain * request.intensity)
        phones = tuple(TimedPhone(p.label, p.start, p.end) for p in track.phones)
        report(1.0)
        return DriverOutput(coeffs, tuple(track.notes), phones, speech)
