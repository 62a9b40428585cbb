"""Talking videos as AudioNet training data (the paper's own recipe).

For a video with sound: MediaPipe landmarks on every frame, rigid pose
removed (similarity on MediaPipe's Procrustes landmarks), and the rig fitted
to every frame with a per-video neutral face estimated jointly::

    e_t = rig.fit(X_t, N)                         bounded least squares
    N   = mean_t (X_t - sum_k e_tk D_k)           after shifting each e_k so
                                                  its 2nd percentile is 0

The coefficients are then sampled at the output frame centres
``(i + 0.5) / fps`` (linear interpolation between the video frames' centres,
frames without a face bridged) and paired with the audio's MFCC windows of
the same frames, so a video of any frame rate gives the same format as the
synthetic source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..eval.metrics import mouth_opening  # noqa: F401 - one definition, shared with evaluation

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


@dataclass(frozen=True)
class LandmarkTrack:
    """Landmarks of every video frame.

    Attributes:
        times: (T,) float64 seconds, each frame's centre time relative to the
            start of the audio track.
        points: (T, 478, 3) float64 image-space landmarks, NaN where no face.
        size: (height, width) of the frames.
    """

    times: np.ndarray
    points: np.ndarray
    size: tuple[int, int]

    @property
    def found(self) -> np.ndarray:
        """(T,) bool, frames with a face."""
        return ~np.isnan(self.points).any(axis=(1, 2))


def read_landmarks(path: str | Path, detector=None) -> LandmarkTrack:
    """Detect landmarks on every frame of a video (tracking mode).

    Args:
        detector: a ``LandmarkDetector``; default a tracking one made here.
    """
    import av

    from ..face.landmarks import LandmarkDetector

    own = detector is None
    if own:
        detector = LandmarkDetector(max_faces=1, min_confidence=0.5, static=False)
    times, frames = [], []
    size = (0, 0)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            audio_start = 0.0
            if container.streams.audio:
                a = container.streams.audio[0]
                if a.start_time is not None and a.time_base is not None:
                    audio_start = float(a.start_time * a.time_base)
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                size = rgb.shape[:2]
                faces = detector.detect_all(rgb)
                frames.append(faces[0] if faces else np.full((478, 3), np.nan))
                times.append(float(frame.time) - audio_start)
    finally:
        if own:
            detector.close()
    times = np.asarray(times, np.float64)
    # A frame is on screen from its timestamp until the next one: use the centre.
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
    points = np.asarray(frames, np.float64).reshape(-1, 478, 3)
    return LandmarkTrack(times + step / 2.0, points, size)


def unpose(points: np.ndarray) -> np.ndarray:
    """(T, >=468, 3) image-space landmarks -> (T, 468, 3) canonical cm."""
    from ..face.pose import estimate_pose
    from ..face.topology import load_topology

    topo = load_topology()
    out = np.empty((len(points), 468, 3))
    for t, p in enumerate(points):
        pose = estimate_pose(topo.vertices, p[:468], topo.procrustes_ids, topo.procrustes_weights)
        out[t] = pose.invert(p[:468])
    return out


def fit_weights() -> np.ndarray:
    """(468,) fit weights: the mouth, jaw, eyes and brows, a little elsewhere."""
    from ..face.rig import regions
    from ..face.topology import load_topology

    reg = regions(load_topology())
    return np.maximum.reduce([reg.mouth, reg.jaw, reg.eyes, reg.brows]) + 1e-3


def fit_video(shapes: np.ndarray, iterations: int = 30, regularization: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rig coefficients with a jointly estimated neutral face.

    Args:
        shapes: (T, 468, 3) unposed canonical landmarks of one person.
    Returns:
        neutral (468, 3) and coefficients (T, K) over ``load_rig().names``.
    """
    from ..face.rig import fit_with_neutral, load_rig

    return fit_with_neutral(load_rig(), shapes, fit_weights(), iterations, regularization)


def resample(times: np.ndarray, values: np.ndarray, n_frames: int, fps: float) -> np.ndarray:
    """Values at the output frame centres ``(i + 0.5) / fps`` (linear, clamped at the ends).

    Args:
        times: (T,) increasing seconds of the rows of ``values``.
        values: (T, ...) finite.
    Returns:
        (n_frames, ...) float64.
    """
    centres = (np.arange(n_frames) + 0.5) / fps
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(centres, times, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape((n_frames,) + values.shape[1:])


def loudness_silence(samples: np.ndarray, sample_rate: int, n_frames: int, fps: float,
                     threshold_db: float = -40.0, margin: float = 0.1) -> np.ndarray:
    """(n_frames,) bool: frames in deep silence, judged from the audio alone
    (RMS in 20 ms blocks below ``threshold_db`` relative to the loudest block,
    ``margin`` seconds from any louder block)."""
    block = int(0.02 * sample_rate)
    count = max(1, len(samples) // block)
    rms = np.sqrt(np.mean(samples[: count * block].astype(np.float64).reshape(count, block) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms / rms.max())
    loud_times = (np.flatnonzero(db > threshold_db) + 0.5) * block / sample_rate
    centres = (np.arange(n_frames) + 0.5) / fps
    if loud_times.size == 0:
        return np.ones(n_frames, bool)
    nearest = np.abs(centres[:, None] - loud_times[None]).min(axis=1)
    return nearest > margin


def video_example(path: str | Path, names: Sequence[str], fps: float = 25.0, detector=None):
    """One talking video as training frames (``dataset.Example``).

    Args:
        names: coefficient names to keep (rig names, e.g. the audio-driven ones).
    Raises:
        ValueError: no face in the video, or a name the rig lacks.
    """
    from ..audio.decode import decode_audio
    from ..audio.features import feature_windows, frame_count, mfcc
    from ..face.rig import load_rig
    from .dataset import Example

    path = Path(path)
    rig = load_rig()
    columns = [rig.index(n) for n in names]
    track = read_landmarks(path, detector)
    found = track.found
    if found.sum() < 2:
        raise ValueError(f"{path.name}: a face was found in {int(found.sum())} frames; need at least 2")
    _, coeffs = fit_video(unpose(track.points[found]))
    clip = decode_audio(path)
    n = frame_count(clip.duration, fps)
    targets = resample(track.times[found], coeffs[:, columns], n, fps).astype(np.float32)
    windows = feature_windows(mfcc(clip.samples, clip.sample_rate), n, fps)
    silent = loudness_silence(clip.samples, clip.sample_rate, n, fps)
    return Example(windows, targets, silent, f"video:{path.stem}")
