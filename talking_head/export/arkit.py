"""Our rig's coefficients as ARKit blendshape curves (``arkit.csv``), and back.

ARKit names 52 face blendshapes (Apple ``ARFaceAnchor.BlendShapeLocation``);
our rig has 25 shapes whose names follow ARKit with ``_L``/``_R`` for the
subject's left/right. The mapping:

=====================  ===========================================
our shape              ARKit column(s)
=====================  ===========================================
jawOpen                jawOpen
jawForward             jawForward
jawLeft / jawRight     jawLeft / jawRight
mouthClose             mouthClose
mouthFunnel            mouthFunnel
mouthPucker            mouthPucker
mouthLeft / Right      mouthLeft / mouthRight
mouthSmile_L / _R      mouthSmileLeft / mouthSmileRight
mouthStretch_L / _R    mouthStretchLeft / mouthStretchRight
mouthUpperUp           mouthUpperUpLeft and mouthUpperUpRight (same value)
mouthLowerDown         mouthLowerDownLeft and mouthLowerDownRight (same value)
mouthPress             mouthPressLeft and mouthPressRight (same value)
mouthRollLower/Upper   mouthRollLower / mouthRollUpper
mouthShrugLower/Upper  mouthShrugLower / mouthShrugUpper
eyeBlink_L / _R        eyeBlinkLeft / eyeBlinkRight
browDown_L / _R        browDownLeft / browDownRight
browInnerUp            browInnerUp
=====================  ===========================================

Left at zero (our rig has no such shape): the eight eyeLook* gaze columns,
eyeSquint*, eyeWide*, mouthFrown*, mouthDimple*, browOuterUp*, cheekPuff,
cheekSquint*, noseSneer*, tongueOut.

``arkit.csv``: a header, then one row per video frame: ``time`` (seconds,
the frame's presentation time ``i / fps``), the 52 ARKit names in Apple's
order, then the head pose relative to the photo's own pose: ``headYaw``,
``headPitch``, ``headRoll`` in degrees (the angles of
``face/pose.py::euler_angles``; applied to the canonical mesh as
``Rz(roll) Ry(yaw) Rx(pitch)``, see ``gltf.py``) and ``headX``, ``headY``,
``headZ`` in centimetres (canonical axes: x the subject's left, y
up, z towards the camera). The pose columns are zero while the pipeline has
no head-motion track.

Reading (``read_curves``) accepts ours or another tool's file: names match
ARKit's or our rig's, case-insensitively (so Live Link Face's
``EyeBlinkLeft`` works); a shape split in two ARKit columns takes the mean of
the columns present; other columns are reported as ignored.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

# Apple's order (ARFaceAnchor.BlendShapeLocation, grouped by region).
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
HEAD_COLUMNS: tuple[str, ...] = ("headYaw", "headPitch", "headRoll", "headX", "headY", "headZ")
TIME_COLUMN = "time"

# Shapes whose ARKit name is not ours with _L/_R spelled out.
_SPLIT = {"mouthUpperUp": ("mouthUpperUpLeft", "mouthUpperUpRight"),
          "mouthLowerDown": ("mouthLowerDownLeft", "mouthLowerDownRight"),
          "mouthPress": ("mouthPressLeft", "mouthPressRight")}


def arkit_columns(name: str) -> tuple[str, ...]:
    """ARKit column(s) of one of our shape names (``mouthSmile_L`` -> ``("mouthSmileLeft",)``)."""
    if name in _SPLIT:
        return _SPLIT[name]
    if name.endswith("_L"):
        return (name[:-2] + "Left",)
    if name.endswith("_R"):
        return (name[:-2] + "Right",)
    return (name,)


def arkit_matrix(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """(K, 52) float64 M such that ``coeffs @ M`` is the ARKit curves of (T, K) ``coeffs``.

    Raises:
        ValueError: one of ``names`` maps to no ARKit name.
    """
    matrix = np.zeros((len(names), len(ARKIT_NAMES)))
    for k, name in enumerate(names):
        for column in arkit_columns(name):
            if column not in ARKIT_NAMES:
                raise ValueError(f"rig shape {name!r} has no ARKit counterpart ({column!r})")
            matrix[k, ARKIT_NAMES.index(column)] = 1.0
    return matrix


def write_arkit_csv(path: Path, names, coeffs: np.ndarray, fps: float, head_pose: np.ndarray | None = None) -> None:
    """Write ``arkit.csv``.

    Args:
        names: (K,) rig names.
        coeffs: (T, K) coefficients.
        fps: video frame rate; row ``i`` has ``time = i / fps``.
        head_pose: (T, 6) yaw, pitch, roll (degrees), x, y, z (cm), or None (zeros).
    """
    coeffs = np.asarray(coeffs, dtype=np.float64)
    curves = coeffs @ arkit_matrix(tuple(names))
    pose = np.zeros((len(coeffs), len(HEAD_COLUMNS))) if head_pose is None else np.asarray(head_pose, np.float64)
    if pose.shape != (len(coeffs), len(HEAD_COLUMNS)):
        raise ValueError(f"head_pose must be ({len(coeffs)}, 6), got {pose.shape}")
    times = np.arange(len(coeffs)) / fps
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((TIME_COLUMN,) + ARKIT_NAMES + HEAD_COLUMNS)
        for t, row, head in zip(times, curves, pose):
            writer.writerow([f"{t:.6f}"] + [f"{v:.6f}" for v in row] + [f"{v:.4f}" for v in head])


@dataclass(frozen=True)
class Curves:
    """Curves read from a CSV, on their own time axis.

    Attributes:
        times: (N,) seconds, strictly increasing, or None when the file has no
            ``time`` column (rows are then frames at the video's rate).
        names: rig names found (each a column of ``values``).
        values: (N, len(names)) float64.
        ignored: columns that matched nothing (ARKit shapes the rig lacks
            only when they are not all zero).
        head: (N, 6) the head pose columns (zeros where absent), or None
            when the file has none.
    """

    times: np.ndarray | None
    names: tuple[str, ...]
    values: np.ndarray
    ignored: tuple[str, ...]
    head: np.ndarray | None = None


def read_curves(path: str | Path, rig_names) -> Curves:
    """Read an ``arkit.csv``-style file into rig columns.

    Raises:
        InputError: missing or unreadable file, no usable column, non-numeric
            or non-finite values, or times that do not increase.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(f"Curve file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"Cannot read {path.name} as CSV: {error}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise InputError(f"{path.name} needs a header and at least one row of values")
    header = [h.strip() for h in rows[0]]
    lookup = {n.lower(): (n,) for n in rig_names}  # our own names first
    for name in rig_names:
        for column in arkit_columns(name):
            lookup.setdefault(column.lower(), ())
            lookup[column.lower()] += (name,) if name not in lookup[column.lower()] else ()
    time_index = next((i for i, h in enumerate(header) if h.lower() == TIME_COLUMN), None)
    sources: dict[str, list[int]] = {}
    ignored = []
    head_index = {h.lower(): i for i, h in enumerate(header) if h.lower() in {c.lower() for c in HEAD_COLUMNS}}
    for i, h in enumerate(header):
        if i == time_index or h.lower() in head_index:
            continue
        targets = lookup.get(h.lower(), ())
        for target in targets:
            sources.setdefault(target, []).append(i)
        if not targets:
            ignored.append((i, h))
    if not sources:
        raise InputError(f"{path.name} has no column named like an ARKit blendshape or a rig shape "
                         "(see `talking-head rig-names`)")
    width = len(header)
    used = sorted({i for idx in sources.values() for i in idx} | ({time_index} if time_index is not None else set()))
    strict = set(used)

    def number(cell: str, column: int) -> float:
        try:
            return float(cell) if cell.strip() else math.nan
        except ValueError:
            if column in strict:
                raise InputError(f"{path.name}: {header[column]} has a value that is not a number: {cell!r}") from None
            return math.nan  # ignored columns may hold anything (timecodes, labels)

    table = np.array([[number(c, j) for j, c in enumerate((r + [""] * width)[:width])] for r in rows[1:]],
                     dtype=np.float64)
    bad = ~np.isfinite(table[:, used]).all(axis=1)
    if bad.any():
        raise InputError(f"{path.name}: row {int(np.argmax(bad)) + 2} has an empty or non-finite value")
    times = None
    if time_index is not None:
        times = table[:, time_index]
        if len(times) > 1 and not (np.diff(times) > 0).all():
            raise InputError(f"{path.name}: the time column must increase from row to row")
    # ARKit shapes the rig lacks (tongueOut...) are reported only when they move.
    arkit = {n.lower() for n in ARKIT_NAMES}
    ignored = [h for i, h in ignored
               if h.lower() not in arkit or np.nan_to_num(table[:, i]).any()]
    names = tuple(n for n in rig_names if n in sources)
    values = np.stack([table[:, sources[n]].mean(axis=1) for n in names], axis=1)
    head = None
    if head_index:
        head = np.zeros((len(table), len(HEAD_COLUMNS)))
        for j, column in enumerate(HEAD_COLUMNS):
            if column.lower() in head_index:
                head[:, j] = np.nan_to_num(table[:, head_index[column.lower()]])
    return Curves(times, names, values, tuple(ignored), head)


def resample(curves: Curves, frames: int, fps: float) -> tuple[np.ndarray, tuple[str, ...]]:
    """Curves at the video's frame times ``i / fps``, linearly interpolated.

    Before the first and after the last sample the end values are held.

    Returns:
        (frames, len(curves.names)) float64 and notes on length mismatches.
    """
    times = curves.times if curves.times is not None else np.arange(len(curves.values)) / fps
    wanted = np.arange(frames) / fps
    out = np.stack([np.interp(wanted, times, curves.values[:, j]) for j in range(len(curves.names))], axis=1)
    notes = []
    duration = frames / fps
    span = times[-1] + 1.0 / fps
    if span < duration - 0.5 / fps:
        notes.append(f"the curves end at {span:.2f} s, before the audio ({duration:.2f} s): their last values are "
                     "held to the end")
    elif span > duration + 0.5 / fps:
        notes.append(f"the curves run {span:.2f} s, longer than the audio ({duration:.2f} s): the rest is cut")
    return out, tuple(notes)
