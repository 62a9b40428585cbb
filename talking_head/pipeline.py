"""The pipeline object: loads models once, runs the stages in order."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .config import GenerationConfig, RenderConfig
from .errors import Cancelled, InputError, OutputPathError, WeightsError
from .face.landmarks import LandmarkDetector
from .face.reconstruct import posed_vertices, reconstruct
from .face.rig import load_rig
from .face.texture import sample_texture
from .face.topology import load_topology
from .media import load_image
from .render.animator import FaceAnimator
from .timing import Timings
from .types import CoefficientTrack, FaceAsset, GenerationResult, Photo

Progress = Callable[[str, float], None]
INTERMEDIATES = ("texture.png", "coefficients_raw.npy", "coefficients_final.npy", "coefficient_names.txt",
                 "coefficients.png", "head_pose.npy", "render_before_restoration.mp4")

__all__ = ["FaceAnimator", "FaceAsset", "Progress", "TalkingHeadPipeline"]


@dataclass(frozen=True)
class RenderJob:
    """What the render stage needs, besides the pipeline's models.

    Attributes:
        asset: the face to animate.
        plain: the unrestored face for the before-restoration video, or None.
        coefficients: (T, K) final expression coefficients, one row per frame.
        config: the call's settings.
        audio: the audio file muxed into the video.
        out: the output MP4.
        intermediate: the before-restoration MP4, or None.
        overwrite: ``out`` may replace an existing file.
        head: (T, 5) head-pose deltas per frame (``motion/headpose.py``), or None (still).
        gaze: (T, 2) gaze offsets per frame (``motion/gaze.py``), or None (the photo's gaze).
    """

    asset: FaceAsset
    plain: FaceAsset | None
    coefficients: np.ndarray
    config: GenerationConfig
    audio: str
    out: Path
    intermediate: Path | None
    overwrite: bool
    head: np.ndarray | None = None
    gaze: np.ndarray | None = None


def head_pose_cm(head: np.ndarray | None, topology) -> np.ndarray | None:
    """(T, 5) head-pose deltas (yaw, pitch, roll degrees; tx, ty in inter-ocular
    distances, image axes) -> (T, 6) yaw, pitch, roll degrees and x, y, z cm
    (x right, y up), the export's columns; the canonical face's eye distance
    converts the units."""
    if head is None:
        return None
    from .eval.metrics import interocular

    iod_cm = float(interocular(topology.vertices[None])[0])
    out = np.zeros((len(head), 6))
    out[:, :3] = head[:, :3]
    out[:, 3] = head[:, 3] * iod_cm
    out[:, 4] = -head[:, 4] * iod_cm
    return out


def _reporter(progress: Progress | None, cancel: threading.Event | None) -> Progress:
    """The progress callback, which is also the cancellation check (called per batch of frames)."""

    def report(stage: str, fraction: float) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("generation was cancelled")
        if progress is not None:
            progress(stage, fraction)

    return report


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
        # Models by (kind, weights, device): a call with other weights or another device gets its own.
        self._models: dict[tuple[str, str, str], object] = {}
        self._lock = threading.Lock()

    def _model(self, key: tuple[str, str, str], load: Callable[[], object]):
        """The model cached under ``key``, loaded by ``load()`` on first use."""
        with self._lock:
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

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
        """The AudioNet for ``config.audionet`` on ``config.device``, loaded once per (weights, device)."""
        from .audio.audionet import load_audionet

        config = config or self.config
        device = self.device(config)
        weights = str(Path(config.audionet).resolve()) if config.audionet else "<shipped>"
        return self._model(("audionet", weights, device),
                           lambda: load_audionet(config.audionet, device=device))

    def restorer(self, config: GenerationConfig):
        """The restorer for ``config.restorer`` (download or conversion on first use).

        Raises:
            WeightsError: with a hint to the offline restorer when GFPGAN is missing.
        """
        from .restore.restorer import choose_restorer, load_restorer

        entry = choose_restorer(config.restorer)
        device = self.device(config)
        try:
            return self._model(("restorer", entry.name, device),
                               lambda: load_restorer(entry, device=device, progress=False))
        except WeightsError as error:
            hint = " (or choose the Real-ESRGAN restorer, which works offline)" if config.restorer == "gfpgan" else ""
            raise WeightsError(f"{error}{hint}") from None

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
        timings = Timings()
        with timings("analysis"):
            if not isinstance(photo, Photo):
                photo = load_image(photo)
            report("analysis", 0.0)
            photo, landmarks = self.detector.detect_upright(photo)
        restored = False
        if config.restore == "reference":
            from .restore.restorer import restore_photo

            report("restore", 0.0)
            with timings("restore"):
                # Super-resolution restorers read the face at its native scale (tools/restore_options.py).
                image = restore_photo(photo.rgb, landmarks, self.restorer(config), upscale=True, native=True)
                photo = Photo(image, photo.source, photo.notes)
                before = landmarks
                landmarks = self.detector.detect(photo)
                landmarks = replace(landmarks, num_faces=max(before.num_faces, landmarks.num_faces),
                                    lips_hidden=before.lips_hidden or landmarks.lips_hidden)
            restored = True
            report("restore", 1.0)
        with timings("analysis"):
            recon = reconstruct(landmarks, self.rig, self.topology)
        report("texture", 0.0)
        with timings("texture"):
            texture = sample_texture(
                photo.rgb, posed_vertices(recon, recon.expression), self.topology,
                size=config.texture_size, mode=config.texture_mode,
            )
        report("texture", 1.0)
        return FaceAsset(photo, recon, texture, timings.seconds, restored)

    def animator(self, asset: FaceAsset, config: RenderConfig | None = None) -> FaceAnimator:
        """A renderer for this face; build once, call ``frame`` per frame, then close it
        (it holds an OpenGL context): ``with pipeline.animator(asset) as animator: ...``."""
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
        from .face.rig import audio_driven
        from .drivers import DriveRequest, make_driver

        config = config or self.config
        report = progress or (lambda stage, fraction: None)
        request = DriveRequest(
            clip=clip, frames=frame_count(clip.duration, config.fps), fps=config.fps, names=tuple(self.rig.names),
            driven=audio_driven(self.rig.names), base=np.asarray(base, dtype=np.float64),
            transcript=transcript, intensity=config.mouth_motion,
        )
        report("driver", 0.0)
        output = make_driver(config.driver, self, config).drive(request, lambda fraction: report("driver", fraction))
        report("driver", 1.0)
        if output.absolute:
            return output
        from .motion.expression import keep_photo_expression

        # Speech moves the mouth on top of the photo's own expression (a smile stays).
        coeffs = keep_photo_expression(output.coeffs, request.names, request.base, request.driven)
        return replace(output, coeffs=coeffs)

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
        """Post-processes on the coefficient track: raised-cosine smoothing, then blinks.

        Blinks come after the smoothing: a blink's profile is already smooth
        (``motion/blink.py``), and a 5-frame window would cut its 2-4 frame
        closure to ~0.7, so the lids would never meet.

        Args:
            raw: (T, K) predicted coefficients.
        Returns:
            (T, K) within the rig's bounds.
        """
        from .motion.blink import apply_blinks, blink_track
        from .motion.smoothing import smooth

        final = np.clip(smooth(raw, config.smoothing), self.rig.lower, self.rig.upper)
        if config.blink:
            final = apply_blinks(final, self.rig.names, blink_track(len(raw), config.fps, config.blink_seed))
        return np.clip(final, self.rig.lower, self.rig.upper)

    def brows(self, raw: np.ndarray, clip, config: GenerationConfig, speech: np.ndarray | None = None) -> np.ndarray:
        """Brow raises on emphasis (``motion/headpose.brow_track``), scaled by ``head_motion``.

        Args:
            raw: (T, K) driven coefficients.
        Returns:
            (T, K); unchanged when ``head_motion`` is 0 or the rig has no ``browInnerUp``.
        """
        if config.head_motion <= 0.0 or "browInnerUp" not in self.rig.names:
            return raw
        from .audio.loudness import frame_rms_db
        from .motion.headpose import brow_track

        level = frame_rms_db(clip.samples, clip.sample_rate, len(raw), config.fps)
        speech = speech if speech is not None and len(speech) == len(raw) else None
        raise_ = brow_track(level, config.fps, config.head_motion, config.seed, speech)
        out = np.array(raw, dtype=np.float64)
        column = self.rig.names.index("browInnerUp")
        out[:, column] = out[:, column] + (1.0 - out[:, column]) * raise_
        return out

    def head_pose(self, clip, frames: int, config: GenerationConfig, speech: np.ndarray | None = None):
        """The head-pose track from the speech, smoothed like the coefficients.

        Args:
            clip: decoded AudioClip.
            frames: T.
            speech: (T,) bool voice activity from the driver, when it has one.
        Returns:
            (T, 5) float64 (``motion/headpose.py``), or None when ``head_motion`` is 0.
        """
        if config.head_motion <= 0.0:
            return None
        from .audio.loudness import frame_rms_db
        from .motion.headpose import head_pose_track
        from .motion.smoothing import smooth

        level = frame_rms_db(clip.samples, clip.sample_rate, frames, config.fps)
        if speech is not None and len(speech) != frames:
            speech = None
        return smooth(head_pose_track(level, config.fps, config.head_motion, config.seed, speech), config.smoothing)

    def gaze(self, frames: int, config: GenerationConfig) -> np.ndarray | None:
        """Saccades (``motion/gaze.py``), scaled by ``head_motion``, none during deep blinks.

        Returns:
            (T, 2) float64, or None when ``gaze`` is off or ``head_motion`` is 0
            (the still output stays as it was).
        """
        if not config.gaze or config.head_motion <= 0.0:
            return None
        from .motion.blink import blink_track
        from .motion.gaze import saccade_track

        closure = blink_track(frames, config.fps, config.blink_seed) if config.blink else None
        return saccade_track(frames, config.fps, config.seed, config.head_motion, closure)

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
        cancel: threading.Event | None = None,
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
        the video before restoration are written there too. Every output path
        and the device are checked before any work. Silent audio is not an
        error: the mouth stays closed, and a note says so.
        With ``export_animation`` (a folder) the motion is written there as
        ``arkit.csv``, ``visemes.json`` and ``face.glb`` (``talking_head/export``).

        Args:
            cancel: when set (from another thread), the call stops at its next
                batch of frames, removes its partial files and raises Cancelled.
        Raises:
            UnreadableImageError, NoFaceError, FaceTooSmallError, AudioError,
            OutputPathError, WeightsError, InputError, Cancelled.
        """
        from .audio.decode import decode_audio, is_silent
        from .video import check_output_path

        config = config or self.config
        report = _reporter(progress, cancel)
        inputs = (photo, audio)
        out = check_output_path(out, overwrite, inputs=inputs)
        folder = self._check_intermediates(intermediates, inputs)
        transcript, transcript_notes = self.transcript(transcript, config)
        self.device(config)  # --device cuda without a GPU fails now, not after the analysis
        if export_animation is not None:
            from .export import check_export_folder

            check_export_folder(export_animation, overwrite)
        timings = Timings()
        notes: list[str] = list(transcript_notes)

        report("audio", 0.0)
        with timings("audio"):
            clip = decode_audio(audio, max_seconds=config.max_audio_seconds)
        if is_silent(clip):
            notes.append("the audio is silent: the mouth stays closed")

        asset = self.analyse(photo, report, config)
        for name, seconds in asset.timings.items():
            timings.add(name, seconds)
        notes.extend(asset.notes)
        from .render.compose import make_framing

        notes.extend(make_framing(asset.reconstruction.landmarks, config.framing, config.size).notes)
        # Before-restoration render for the ablation: the unrestored face.
        plain = None
        if folder is not None and config.restore != "off":
            plain = asset if config.restore == "frames" else self.analyse(photo, report, replace(config, restore="off"))

        with timings("driver"):
            driven = self.drive(clip, asset.reconstruction.expression, transcript, report, config)
        raw = driven.coeffs
        notes.extend(driven.notes)
        with timings("smoothing"):
            if not driven.absolute:  # external curves carry their own brows
                raw = self.brows(raw, clip, config, driven.speech)
            final = self.motion(raw, config)
            if driven.head is None:
                head = self.head_pose(clip, len(final), config, driven.speech)
            elif config.head_motion > 0:
                head = np.asarray(driven.head, dtype=np.float64)  # the source's own head motion
            else:
                head = None
                notes.append("the head pose in the motion source was not applied: head motion is 0")
        track = CoefficientTrack(self.rig.names, raw, final, config.fps, head)

        intermediate = None
        if folder is not None:
            folder.mkdir(exist_ok=True)
            if plain is not None:
                intermediate = check_output_path(folder / "render_before_restoration.mp4", True, inputs)
        gaze = self.gaze(len(final), config)
        backend = self._render(RenderJob(asset, plain, final, config, str(audio), out, intermediate, overwrite, head,
                                         gaze), timings, report)
        if backend == "numpy" and config.backend == "auto":
            notes.append("OpenGL (EGL) could not start: frames were drawn by the slow NumPy fallback; "
                         "install Mesa's EGL (e.g. Debian libegl1 libgl1-mesa-dri) for real-time rendering")
        if folder is not None:
            from .intermediates import write_intermediates

            write_intermediates(folder, asset, track)
        if export_animation is not None:
            from .export import export_animation as write_animation

            write_animation(export_animation, asset, track, self.rig, self.topology, driven.phones,
                            head_pose_cm(track.head_pose, self.topology))
        return GenerationResult(out, len(final), len(final) / config.fps, clip.duration, track, timings.seconds,
                                tuple(notes), asset, intermediate)

    @staticmethod
    def _check_intermediates(intermediates: str | Path | None, inputs: tuple) -> Path | None:
        """The --intermediates folder, checked before any work (it may exist; its files are replaced)."""
        from .video import check_output_path

        if not intermediates:
            return None
        folder = Path(intermediates)
        if folder.exists() and not folder.is_dir():
            raise OutputPathError(f"--intermediates must be a folder, but {folder} is a file")
        if not folder.exists():
            check_output_path(folder, overwrite=False)  # its parent exists and is writable
        else:
            for name in INTERMEDIATES:
                check_output_path(folder / name, overwrite=True, inputs=inputs)
        return folder

    def _render(self, job: RenderJob, timings: Timings, report: Progress) -> str:
        """Render, restore (frames mode) and encode every frame, streaming in small batches.

        Frames are rendered ``batch`` at a time (the restorer's batch size in
        frames mode, else 1), restored as a batch, and written; the render
        before restoration goes to ``job.intermediate`` when asked for. Each
        batch reports progress, which is also where a cancelled call stops.
        Renderers and encoders are closed on every path out.

        Returns:
            the renderer's backend, ``"gl"`` or ``"numpy"``.
        """
        from contextlib import ExitStack

        from .video import VideoWriter

        config, final = job.config, job.coefficients
        with ExitStack() as owned:
            with timings("render_setup"):
                animator = owned.enter_context(self.animator(job.asset, config))
                plain_animator = None
                if job.intermediate is not None:
                    plain_animator = (animator if job.plain is job.asset
                                      else owned.enter_context(self.animator(job.plain, config)))
                restorer = self.restorer(config) if config.restore == "frames" else None
            batch = restorer.batch_size if restorer is not None else 1
            with timings("render_and_encode"):
                writers = [VideoWriter(job.out, animator.size, config.fps, audio=job.audio, overwrite=job.overwrite)]
                if job.intermediate is not None:
                    writers.append(VideoWriter(job.intermediate, plain_animator.size, config.fps, audio=job.audio,
                                               overwrite=True))
                try:
                    for first in range(0, len(final), batch):
                        report("render", first / len(final))
                        rows = final[first : first + batch]
                        heads = [None] * len(rows) if job.head is None else job.head[first : first + batch]
                        gazes = [None] * len(rows) if job.gaze is None else job.gaze[first : first + batch]
                        with timings("render"):
                            frames = [animator.frame(row, pose, gaze).rgb
                                      for row, pose, gaze in zip(rows, heads, gazes)]
                        before = frames
                        if restorer is not None:
                            from .restore.align import five_points
                            from .restore.restorer import restore_frames

                            with timings("restore_frames"):
                                points = [five_points(animator.vertices(r, p)) for r, p in zip(rows, heads)]
                                frames = list(restore_frames(frames, points, restorer))
                        for index, frame in enumerate(frames):
                            writers[0].write(frame)
                            if plain_animator is not None:
                                plain = before[index] if plain_animator is animator else plain_animator.frame(
                                    rows[index], heads[index], gazes[index]).rgb
                                writers[1].write(plain)
                    report("render", 1.0)
                    for writer in writers:
                        writer.close()
                except BaseException:
                    for writer in writers:
                        writer.abort()
                    raise
            return animator.renderer.backend

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
        """Release the landmark graph and drop the cached models (they load again on next use)."""
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        with self._lock:
            self._models.clear()

    def __enter__(self) -> "TalkingHeadPipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
