"""Head motion measured from landmarks: per-frame pose and its statistics.

Used to calibrate the generated head-pose track (``motion/headpose.py``) on
real talking videos and to check our output against them, both re-detected
with MediaPipe the same way (``tools/measure_head_motion.py``).

Pose per frame is the rigid (Procrustes) fit of the canonical mesh to the
detected landmarks, the same fit the photo's reconstruction uses. Angles are
degrees; translation is in inter-ocular distances (IOD), so the numbers do
not depend on the video's resolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..face.pose import estimate_pose, euler_angles
from ..face.topology import NOSE_TIP, load_topology
from .metrics import fill_gaps, interocular

AXES = ("yaw", "pitch", "roll", "tx", "ty")


def landmark_poses(points: np.ndarray) -> np.ndarray:
    """Head pose of every frame of a landmark track.

    Args:
        points: (T, >=468, 3) image-space landmarks, NaN rows where no face.
    Returns:
        (T, 5) float64 (yaw, pitch, roll in degrees; tx, ty of the nose tip in
        IOD units relative to the track's first found frame); NaN rows where
        no face was found.
    """
    topology = load_topology()
    points = np.asarray(points, dtype=np.float64)
    out = np.full((len(points), 5), np.nan)
    found = np.isfinite(points[:, :468]).all(axis=(1, 2))
    if not found.any():
        return out
    iod = float(np.nanmedian(interocular(points[found])))
    origin = points[np.argmax(found), NOSE_TIP, :2]
    for index in np.flatnonzero(found):
        pose = estimate_pose(topology.vertices, points[index, :468], topology.procrustes_ids,
                             topology.procrustes_weights)
        out[index, :3] = euler_angles(pose.rotation)
        out[index, 3:] = (points[index, NOSE_TIP, :2] - origin) / iod
    return out


@dataclass(frozen=True)
class HeadStatistics:
    """Statistics of one head-pose track (see ``head_statistics``).

    Attributes:
        seconds: duration measured.
        std: {axis: standard deviation} (degrees or IOD).
        nose_std: std of the nose tip's 2D position (sqrt of summed variances), IOD.
        speed: mean angular speed, degrees/s (norm of the yaw, pitch, roll rates).
        median_frequency: Hz below which half of the angles' motion power lies (detrended).
        loudness_r: best cross-correlation of angular speed with the RMS loudness
            envelope (dB) within +-0.5 s; NaN without audio.
        loudness_lag: s at that best; positive when the motion follows the sound.
    """

    seconds: float
    std: dict
    nose_std: float
    speed: float
    median_frequency: float
    loudness_r: float = float("nan")
    loudness_lag: float = float("nan")

    def row(self) -> dict:
        out = asdict(self)
        out.update({f"std_{axis}": value for axis, value in self.std.items()})
        del out["std"]
        return out


def angular_speed(poses: np.ndarray, fps: float) -> np.ndarray:
    """(T,) degrees/s: norm of the (yaw, pitch, roll) rate, central differences."""
    angles = np.asarray(poses, dtype=np.float64)[:, :3]
    if len(angles) < 2:
        return np.zeros(len(angles))
    return np.linalg.norm(np.gradient(angles, axis=0), axis=1) * fps


def median_frequency(series: np.ndarray, fps: float) -> float:
    """Hz below which half the power of a (T, C) detrended series lies."""
    series = np.asarray(series, dtype=np.float64)
    t = np.arange(len(series))
    if len(series) < 4:
        return float("nan")
    fit = np.polyfit(t, series, 1)
    detrended = series - (t[:, None] * fit[0] + fit[1])
    power = (np.abs(np.fft.rfft(detrended * np.hanning(len(series))[:, None], axis=0)) ** 2).sum(axis=1)
    power[0] = 0.0
    cumulative = np.cumsum(power)
    if cumulative[-1] <= 0:
        return float("nan")
    freqs = np.fft.rfftfreq(len(series), 1.0 / fps)
    return float(freqs[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def lagged_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Best Pearson r of a[t + lag] against b[t] for |lag| <= max_lag, and that lag."""
    best = (float("nan"), 0)
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(lag, 0): len(a) + min(lag, 0)]
        y = b[max(-lag, 0): len(b) + min(-lag, 0)]
        if len(x) < 8 or x.std() == 0 or y.std() == 0:
            continue
        r = float(np.corrcoef(x, y)[0, 1])
        if not np.isfinite(best[0]) or r > best[0]:
            best = (r, lag)
    return best


