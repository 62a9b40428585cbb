"""External motion in: an ``arkit.csv``-style file of blendshape curves drives the face.

The file is ours (``--export-animation``) or another tool's (ARKit capture,
Live Link Face, Audio2Face, a hand-keyed curve): columns named like ARKit's
blendshapes or our rig's shapes, case-insensitively, optionally a ``time``
column in seconds (see ``export/arkit.py``). Columns that match nothing are
ignored with a note; rig shapes without a column stay at rest (the mouth
closed, the eyes and brows as in the photo). The curves are resampled
linearly to the video's frame times ``i / fps``.

The audio is the soundtrack and sets the length: a shorter curve holds its
last values to the end, a longer one is cut (both with a note). Head pose
columns (``headYaw``... as ``arkit.csv`` has them) move the head when
``--head-motion`` is above 0 (the file's pose replaces the one made from the
speech; 0 keeps the head still, with a note). Without a
``time`` column the rows are taken as frames at the video's rate. The
curves are used as given (no mouth-motion calibration beyond the
``--mouth-motion`` factor on the jaw and mouth columns); the pipeline's
post-processes still apply, so pass ``--smoothing 0 --no-blink`` to render a
track exactly as it is in the file.
"""

from __future__ import annotations

import numpy as np

from .base import DriveRequest, DriverOutput, Report, scale_motion


class CurvesDriver:
    """Reads blendshape curves from a CSV instead of listening to the audio.

    Args:
        path: the CSV file.
    """

    name = "curves"

    def __init__(self, path: str):
        self.path = path

    def drive(self, request: DriveRequest, report: Report) -> DriverOutput:
        from ..export.arkit import read_curves, resample

        curves = read_curves(self.path, request.names)
        values, notes = resample(curves, request.frames, request.fps)
        coeffs = request.rest()
        columns = request.columns(curves.names)
        coeffs[:, columns] = values
        notes = list(notes)
        if curves.ignored:
            shown = ", ".join(curves.ignored[:8]) + (" ..." if len(curves.ignored) > 8 else "")
            notes.append(f"{len(curves.ignored)} column(s) of the curve file matched no blendshape and were "
                         f"ignored: {shown}")
        head = None
        if curves.head is not None and np.abs(curves.head).max() > 1e-6:
            head = head_from_columns(curves, request.frames, request.fps)
        if curves.times is None:
            notes.append(f"the curve file has no time column: its rows are taken as frames at {request.fps:g} fps")
        report(1.0)
        return DriverOutput(scale_motion(coeffs, request.columns(), request.intensity), tuple(notes), absolute=True,
                            head=head)


def head_from_columns(curves, frames: int, fps: float) -> np.ndarray:
    """The file's head pose at the video's frames, in the pipeline's units.

    Args:
        curves: ``export.arkit.Curves`` with ``head`` (N, 6): yaw, pitch, roll
            degrees, x, y, z cm (x right, y up), as ``export_animation`` writes them.
    Returns:
        (frames, 5): yaw, pitch, roll degrees; tx, ty in inter-ocular distances
        (image axes, y down); z is not used (the renderer's camera is orthographic).
    """
    from ..eval.metrics import interocular
    from ..face.topology import load_topology

    times = curves.times if curves.times is not None else np.arange(len(curves.head)) / fps
    wanted = np.arange(frames) / fps
    pose = np.stack([np.interp(wanted, times, curves.head[:, j]) for j in range(6)], axis=1)
    iod_cm = float(interocular(load_topology().vertices[None])[0])
    return np.column_stack([pose[:, :3], pose[:, 3] / iod_cm, -pose[:, 4] / iod_cm])
