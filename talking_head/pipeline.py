"""The pipeline object: loads models once, runs the stages in order."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import RenderConfig
from .errors import InputError
from .face.landmarks import LandmarkDetector
from .face.reconstruct import posed_vertices, reconstruct
from .face.rig import ExpressionRig, load_rig
from .face.texture import sample_texture
from .face.topology import Topology, load_topology
from .media import load_image
from .render.compose import Compositor, crop_photo, make_framing, to_output
from .render.gl import FaceRenderer
from .types import FaceReconstruction, FaceTexture, Framing, Photo, RenderedFrame

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class FaceAsset:
    """Everything the photo stage produces: the animatable, textured face.

    Attributes:
        photo: the decoded photo.
        reconstruction: landmarks, pose, identity mesh, the photo's expression.
        texture: the face texture in UV space.
        timings: seconds spent per stage.
    """

    photo: Photo
    reconstruction: FaceReconstruction
    texture: FaceTexture
    timings: dict = field(default_factory=dict, compare=False)

    @property
    def notes(self) -> tuple[str, ...]:
        """Remarks worth showing a user (conversions made, several faces)."""
        notes = list(self.photo.notes)
        faces = self.reconstruction.landmarks.num_faces
        if faces > 1:
            notes.append(f"{faces} faces found; animating the largest")
        return tuple(notes)


class FaceAnimator:
    """Renders one photo's face with any expression, framed and composited.

    Built once per photo and output setting; ``frame`` is the per-frame call.
    """

    def __init__(self, asset: FaceAsset, config: RenderConfig, rig: ExpressionRig, topology: Topology):
        self.asset = asset
        self.config = config
        self.rig = rig
        self.framing: Framing = make_framing(asset.reconstruction.landmarks, config.framing, config.size)
        self.background = crop_photo(asset.photo.rgb, self.framing)
        reference = posed_vertices(asset.reconstruction, asset.reconstruction.expression)
        self.reference_vertices = to_output(reference, self.framing)
        self.renderer = FaceRenderer(self.framing.size, topology, backend=config.backend)
        self.renderer.set_texture(asset.texture.rgba)
        self.compositor = Compositor(self.background, self.reference_vertices)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        return self.framing.size

    def vertices(self, coeffs: np.ndarray) -> np.ndarray:
        """(468, 3) output-frame vertices for (K,) expression coefficients."""
        return to_output(posed_vertices(self.asset.reconstruction, coeffs), self.framing)

    def frame(self, coeffs: np.ndarray) -> RenderedFrame:
        """Render and composite one frame for (K,) expression coefficients."""
        vertices = self.vertices(coeffs)
        return self.compositor.compose(self.renderer.render(vertices), vertices)


class TalkingHeadPipeline:
    """Photo (and, later, audio) in, textured face and video out.

    Args:
        config: rendering settings.
    """

    def __init__(self, config: RenderConfig | None = None):
        self.config = config or RenderConfig()
        self.topology = load_topology()
        self.rig = load_rig()
        self._detector: LandmarkDetector | None = None

    @property
    def detector(self) -> LandmarkDetector:
        if self._detector is None:
            self._detector = LandmarkDetector()
        return self._detector

    def analyse(self, photo: Photo | str | np.ndarray, progress: Progress | None = None) -> FaceAsset:
        """Photo -> landmarks -> 3D face -> texture.

        Raises:
            UnreadableImageError, NoFaceError, FaceTooSmallError.
        """
        report = progress or (lambda stage, fraction: None)
        timings = {}
        start = time.perf_counter()
        if not isinstance(photo, Photo):
            photo = load_image(photo)
        report("analysis", 0.0)
        landmarks = self.detector.detect(photo)
        recon = reconstruct(landmarks, self.rig, self.topology)
        timings["analysis"] = time.perf_counter() - start
        report("texture", 0.5)
        start = time.perf_counter()
        texture = sample_texture(
            photo.rgb,
            posed_vertices(recon, recon.expression),
            self.topology,
            size=self.config.texture_size,
            mode=self.config.texture_mode,
        )
        timings["texture"] = time.perf_counter() - start
        report("texture", 1.0)
        return FaceAsset(photo, recon, texture, timings)

    def animator(self, asset: FaceAsset, config: RenderConfig | None = None) -> FaceAnimator:
        """A renderer for this face; build once, call ``frame`` per frame."""
        return FaceAnimator(asset, config or self.config, self.rig, self.topology)

    def check_coefficients(self, coeffs: np.ndarray) -> np.ndarray:
        """Validate a (T, K) coefficient sequence for this rig.

        Raises:
            InputError: wrong shape, non-finite values, or empty.
        """
        coeffs = np.asarray(coeffs, dtype=np.float64)
        if coeffs.ndim == 1:
            coeffs = coeffs[None, :]
        k = len(self.rig.names)
        if coeffs.ndim != 2 or coeffs.shape[1] != k or coeffs.shape[0] == 0:
            raise InputError(
                f"Coefficients must have shape (frames, {k}) for the rig's {k} blendshapes, got {coeffs.shape}"
            )
        if not np.isfinite(coeffs).all():
            bad = int((~np.isfinite(coeffs)).any(axis=1).sum())
            raise InputError(f"Coefficients contain NaN or infinite values in {bad} frame(s)")
        return np.clip(coeffs, self.rig.lower, self.rig.upper)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
