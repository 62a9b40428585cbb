"""Frozen records that pass between pipeline stages.

Coordinate conventions used everywhere:

* Image space: ``x`` right, ``y`` down, in pixels of the (EXIF-oriented) photo,
  continuous, with pixel ``(i, j)`` covering ``[j, j+1) x [i, i+1)`` so its centre
  is at ``(j + 0.5, i + 0.5)``. Depth ``z`` is in the same pixel units, smaller is
  nearer to the camera (MediaPipe's convention).
* Canonical space: MediaPipe's canonical face, centimetres, ``x`` right (the
  subject's left), ``y`` up, ``z`` towards the viewer. ``image = s * R @ c + t``
  with a proper rotation ``R`` (a frontal face has ``R ~ diag(1, -1, -1)``).
* UV space: ``u`` right, ``v`` down as an image row, both in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np


def _read_only(record, *names: str) -> None:
    """Replace each named array field of a frozen record by a read-only view of it.

    A view, so the caller's own array stays writable; the record's cannot be
    changed behind the next stage's back.
    """
    for name in names:
        view = np.asarray(getattr(record, name)).view()
        view.flags.writeable = False
        object.__setattr__(record, name, view)


@dataclass(frozen=True)
class Photo:
    """A decoded photo.

    Attributes:
        rgb: (H, W, 3) uint8, EXIF orientation applied, alpha composited on white.
        source: where it came from (a path, or ``"<array>"``).
        notes: human-readable remarks on conversions made (for example "16-bit
            scaled to 8-bit").
    """

    rgb: np.ndarray
    source: str = "<array>"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _read_only(self, "rgb")

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.rgb.shape[0], self.rgb.shape[1]


@dataclass(frozen=True)
class FaceLandmarks:
    """MediaPipe Face Mesh result for the chosen face.

    Attributes:
        points: (478, 3) float64 image-space landmarks (468 mesh points + 10 iris
            points), ``z`` scaled like MediaPipe's (by the image width).
        image_size: (height, width) of the photo the points refer to.
        num_faces: how many faces were detected; the largest is ``points``.
        lips_hidden: the lips do not look like lips (a moustache, a mask): the
            mouth is animated without a painted interior (``face/landmarks.py``).
    """

    points: np.ndarray
    image_size: tuple[int, int]
    num_faces: int = 1
    lips_hidden: bool = False

    def __post_init__(self) -> None:
        _read_only(self, "points")

    @property
    def mesh_points(self) -> np.ndarray:
        """(468, 3) the points that are vertices of the face mesh."""
        return self.points[:468]

    @property
    def face_width(self) -> float:
        """Width of the landmark bounding box in pixels."""
        return float(np.ptp(self.points[:468, 0]))


@dataclass(frozen=True)
class RigidPose:
    """Similarity transform from canonical to image space: ``x = s R c + t``.

    Attributes:
        scale: s, pixels per canonical centimetre.
        rotation: (3, 3) proper rotation R.
        translation: (3,) t in image space.
    """

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def __post_init__(self) -> None:
        _read_only(self, "rotation", "translation")

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map (..., 3) canonical points to image space."""
        return self.scale * points @ self.rotation.T + self.translation

    def invert(self, points: np.ndarray) -> np.ndarray:
        """Map (..., 3) image-space points to canonical space."""
        return (points - self.translation) @ self.rotation / self.scale


@dataclass(frozen=True)
class FaceReconstruction:
    """The photo's face as an animatable 3D mesh.

    Attributes:
        landmarks: the detection the reconstruction was fitted to.
        pose: rigid pose of the face in the photo.
        identity: (468, 3) the person's neutral mesh in canonical space (the
            photo's own expression removed).
        expression: (K,) the photo's own expression coefficients.
    """

    landmarks: FaceLandmarks
    pose: RigidPose
    identity: np.ndarray
    expression: np.ndarray


    def __post_init__(self) -> None:
        _read_only(self, "identity", "expression")

@dataclass(frozen=True)
class FaceTexture:
    """A face texture in the canonical UV layout.

    Attributes:
        rgba: (S, S, 4) uint8; alpha 255 on texels covered by the mesh.
        valid: (S, S) bool, texels sampled directly from visible surface (the
            rest were filled from the mirrored side or the nearest valid texel).
        mode: ``"dense"`` or ``"paper"``.
    """

    rgba: np.ndarray
    valid: np.ndarray
    mode: str = "dense"


    def __post_init__(self) -> None:
        _read_only(self, "rgba", "valid")

@dataclass(frozen=True)
class FaceAsset:
    """Everything the photo stage produces: the animatable, textured face.

    Attributes:
        photo: the decoded photo (restored when ``restored``).
        reconstruction: landmarks, pose, identity mesh, the photo's expression.
        texture: the face texture in UV space.
        timings: seconds spent per stage (read-only).
        restored: the photo's face was restored before sampling (reference mode).
    """

    photo: Photo
    reconstruction: FaceReconstruction
    texture: FaceTexture
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    restored: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))

    @property
    def notes(self) -> tuple[str, ...]:
        """Remarks worth showing a user (conversions made, several faces)."""
        notes = list(self.photo.notes)
        faces = self.reconstruction.landmarks.num_faces
        if faces > 1:
            notes.append(f"{faces} faces found; animating the largest")
        if self.reconstruction.landmarks.lips_hidden:
            notes.append("the lips look covered (a moustache, a mask?): the mouth moves under the cover, "
                         "with no teeth painted")
        return tuple(notes)


