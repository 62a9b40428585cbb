"""`evaluate`: measure a talking-head video from its pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..face.landmarks import LandmarkDetector
from ..media import load_image
from ..types import Photo
from ..video import read_frames, read_header
from .identity import face_descriptor, identity_distance
from .metrics import (
    MOUTH_POINTS,
    STATIC_SKIN,
    best_lag_correlation,
    cpbd,
    fill_gaps,
    flicker,
    interocular,
    jitter,
    loudness_envelope,
    mouth_opening,
    pearson,
    region_mask,
)

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
MAX_SHARPNESS_FRAMES = 60
MAX_IDENTITY_FRAMES = 12


@dataclass(frozen=True)
class VideoTrack:
    """Landmarks of every frame of a video.

    Attributes:
        points: (T, 478, 3) float64, NaN where no face was found.
        fps: frames per second of the video.
        size: (height, width).
    """

    points: np.ndarray
    fps: float
    size: tuple[int, int]

    @property
    def found(self) -> np.ndarray:
        """(T,) bool, frames with a face."""
        return np.isfinite(self.points[:, 0, 0])


def track_video(path: str | Path, keep_frames: np.ndarray | None = None) -> tuple[VideoTrack, dict[int, np.ndarray]]:
    """Detect landmarks on every frame (MediaPipe in tracking mode), decoding the video once.

    Args:
        path: video file.
        keep_frames: frame indices whose pixels to return as well.
    Returns:
        (track, {index: (H, W, 3) uint8}) for the kept frames.
    """
    scan = _scan(path, keep_frames, measure_flicker=False)
    return scan.track, scan.kept


@dataclass(frozen=True)
class _Scan:
    """One decoding pass over a video: landmarks, kept frames, static-skin flicker."""

    track: VideoTrack
    kept: dict[int, np.ndarray]
    flicker: float


def _scan(path: str | Path, keep_frames: np.ndarray | None, measure_flicker: bool) -> _Scan:
    """Landmarks of every frame, the ``keep_frames`` pixels and, when asked, the flicker of
    static skin between consecutive frames with a face, all from one decode."""
    header = read_header(path)
    kept: dict[int, np.ndarray] = {}
    wanted = set(int(i) for i in keep_frames) if keep_frames is not None else set()
    rows = []
    total = count = 0.0
    previous = None
    # Tracking frames of a video: a lower threshold, the face is known to be there.
    with LandmarkDetector(max_faces=1, min_confidence=0.5, static=False) as detector:
        for index, frame in enumerate(read_frames(path)):
            faces = detector.detect_all(frame)
            rows.append(faces[0] if faces else np.full((478, 3), np.nan))
            if index in wanted:
                kept[index] = frame
            if measure_flicker and previous is not None and faces and np.isfinite(rows[-2][0, 0]):
                mask = region_mask(faces[0], STATIC_SKIN, frame.shape[:2])
                total += flicker(np.stack([previous, frame]), mask) * mask.sum()
                count += mask.sum()
            previous = frame
    points = np.stack(rows) if rows else np.zeros((0, 478, 3))
    track = VideoTrack(points, header.fps, (header.height, header.width))
    return _Scan(track, kept, total / count if count else float("nan"))


def resample_series(values: np.ndarray, fps_from: float, count: int, fps_to: float) -> np.ndarray:
    """Linearly resample a per-frame series to another frame rate and length."""
    times_from = np.arange(len(values)) / fps_from
    return np.interp(np.arange(count) / fps_to, times_from, values)


SHARPNESS_SIZE = 256  # faces are compared at one size, so the ratio does not reward resolution


def face_square(image: np.ndarray, points: np.ndarray, size: int = SHARPNESS_SIZE) -> np.ndarray:
    """The face's bounding square (face-oval landmarks), kept inside the image, resized to size x size.

    Args:
        image: (H, W, 3) uint8.
        points: (>=468, >=2) landmarks in pixels.
    Returns:
        (size, size, 3) uint8.
    """
    h, w = image.shape[:2]
    oval = points[list(FACE_OVAL), :2]
    (x0, y0), (x1, y1) = oval.min(axis=0), oval.max(axis=0)
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(np.clip(cx - side / 2, 0, max(w - side, 0))))
    top = int(round(np.clip(cy - side / 2, 0, max(h - side, 0))))
    side_px = max(int(round(side)), 1)
    crop = image[top : min(top + side_px, h), left : min(left + side_px, w)]
    interpolation = cv2.INTER_AREA if max(crop.shape[:2]) > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def face_sharpness(image: np.ndarray, points: np.ndarray) -> float:
    """Published CPBD of the face's bounding square resized to 256 px (the bench's sharpness)."""
    return cpbd(face_square(image, points))


def photo_sharpness(photo: Photo, points: np.ndarray) -> float:
    """Published CPBD of the photo's face at 256 px, the same measure as the video's."""
    return face_sharpness(photo.rgb, points)


@dataclass(frozen=True)
class Evaluation:
    """Every number `evaluate` reports (NaN where not applicable)."""

    frames: int
    fps: float
    duration: float
    has_audio: bool
    audio_video_difference: float
    face_found_fraction: float
    lip_sync_r: float
    lip_sync_best_r: float
    lip_sync_best_lag: int
    lip_sync_reference: str
    jitter_all: float
    jitter_mouth: float
    sharpness: float
    photo_sharpness: float
    identity_distance: float
    flicker: float

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


def evaluate_video(
    video: str | Path,
    photo: str | Path | None = None,
    real_video: str | Path | None = None,
    real_track: VideoTrack | None = None,
) -> Evaluation:
    """Measure a video (see the module and metric docstrings).

    Args:
        video: the talking-head video to measure.
        photo: the photo it was made from (for sharpness ratio and identity).
        real_video: a real video of the same speech (lip-sync reference).
        real_track: its landmarks, if already tracked (saves re-tracking).
    """
    header = read_header(video)  # the frame count is the header's here: it only places the samples
    sample_sharp = np.unique(np.linspace(0, max(header.frames - 1, 0), min(header.frames, MAX_SHARPNESS_FRAMES)).astype(int))
    sample_identity = sample_sharp[np.linspace(0, len(sample_sharp) - 1, min(len(sample_sharp), MAX_IDENTITY_FRAMES)).astype(int)]
    scan = _scan(video, sample_sharp, measure_flicker=True)
    track, frames = scan.track, scan.kept
    found = track.found
    points = track.points
    sample_sharp = np.array([i for i in sample_sharp if i in frames], dtype=int)
    sample_identity = np.array([i for i in sample_identity if i in frames], dtype=int)

    opening = fill_gaps(mouth_opening(points)) if found.any() else np.full(len(points), np.nan)
    if real_video is not None or real_track is not None:
        real = real_track if real_track is not None else track_video(real_video)[0]
        real_opening = fill_gaps(mouth_opening(real.points))
        reference = resample_series(real_opening, real.fps, len(opening), track.fps)
        label = "real video mouth opening"
    else:
        from ..audio.decode import decode_audio

        clip = decode_audio(video)
        reference = loudness_envelope(clip.samples, clip.sample_rate, len(opening), track.fps)
        label = "audio loudness"
    r = pearson(opening, reference)
    best_r, lag = best_lag_correlation(opening, reference)

    good = points[found]
    sharp = [face_sharpness(frames[i], points[i]) for i in sample_sharp if found[i]]
    all_frames_flicker = scan.flicker if found.sum() > 1 else float("nan")

    photo_cpbd = identity = float("nan")
    if photo is not None:
        picture = load_image(photo)
        with LandmarkDetector() as detector:
            photo_points = detector.detect(picture).points
        photo_cpbd = photo_sharpness(picture, photo_points)
        reference_descriptor = face_descriptor(picture.rgb, photo_points)
        distances = [identity_distance(face_descriptor(frames[i], points[i]), reference_descriptor)
                     for i in sample_identity if found[i]]
        identity = float(np.mean(distances)) if distances else float("nan")

    frame_count = len(points)  # counted while decoding, not the header's estimate
    duration = frame_count / track.fps
    audio_difference = float("nan")
    if header.audio_duration is not None:
        audio_difference = header.audio_duration - duration
    return Evaluation(
        frames=frame_count,
        fps=track.fps,
        duration=duration,
        has_audio=header.audio_codec is not None,
        audio_video_difference=audio_difference,
        face_found_fraction=float(found.mean()) if len(found) else 0.0,
        lip_sync_r=r,
        lip_sync_best_r=best_r,
        lip_sync_best_lag=lag,
        lip_sync_reference=label,
        jitter_all=jitter(good) if len(good) >= 3 else float("nan"),
        jitter_mouth=jitter(good, MOUTH_POINTS) if len(good) >= 3 else float("nan"),
        sharpness=float(np.nanmean(sharp)) if sharp else float("nan"),
        photo_sharpness=photo_cpbd,
        identity_distance=identity,
        flicker=all_frames_flicker,
    )
