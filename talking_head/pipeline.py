"""The pipeline object: loads models once, runs the stages in order."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .config import GenerationConfig, RenderConfig
from .errors import InputError, WeightsError
from .face.landmarks import LandmarkDetector
from .face.reconstruct import posed_vertices, reconstruct
from .face.rig import ExpressionRig, load_rig
from .face.texture import sample_texture
from .face.topology import Topology, load_topology
from .media import load_image
from .render.compose import Compositor, crop_photo, make_framing, to_output
from .render.gl import FaceRenderer
from .render.mouth import DarkMouth, RenderedMouth, neutral_mouth
from .types import CoefficientTrack, FaceReconstruction, FaceTexture, Framing, GenerationResult, Photo, RenderedFrame

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class FaceAsset:
    """Everything the photo stage produces: the animatable, textured face.

    Attributes:
        photo: the decoded photo.
        reconstruction: landmarks, pose, identity mesh, the photo's expression.
        texture: the face texture in UV space.
        timings: seconds spent per stage.
        restored: the photo's face was restored before sampling (reference mode).
    """

    photo: Photo
    reconstruction: FaceReconstruction
    texture: FaceTexture
    timings: dict = field(default_factory=dict, compare=False)
    restored: bool = False

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
        if getattr(config, "mouth", True):
            neutral = self.vertices(neutral_mouth(rig.names, asset.reconstruction.expression))
            completer = RenderedMouth.from_face(self.background, self.reference_vertices, neutral, topology)
        else:
            completer = DarkMouth()
        self.compositor = Compositor(self.background, self.reference_vertices, completer=completer)

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
    """Photo and audio in, talking-head video out.

    Models (landmarks, rig, AudioNet, restorers) load once and are reused
    across calls; each call may pass its own config.

    Args:
        config: default settings for every call.
    """

    def __init__(self, config: RenderConfig | None = None):
        if config is None:
            config = GenerationConfig()
        elif not isinstance(config, GenerationConfig):
            config = GenerationConfig(**{f.name: getattr(config, f.name) for f in fields(RenderConfig)})
        self.config: GenerationConfig = config
        self.topology = load_topology()
        self.rig = load_rig()
        self._detector: LandmarkDetector | None = None
        self._audionet = None
        self._restorers: dict[str, object] = {}
        self._lock = threading.Lock()

    # -- models, loaded on first use --------------------------------------------
    @property
    def detector(self) -> LandmarkDetector:
        with self._lock:
            if self._detector is None:
                self._detector = LandmarkDetector()
        return self._detector

    def device(self, config: GenerationConfig | None = None) -> str:
        import torch

        wanted = (config or self.config).device
        if wanted == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if wanted == "cuda" and not torch.cuda.is_available():
            raise InputError("--device cuda was asked for, but no CUDA GPU is available")
        return wanted

    def audionet(self, config: GenerationConfig | None = None):
        config = config or self.config
        with self._lock:
            if self._audionet is None:
                from .audio.audionet import load_audionet

                self._audionet = load_audionet(config.audionet, device=self.device(config))
        return self._audionet

    def restorer(self, config: GenerationConfig):
        """The restorer for ``config.restorer`` (download or conversion on first use).

        Raises:
            WeightsError: with a hint to the offline restorer when GFPGAN is missing.
        """
        from .restore.restorer import choose_restorer, load_restorer

        entry = choose_restorer(config.restorer)
        with self._lock:
            if entry.name not in self._restorers:
                try:
                    self._restorers[entry.name] = load_restorer(entry, device=self.device(config), progress=False)
                except WeightsError as error:
                    hint = " (or choose the Real-ESRGAN restorer, which works offline)" if config.restorer == "gfpgan" else ""
                    raise WeightsError(f"{error}{hint}") from None
        return self._restorers[entry.name]

    # -- stages -----------------------------------------------------------------
    def analyse(
        self,
        photo: Photo | str | np.ndarray,
        progress: Progress | None = None,
        config: GenerationConfig | None = None,
    ) -> FaceAsset:
        """Photo -> landmarks -> (restoration) -> 3D face -> texture.

        With ``config.restore == "reference"`` the photo's face is restored
        once (enlarged so the detail survives) before the texture is sampled.

        Raises:
            UnreadableImageError, NoFaceError, FaceTooSmallError, WeightsError.
        """
        config = config or self.config
        report = progress or (lambda stage, fraction: None)
        timings = {}
        start = time.perf_counter()
        if not isinstance(photo, Photo):
            photo = load_image(photo)
        report("analysis", 0.0)
        landmarks = self.detector.detect(photo)
        timings["analysis"] = time.perf_counter() - start
        restored = False
        if config.restore == "reference":
            from .restore.restorer import restore_photo

            report("restore", 0.0)
            start = time.perf_counter()
            image = restore_photo(photo.rgb, landmarks, self.restorer(config), upscale=True)
            photo = Photo(image, photo.source, photo.notes)
            faces = landmarks.num_faces
            landmarks = self.detector.detect(photo)
            landmarks = replace(landmarks, num_faces=max(faces, landmarks.num_faces))
            timings["restore"] = time.perf_counter() - start
            restored = True
            report("restore", 1.0)
        start = time.perf_counter()
        recon = reconstruct(landmarks, self.rig, self.topology)
        timings["analysis"] += time.perf_counter() - start
        report("texture", 0.0)
        start = time.perf_counter()
        texture = sample_texture(
            photo.rgb, posed_vertices(recon, recon.expression), self.topology,
            size=config.texture_size, mode=config.texture_mode,
        )
        timings["texture"] = time.perf_counter() - start
        report("texture", 1.0)
        return FaceAsset(photo, recon, texture, timings, restored)

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

    def drive(
        self,
        clip,
        base: np.ndarray,
        transcript: str | None = None,
        progress: Progress | None = None,
        config: GenerationConfig | None = None,
    ):
        """Speech -> coefficients through the driver named by ``config.driver``.

        Args:
            clip: decoded AudioClip.
            base: (K,) the photo's own expression, kept in the columns speech
                does not drive.
            transcript: what is said (normalised text), or None.
        Returns:
            A ``DriverOutput`` whose coeffs are (T, K) float64 with
            T = frame_count(clip.duration, fps).
        """
        from .audio.features import frame_count
        from .audio.visemes import audio_driven_names
        from .drivers import DriveRequest, make_driver

        config = config or self.config
        report = progress or (lambda stage, fraction: None)
        request = DriveRequest(
            clip=clip, frames=frame_count(clip.duration, config.fps), fps=config.fps, names=tuple(self.rig.names),
            driven=audio_driven_names(self.rig.names), base=np.asarray(base, dtype=np.float64),
            transcript=transcript, intensity=config.mouth_motion,
        )
        report("driver", 0.0)
        output = make_driver(config.driver, self, config).drive(request, lambda fraction: report("driver", fraction))
        report("driver", 1.0)
        return output

    def predict_coefficients(self, clip, base: np.ndarray, progress: Progress | None = None,
                             config: GenerationConfig | None = None) -> np.ndarray:
        """(T, K) coefficients of ``drive`` without a transcript (kept for callers of the old API)."""
        return self.drive(clip, base, None, progress, config).coeffs

    def transcript(self, text: str | None, config: GenerationConfig) -> tuple[str | None, tuple[str, ...]]:
        """The transcript to align (normalised), with notes. Text only: files are the CLI's business.

        Raises:
            InputError: a transcript too long to use.
        """
        if text is None:
            return None, ()
        from .audio.transcript import normalise, transcript_from_text

        checked = transcript_from_text(str(text))
        notes = checked.notes
        if checked.text is not None and config.driver != "phonetic":
            notes = notes + (f"the transcript is used by the phonetic driver only; the {config.driver} driver "
                             "ignored it",)
        return (normalise(checked.text) or None) if checked.text is not None else None, notes

    def motion(self, raw: np.ndarray, config: GenerationConfig) -> np.ndarray:
        """Post-processes on the coefficient track: blinks, then raised-cosine smoothing.

        Args:
            raw: (T, K) predicted coefficients.
        Returns:
            (T, K) within the rig's bounds.
        """
        from .motion.blink import apply_blinks, blink_track
        from .motion.smoothing import smooth

        driven = raw
        if config.blink:
            driven = apply_blinks(raw, self.rig.names, blink_track(len(raw), config.fps, config.blink_seed))
        return np.clip(smooth(driven, config.smoothing), self.rig.lower, self.rig.upper)

    def generate(
        self,
        photo: Photo | str | np.ndarray,
        audio: str,
        out: str,
        overwrite: bool = False,
        intermediates: str | None = None,
        progress: Progress | None = None,
        config: GenerationConfig | None = None,
        transcript: str | None = None,
        export_animation: str | None = None,
    ) -> GenerationResult:
        """Photo + audio -> MP4 (H.264 + AAC) at ``out``.

        ``transcript`` (text; the CLI reads ``--transcript FILE`` itself) is what is said:
        the phonetic driver aligns it to the audio for exact phone timing and
        falls back to recognising the phones (with a note) when it does not
        match the audio. Other drivers ignore it.

        Frames stream to the encoder; only the (T, K) coefficient track is held
        in memory. Files appear only when complete. With ``intermediates`` the
        texture, coefficient tracks, their plot and, when restoration is on,
        the video before restoration are written there too. With
        ``export_animation`` (a folder) the motion is written there as
        ``arkit.csv``, ``visemes.json`` and ``face.glb`` (``talking_head/export``).

        Raises:
            UnreadableImageError, NoFaceError, FaceTooSmallError, AudioError,
            OutputPathError, WeightsError.
        """
        from .audio.decode import decode_audio, is_silent
        from .video import check_output_path

        config = config or self.config
        report = progress or (lambda stage, fraction: None)
        out = check_output_path(out, overwrite)
        transcript, transcript_notes = self.transcript(transcript, config)
        folder = Path(intermediates) if intermediates else None
        if folder is not None and not folder.parent.is_dir():
            raise InputError(f"Parent folder of --intermediates does not exist: {folder.parent}")
        if export_animation is not None:
            from .export import check_export_folder

            check_export_folder(export_animation, overwrite)
        timings: dict[str, float] = {}
        notes: list[str] = list(transcript_notes)

        start = time.perf_counter()
        report("audio", 0.0)
        clip = decode_audio(audio, max_seconds=config.max_audio_seconds)
        if is_silent(clip):
            notes.append("the audio is silent: the mouth stays closed")
        timings["audio"] = time.perf_counter() - start

        asset = self.analyse(photo, progress, config)
        timings.update(asset.timings)
        notes.extend(asset.notes)
        # Before-restoration render for the ablation: the unrestored face.
        plain = None
        if folder is not None and config.restore != "off":
            plain = asset if config.restore == "frames" else self.analyse(photo, None, replace(config, restore="off"))

        start = time.perf_counter()
        driven = self.drive(clip, asset.reconstruction.expression, transcript, progress, config)
        raw = driven.coeffs
        notes.extend(driven.notes)
        timings["driver"] = time.perf_counter() - start
        start = time.perf_counter()
        final = self.motion(raw, config)
        timings["smoothing"] = time.perf_counter() - start
        track = CoefficientTrack(self.rig.names, raw, final, config.fps)

        intermediate = None
        if folder is not None:
            folder.mkdir(exist_ok=True)
            if plain is not None:
                intermediate = check_output_path(folder / "render_before_restoration.mp4", overwrite=True)
        self._render(asset, plain, final, config, audio, out, intermediate, overwrite, timings, report)
        if folder is not None:
            write_intermediates(folder, asset, track)
        if export_animation is not None:
            from .export import export_animation as write_animation

            write_animation(export_animation, asset, track, self.rig, self.topology, driven.phones)
        return GenerationResult(out, len(final), len(final) / config.fps, clip.duration, track, timings,
                                tuple(notes), asset, intermediate)

    def _render(self, asset, plain, final, config, audio, out, intermediate, overwrite, timings, report) -> None:
        """Render, restore (frames mode) and encode every frame, streaming in small batches.

        Frames are rendered ``batch`` at a time (the restorer's batch size in
        frames mode, else 1), restored as a batch, and written; the render
        before restoration goes to ``intermediate`` when asked for.
        """
        from .video import VideoWriter

        start = time.perf_counter()
        animator = self.animator(asset, config)
        plain_animator = None
        if intermediate is not None:
            plain_animator = animator if plain is asset else self.animator(plain, config)
        restorer = self.restorer(config) if config.restore == "frames" else None
        timings["render_setup"] = time.perf_counter() - start
        render_time = restore_time = 0.0
        batch = restorer.batch_size if restorer is not None else 1
        start = time.perf_counter()
        writers = [VideoWriter(out, animator.size, config.fps, audio=audio, overwrite=overwrite)]
        if intermediate is not None:
            writers.append(VideoWriter(intermediate, plain_animator.size, config.fps, audio=audio, overwrite=True))
        try:
            for first in range(0, len(final), batch):
                rows = final[first : first + batch]
                tick = time.perf_counter()
                frames = [animator.frame(row).rgb for row in rows]
                render_time += time.perf_counter() - tick
                before = frames
                if restorer is not None:
                    from .restore.align import five_points
                    from .restore.restorer import restore_frames

                    tick = time.perf_counter()
                    frames = list(restore_frames(frames, [five_points(animator.vertices(r)) for r in rows], restorer))
                    restore_time += time.perf_counter() - tick
                for index, frame in enumerate(frames):
                    writers[0].write(frame)
                    if intermediate is not None:
                        plain_frame = before[index] if plain_animator is animator else plain_animator.frame(rows[index]).rgb
                        writers[1].write(plain_frame)
                report("render", (first + len(rows)) / len(final))
            for writer in writers:
                writer.close()
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        timings["render"] = render_time
        if restorer is not None:
            timings["restore_frames"] = restore_time
        timings["render_and_encode"] = time.perf_counter() - start

    def batch(self, manifest: str, out_dir: str, engine: str = "local", workers: int | None = None,
              address: str | None = None, retry_failed: bool = False, export_animation: bool = False,
              progress: bool = True):
        """Run a manifest of jobs with this pipeline's config as every row's defaults.

        The jobs run in worker processes (``engine="local"``) or Ray tasks
        (``"ray"``), each with its own models; with one local worker they run
        here, with this pipeline's models. See ``talking_head/batch.py``.
        Returns a ``BatchSummary``.
        """
        from .batch import run_manifest

        return run_manifest(manifest, out_dir, self.config, engine, workers, address, retry_failed,
                            export_animation, progress, pipeline=self)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None


def write_intermediates(folder, asset: FaceAsset, track: CoefficientTrack) -> None:
    """Texture, raw and final coefficients (.npy) and a plot of the main ones."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "texture.png"), cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
    np.save(folder / "coefficients_raw.npy", track.raw)
    np.save(folder / "coefficients_final.npy", track.final)
    (folder / "coefficient_names.txt").write_text("\n".join(track.names) + "\n")
    figure = plot_coefficients(track)
    figure.savefig(folder / "coefficients.png", dpi=100)
    plt.close(figure)


def plot_coefficients(track: CoefficientTrack, names: tuple[str, ...] = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthSmile_L", "mouthClose")):
    """Matplotlib figure of the main coefficients over time, raw and final."""
    import matplotlib.pyplot as plt

    time_axis = np.arange(track.frames) / track.fps
    shown = [n for n in names if n in track.names]
    figure, axes = plt.subplots(len(shown), 1, figsize=(9, 1.6 * len(shown)), sharex=True, squeeze=False)
    for axis, name in zip(axes[:, 0], shown):
        column = track.names.index(name)
        axis.plot(time_axis, track.raw[:, column], color="0.6", lw=1, label="raw")
        axis.plot(time_axis, track.final[:, column], color="C0", lw=1.5, label="final")
        axis.set_ylabel(name, fontsize=8)
        axis.set_ylim(-0.05, 1.05)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    figure.tight_layout()
    return figure