@dataclass(frozen=True)
class Framing:
    """How the output frame relates to the photo.

    Attributes:
        mode: ``"crop"`` (square around the face) or ``"full"`` (whole photo).
        affine: (2, 3) photo pixels -> output pixels (scale and offset only).
        size: (height, width) of the output frame.
        notes: remarks for the user (photo too tight for the crop, photo
            enlarged beyond its own resolution).
    """

    mode: str
    affine: np.ndarray
    size: tuple[int, int]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _read_only(self, "affine")

    @property
    def scale(self) -> float:
        return float(self.affine[0, 0])


@dataclass(frozen=True)
class RenderedFrame:
    """One composited frame.

    Attributes:
        rgb: (H, W, 3) uint8 frame; the mouth opening is filled dark unless a
            mouth completer filled it.
        face_alpha: (H, W) float32 in [0, 1], coverage of the rendered face
            (feathered).
        mouth_mask: (H, W) float32 in [0, 1], the mouth opening (inside the inner
            lips, in front of nothing but the mouth interior).
    """

    rgb: np.ndarray
    face_alpha: np.ndarray
    mouth_mask: np.ndarray


@dataclass(frozen=True)
class CoefficientTrack:
    """Expression coefficients over time.

    Attributes:
        names: (K,) rig blendshape names, the columns.
        raw: (T, K) float64 as predicted (the photo's own values in columns the
            audio does not drive).
        final: (T, K) float64 after the post-processes (smoothing, blinks).
        fps: frames per second.
        head_pose: (T, 5) float64 head-pose delta per frame after smoothing
            (yaw, pitch, roll degrees; tx, ty inter-ocular distances), or None
            when the head is still.
    """

    names: tuple[str, ...]
    raw: np.ndarray
    final: np.ndarray
    fps: float
    head_pose: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _read_only(self, "raw", "final")

    @property
    def frames(self) -> int:
        return self.final.shape[0]


@dataclass(frozen=True)
class GenerationResult:
    """What `generate` produced.

    Attributes:
        video: path of the MP4.
        frames: frames written.
        duration: seconds of video.
        audio_duration: seconds of the input audio.
        coefficients: the expression track that drove the face.
        timings: seconds per stage (read-only).
        notes: remarks worth showing the user.
        asset: the photo stage's output (texture, reconstruction).
        intermediate_video: the render before restoration, when written.
    """

    video: Path
    frames: int
    duration: float
    audio_duration: float
    coefficients: CoefficientTrack
    timings: Mapping[str, float]
    notes: tuple[str, ...] = ()
    asset: FaceAsset | None = None
    intermediate_video: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))
