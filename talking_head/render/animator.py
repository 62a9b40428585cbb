"""One photo's face, rendered with any expression, framed and composited.

The animator owns an OpenGL renderer (a context, a texture, framebuffers):
close it, or use it as a context manager, when the video is done.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import RenderConfig
from ..face.reconstruct import moved_pose, posed_vertices
from ..face.rig import ExpressionRig, inner_lip_gap
from ..face.topology import NUM_VERTICES, Topology
from ..types import FaceAsset, Framing, RenderedFrame
from .compose import Compositor, crop_photo, make_framing, surround_photo, to_output
from .eyes import EyePainter
from .gl import FaceRenderer, photo_weights
from .mouth import DarkMouth, RenderedMouth, neutral_mouth


class FaceAnimator:
    """Renders one photo's face with any expression, framed and composited.

    Built once per photo and output setting; ``frame`` is the per-frame call.
    ``close()`` (or leaving a ``with`` block) releases the renderer.
    """

    def __init__(self, asset: FaceAsset, config: RenderConfig, rig: ExpressionRig, topology: Topology):
        self.asset = asset
        self.config = config
        self.rig = rig
        self.framing: Framing = make_framing(asset.reconstruction.landmarks, config.framing, config.size)
        self.background = crop_photo(asset.photo.rgb, self.framing)
        reference = posed_vertices(asset.reconstruction, asset.reconstruction.expression)
        self.reference_vertices = to_output(reference, self.framing)
        from ..eval.metrics import interocular

        self._interocular = float(interocular(asset.reconstruction.landmarks.points))
        # A still head keeps the jaw-only field exactly; a moving one pins the
        # frame border and the torso (render/warp.py).
        field_operator = None
        if getattr(config, "head_motion", 0.0) > 0.0:
            from .warp import head_displacement_operator, person_mask

            person = person_mask(self.background)
            field_operator = lambda *args, **kwargs: head_displacement_operator(  # noqa: E731
                *args, person=person, **kwargs)
        self.renderer = FaceRenderer(self.framing.size, topology, backend=config.backend)
        try:
            self.renderer.set_texture(asset.texture.rgba)
            # One resampling: the visible face samples the framed photo directly.
            self.renderer.set_photo(self.background, self.reference_vertices,
                                    photo_weights(self.reference_vertices, topology, self.framing.size))
            if getattr(config, "mouth", True):
                neutral = self.vertices(neutral_mouth(rig.names, asset.reconstruction.expression))
                completer = RenderedMouth.from_face(self.background, self.reference_vertices, neutral, topology)
            else:
                completer = DarkMouth()
            landmarks = to_output(asset.reconstruction.landmarks.points, self.framing)  # mesh + iris, output px
            self.compositor = Compositor(self.background, self.reference_vertices, completer=completer,
                                         surround=surround_photo(asset.photo.rgb, self.framing),
                                         field_operator=field_operator,
                                         rest_gap=inner_lip_gap(landmarks[:NUM_VERTICES, :2]),
                                         interior=not asset.reconstruction.landmarks.lips_hidden)
            iris = landmarks[NUM_VERTICES:]
            self.eyes = EyePainter(self.background, self.reference_vertices, iris if len(iris) == 10 else None)
        except BaseException:
            self.renderer.close()
            raise

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        return self.framing.size

    def vertices(self, coeffs: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
        """(468, 3) output-frame vertices for (K,) expression coefficients and an
        optional (5,) head-pose delta (``motion/headpose.py``)."""
        recon = self.asset.reconstruction
        pose = None if head is None else moved_pose(recon.pose, head, self._interocular)
        return to_output(posed_vertices(recon, coeffs, pose), self.framing)

    def frame(self, coeffs: np.ndarray, head: np.ndarray | None = None,
              gaze: np.ndarray | None = None) -> RenderedFrame:
        """Render and composite one frame for (K,) expression coefficients, an
        optional (5,) head-pose delta and an optional (2,) gaze offset
        (``motion/gaze.py``); the eyes are redrawn where they close or look
        away (``render/eyes.py``)."""
        vertices = self.vertices(coeffs, head)
        frame = self.compositor.compose(self.renderer.render(vertices), vertices)
        rgb = self.eyes.paint(frame.rgb, vertices, gaze)
        return frame if rgb is frame.rgb else replace(frame, rgb=rgb)

    def close(self) -> None:
        """Release the renderer's OpenGL resources (idempotent)."""
        self.renderer.close()

    def __enter__(self) -> "FaceAnimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
