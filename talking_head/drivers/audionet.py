"""The paper's driver: AudioNet on one MFCC window per video frame, streamed."""

from __future__ import annotations

import numpy as np

from .base import DriveRequest, DriverOutput, Report, scale_motion

CHUNK_FRAMES = 500  # windows per batch: memory stays flat in the audio's length


class AudioNetDriver:
    """Runs a loaded AudioNet over the clip's feature windows, chunk by chunk.

    Args:
        net: a loaded ``AudioNet`` (the pipeline caches it per weights and device).
        gain: calibration of its amplitude to real speakers (1 = as trained).
    """

    name = "audionet"

    def __init__(self, net, gain: float = 1.0):
        self.net = net
        self.gain = gain

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        from ..audio.audionet import predict
        from ..audio.features import iter_feature_windows

        coeffs = request.rest()
        columns = request.columns(tuple(self.net.config.names))
        done = 0
        for batch in iter_feature_windows(request.clip, fps=request.fps, chunk_frames=CHUNK_FRAMES):
            coeffs[done : done + len(batch), columns] = predict(self.net, batch)
            done += len(batch)
            report(done / max(request.frames, 1))
        coeffs = scale_motion(coeffs, columns, self.gain * request.intensity)
        return DriverOutput(np.asarray(coeffs))