def head_statistics(poses: np.ndarray, fps: float, loudness_db: np.ndarray | None = None) -> HeadStatistics:
    """Amplitude, speed, spectrum and relation to loudness of one pose track.

    Args:
        poses: (T, 5) from ``landmark_poses`` (NaN gaps are interpolated).
        fps: frames per second.
        loudness_db: (T,) RMS level per frame (``metrics.loudness_envelope``), optional.
    """
    poses = np.stack([fill_gaps(c) for c in np.asarray(poses, dtype=np.float64).T], axis=1)
    std = {axis: float(np.std(poses[:, k])) for k, axis in enumerate(AXES)}
    nose = float(np.sqrt(poses[:, 3].var() + poses[:, 4].var()))
    speed = angular_speed(poses, fps)
    r, lag = float("nan"), 0
    if loudness_db is not None:
        # The envelope is smoothed over ~0.2 s: speech alternates faster than heads move.
        loud = np.convolve(np.asarray(loudness_db, float), np.ones(5) / 5, mode="same")
        r, lag = lagged_correlation(speed, loud, int(round(0.5 * fps)))
    return HeadStatistics(len(poses) / fps, std, nose, float(speed.mean()), median_frequency(poses[:, :3], fps),
                          r, lag / fps if np.isfinite(r) else float("nan"))


def windows(frames: int, fps: float, seconds: float = 8.0) -> list[slice]:
    """Non-overlapping windows of ``seconds`` (the whole track when shorter)."""
    size = int(round(seconds * fps))
    if frames <= size:
        return [slice(0, frames)]
    return [slice(start, start + size) for start in range(0, frames - size + 1, size)]


# Upper and lower lid midpoints of each eye (MediaPipe's 468-point topology).
EYE_LIDS = ((159, 145), (386, 374))


def eye_opening(points: np.ndarray) -> np.ndarray:
    """Lid gap of each eye over the inter-ocular distance.

    Args:
        points: (T, >=468, >=2) landmarks.
    Returns:
        (T, 2) float64 (subject's right eye, left eye).
    """
    points = np.asarray(points, dtype=np.float64)
    gaps = [np.linalg.norm(points[:, a, :2] - points[:, b, :2], axis=-1) for a, b in EYE_LIDS]
    return np.stack(gaps, axis=1) / interocular(points)[:, None]


def blink_depth(opening: np.ndarray, closure: np.ndarray, shut: float = 0.95) -> np.ndarray:
    """Deepest closure of each blink relative to the open eye.

    Args:
        opening: (T, 2) from ``eye_opening`` on a video.
        closure: (T,) the blink track that drove it (1 = lids meant to meet).
        shut: closure above which a frame belongs to a blink's deepest part.
    Returns:
        (N,) float64, one per blink: min over the blink's frames of the mean
        eye opening, over the median opening of frames with no blink (0 = shut, 1 = open).
    """
    opening = np.asarray(opening, dtype=np.float64).mean(axis=1)
    closure = np.asarray(closure, dtype=np.float64)
    open_level = np.nanmedian(opening[closure < 0.02])
    depths = []
    inside = closure > 0.3
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        if closure[start:stop].max() >= shut:
            depths.append(np.nanmin(opening[max(start - 1, 0): stop + 1]) / open_level)
    return np.array(depths)


def unposed_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap measured after removing each frame's rigid head pose.

    The 2D gap over the inter-ocular distance (``metrics.mouth_opening``)
    changes with the head's pose (MediaPipe reads the same mouth ~10 % more or
    less open at +-8 degrees of yaw on our renders); un-posing the landmarks
    with the rigid fit first gives a measure of the mouth alone, to tell a
    worse mouth from a moving head.

    Args:
        points: (T, >=468, 3) landmarks, NaN rows where no face.
    Returns:
        (T,) float64 gap over the un-posed inter-ocular distance; NaN where no face.
    """
    from ..face.rig import inner_lip_gap

    topology = load_topology()
    points = np.asarray(points, dtype=np.float64)
    out = np.full(len(points), np.nan)
    for index in np.flatnonzero(np.isfinite(points[:, :468]).all(axis=(1, 2))):
        pose = estimate_pose(topology.vertices, points[index, :468], topology.procrustes_ids,
                             topology.procrustes_weights)
        unposed = pose.invert(points[index, :468])
        out[index] = inner_lip_gap(unposed) / float(interocular(unposed[None])[0])
    return out
