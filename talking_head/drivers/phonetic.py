"""The phonetic driver: timed phones from a real-speech recogniser -> visemes -> rig.

Audio -> voice activity (``audio/vad.py``, silero) -> pocketsphinx (forced
alignment to the transcript when one is given, else its phone loop;
``audio/phonetic.py``), with what the VAD calls silence marked as pauses ->
ARPAbet phones as IPA segments -> the viseme and coarticulation model that
also makes AudioNet's training targets (``audio/visemes.py``: one
implementation) -> coefficients per frame. Pauses are silence segments of
that model; the model's anticipation (0.1 s, fitted to real mouths) still
opens the lips well before a word, so a gate from the speech mask closes the
mouth from ``GATE_REACH`` frames beyond the speech on (``speech_gate``). The
track is then moved ``LEAD_FRAMES`` earlier and scaled by ``GAIN``.

Calibration (tools/eval_drivers.py; talk_a, talk_d, lieu_60s and four
held-out GRID clips, mouth re-detected on the output): GAIN 1 gives an
amplitude ratio of 0.96 (so no gain); lead 0 is best (the viseme fit found
the same on GRID). The gate, measured on the same clips from the
coefficients: mouth closed in 94 % of silent frames without it (83 % on the
60 s broadcast clip), 98 % with a reach of 2 frames and a 1-frame ramp (at
least 93 % per clip) for 0.03 less r (0.58 -> 0.55); a hard gate at the
speech edge closes 100 % but costs 0.04.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation

from ..motion.smoothing import smooth
from .base import DriveRequest, DriverOutput, Report, TimedPhone, scale_motion, shift_frames

# Calibrated on real talking videos by tools/eval_drivers.py (see README "Drivers").
LEAD_FRAMES = 0  # frames (at 25 fps) the mouth moves ahead of the phone timing
GAIN = 1.0  # amplitude calibration of the viseme targets to real mouths
GATE_REACH = 2  # frames (at 25 fps) beyond the speech where the lips may still move
GATE_RAMP = 1  # raised-cosine half window (frames) of the gate's edges


def speech_gate(speech: np.ndarray, reach: int = GATE_REACH, ramp: int = GATE_RAMP) -> np.ndarray:
    """0..1 gate that closes the mouth in pauses.

    Args:
        speech: (T,) bool, speech per frame.
        reach: frames on either side of speech that stay open (lips lead and trail the sound).
        ramp: raised-cosine half window of the edges (0: hard).
    Returns:
        (T,) float64: 1 in and near speech, 0 deeper in pauses.
    """
    speech = np.asarray(speech, dtype=bool)
    if not len(speech):
        return np.zeros(0)
    open_ = binary_dilation(speech, iterations=reach) if reach > 0 else speech
    gate = open_.astype(np.float64)[:, None]
    return (smooth(gate, ramp) if ramp > 0 else gate)[:, 0]


class PhoneticDriver:
    """Timed phones -> visemes -> coefficients; pauses from voice activity."""

    name = "phonetic"

    def __init__(self, lead_frames: int = LEAD_FRAMES, gain: float = GAIN, gate_reach: int = GATE_REACH):
        self.lead_frames = lead_frames
        self.gain = gain
        self.gate_reach = gate_reach

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        from ..audio.phonetic import phones_to_segments, recognise, speech_mask_from_phones
        from ..audio.visemes import coefficient_track

        # recognise runs the VAD itself: it retries at lower thresholds, or
        # ignores the VAD, on whispered and creaky speech the recogniser hears.
        track = recognise(request.clip.samples, request.transcript)
        report(0.8)
        segments = phones_to_segments(track.phones)
        speech = speech_mask_from_phones(track.phones, request.frames, request.fps)
        driven = coefficient_track(segments, request.frames, request.fps, request.driven).astype(np.float64)
        reach = int(round(self.gate_reach * request.fps / 25.0))
        driven *= speech_gate(speech, reach, GATE_RAMP)[:, None]
        # The lead is measured at 25 fps; keep it in seconds at other rates.
        driven = shift_frames(driven, int(round(self.lead_frames * request.fps / 25.0)))
        coeffs = request.rest()
        columns = request.columns()
        coeffs[:, columns] = driven
        coeffs = scale_motion(coeffs, columns, self.gain * request.intensity)
        phones = tuple(TimedPhone(p.label, p.start, p.end) for p in track.phones)
        report(1.0)
        return DriverOutput(coeffs, tuple(track.notes), phones, speech)
