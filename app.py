"""Gradio app: photo + speech in, talking-head video out, with every stage shown.

Started by `make run` (or `python app.py`); also the Hugging Face Space entry
point. A thin layer: it builds a GenerationConfig and calls the pipeline, which
loads its models once per process.

Environment:
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT   where to listen (127.0.0.1:7860)
    TALKING_HEAD_CONCURRENCY   generations running at once (default 1)
    TALKING_HEAD_MAX_UPLOAD    largest upload, e.g. "50mb" (default)
    TALKING_HEAD_MAX_AUDIO_SECONDS   longest audio accepted (default 120)
    TALKING_HEAD_OUTPUT_TTL    seconds before a request's outputs are deleted (default 3600)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import gradio as gr

from talking_head.config import GenerationConfig, option_bounds, option_choices
from talking_head.errors import Cancelled, TalkingHeadError, WeightsError
from talking_head.options import coerce_options
from talking_head.face.export import front_facing_winding, write_obj
from talking_head.face.reconstruct import mesh
from talking_head.pipeline import TalkingHeadPipeline
from talking_head.plot import plot_coefficients
from talking_head.types import FaceAsset

HERE = Path(__file__).resolve().parent
EXAMPLE_PHOTO = HERE / "assets" / "examples" / "astronaut.png"
EXAMPLE_AUDIO = HERE / "assets" / "examples" / "hello.m4a"
# Kept for the face-model smoke test and older links.
EXAMPLE = EXAMPLE_PHOTO
STAGES = {  # share of the progress bar each stage fills, in order
    "audio": (0.00, 0.03),
    "analysis": (0.03, 0.06),
    "texture": (0.06, 0.10),
    "restore": (0.10, 0.14),
    "driver": (0.14, 0.20),
    "render": (0.20, 1.00),
}
ABLATIONS = ("smoothing", "mouth completion", "restoration", "head motion")
TABLE_HEADERS = ["variant", "seconds", "face sharpness (CPBD)", "mouth jitter"]
QUEUE_SIZE = 32  # requests waiting beyond this are refused ("queue full") instead of piling up


@dataclass(frozen=True)
class AppSettings:
    """Serving limits, from the environment."""

    concurrency: int = 1
    max_upload: str = "50mb"
    max_audio_seconds: float = 120.0
    output_ttl: float = 3600.0

    def __post_init__(self) -> None:
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 64:
            raise SettingsError(f"TALKING_HEAD_CONCURRENCY must be a whole number from 1 to 64, got {self.concurrency!r}")
        if not (isinstance(self.max_upload, str) and self.max_upload.strip()[:1].isdigit()):
            raise SettingsError(f"TALKING_HEAD_MAX_UPLOAD must be a size such as 50mb, got {self.max_upload!r}")
        if not (math.isfinite(self.max_audio_seconds) and self.max_audio_seconds > 0):
            raise SettingsError(f"TALKING_HEAD_MAX_AUDIO_SECONDS must be a positive number, got {self.max_audio_seconds!r}")
        if not (math.isfinite(self.output_ttl) and self.output_ttl > 0):
            raise SettingsError(f"TALKING_HEAD_OUTPUT_TTL must be a positive number of seconds, got {self.output_ttl!r}")

    @classmethod
    def from_env(cls) -> "AppSettings":
        """Settings from TALKING_HEAD_* variables; a bad value is a SettingsError naming the variable."""

        def read(name: str, convert, default, kind: str):
            text = os.environ.get(name)
            if text is None:
                return default
            try:
                return convert(text.strip())
            except ValueError:
                raise SettingsError(f"{name} must be {kind}, got {text!r}") from None

        return cls(
            concurrency=read("TALKING_HEAD_CONCURRENCY", int, cls.concurrency, "a whole number from 1 to 64"),
            max_upload=os.environ.get("TALKING_HEAD_MAX_UPLOAD", cls.max_upload),
            max_audio_seconds=read("TALKING_HEAD_MAX_AUDIO_SECONDS", float, cls.max_audio_seconds, "a number"),
            output_ttl=read("TALKING_HEAD_OUTPUT_TTL", float, cls.output_ttl, "a number of seconds"),
        )


class SettingsError(ValueError):
    """A serving setting from the environment is unusable (the app does not start)."""


class ProgressReporter:
    """Maps the pipeline's (stage, fraction) calls onto one bar with a time estimate.

    The estimate extrapolates the render stage's own pace: it is most of the
    work, and the early stages (model loading, analysis) would skew an
    estimate taken over the whole run.
    """

    def __init__(self, progress: gr.Progress, start: float = 0.0, span: float = 1.0, label: str = "",
                 cancel: threading.Event | None = None):
        self.progress = progress
        self.cancel = cancel
        self.start, self.span, self.label = start, span, label
        self.stage, self.stage_began = "", time.perf_counter()

    def __call__(self, stage: str, fraction: float) -> None:
        if self.cancel is not None and self.cancel.is_set():  # the pipeline calls this per batch of frames
            raise Cancelled("generation was cancelled")
        now = time.perf_counter()
        if stage != self.stage:
            self.stage, self.stage_began = stage, now
        fraction = min(max(fraction, 0.0), 1.0)
        lo, hi = STAGES.get(stage, (0.0, 1.0))
        overall = self.start + self.span * (lo + (hi - lo) * fraction)
        left = ""
        if stage == "render" and fraction >= 0.05:
            left = f", about {(now - self.stage_began) * (1.0 - fraction) / fraction:.0f} s left"
        self.progress(overall, desc=f"{self.label}{stage}{left}")


def friendly(message: str) -> gr.Error:
    """An error shown in the page as a message; expected, so no traceback in the log."""
    return gr.Error(message, print_exception=False)


def shown(error: TalkingHeadError) -> gr.Error:
    """A pipeline error as web users see it: weights errors name server paths, so they get a
    message of their own (the full one goes to the server's log)."""
    if isinstance(error, WeightsError):
        print(f"talking-head: {error}", file=sys.stderr)
        return friendly("The face restorer's weights are not available on this server; choose the "
                        "Real-ESRGAN restorer (it works offline) or turn restoration off.")
    return friendly(str(error))


async def run_cancellable(work, *args):
    """Run ``work(cancel, *args)`` in a worker thread, as Gradio runs a plain function.

    When the request is cancelled (its task gets CancelledError) the event is
    set, which the pipeline checks per batch of frames, and this coroutine
    keeps waiting until the worker has stopped and cleaned up: the request's
    concurrency slot is held until then, so cancelling cannot start more
    renders than the limit.
    """
    cancel = threading.Event()
    context = contextvars.copy_context()  # gr.Progress finds its request through context variables
    future = asyncio.get_running_loop().run_in_executor(None, context.run, functools.partial(work, cancel, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:  # cancelled again while stopping: keep waiting
                continue
            except BaseException:  # noqa: BLE001 - the worker's Cancelled, or any error: it has stopped
                break
        raise


class TalkingHeadApp:
    """The app's state: one pipeline and a folder of per-request outputs."""

    def __init__(self, settings: AppSettings | None = None):
        self.settings = settings or AppSettings.from_env()
        self.pipeline = TalkingHeadPipeline(GenerationConfig(max_audio_seconds=self.settings.max_audio_seconds))
        remove_stale_roots()
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
        (self.root / OWNER).write_text(str(os.getpid()))
        self._lock = threading.Lock()

    # -- housekeeping -------------------------------------------------------
    def request_folder(self) -> Path:
        """A fresh folder for one request; folders older than the TTL are removed."""
        with self._lock:
            now = time.time()
            for old in self.root.iterdir():
                if old.is_dir() and now - old.stat().st_mtime > self.settings.output_ttl:
                    shutil.rmtree(old, ignore_errors=True)
            folder = self.root / uuid.uuid4().hex
            folder.mkdir()
        return folder

    def close(self) -> None:
        """Remove every request folder (Gradio's own copies go with its cache)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.pipeline.close()

    def config(self, driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing,
               head_motion=None, seed=None) -> GenerationConfig:
        """The call's config from the form; a bad value is a message naming the option (checks: config.py)."""
        values = dict(driver=driver, mouth_motion=mouth_motion, smoothing=smoothing, mouth=mouth, blink=blink,
                      restore=restore, restorer=restorer, size=size, framing=framing)
        if head_motion is not None:
            values["head_motion"] = head_motion
        if seed is not None:
            values["seed"] = seed
        try:
            return replace(self.pipeline.config, **coerce_options(GenerationConfig, values))
        except (ValueError, TypeError) as error:
            message = str(error).replace("_", " ")
            raise friendly(message[:1].upper() + message[1:]) from None

    def check_inputs(self, photo, audio) -> tuple[str, str]:
        """Paths of the uploads, refused unless they are files in this server's upload cache.

        The photo arrives unprocessed (the events run with ``preprocess=False``)
        so that a file that is not an image reaches our decoder, which says so,
        instead of failing inside Gradio with a generic error. The audio is
        decoded first thing by the pipeline, which refuses unusable audio
        before any other work; silent audio is accepted (the mouth stays
        closed), the same policy as the CLI's.
        """
        photo, audio = _upload_path(photo), _upload_path(audio)
        if not photo:
            raise friendly("Upload or take a photo first.")
        if not audio:
            raise friendly("Upload or record some speech first.")
        return photo, audio

    # -- actions ------------------------------------------------------------
    async def generate(self, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore,
                       restorer, size, framing, head_motion=None, seed=None, progress=gr.Progress()):
        return await run_cancellable(self._generate, photo, audio, transcript, driver, mouth_motion, smoothing,
                                     mouth, blink, restore, restorer, size, framing, head_motion, seed, progress)

    def _generate(self, cancel, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore,
                  restorer, size, framing, head_motion, seed, progress):
        import matplotlib.pyplot as plt

        photo, audio = self.check_inputs(photo, audio)
        config = self.config(driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing,
                             head_motion, seed)
        folder = self.request_folder()
        try:
            result = self.pipeline.generate(
                photo, audio, str(folder / "talking_head.mp4"), config=config,
                intermediates=str(folder / "stages"), progress=ProgressReporter(progress), cancel=cancel,
                transcript=_transcript_text(transcript), export_animation=str(folder / "animation"),
            )
            figure = plot_coefficients(result.coefficients)
            plt.close(figure)  # Gradio only calls savefig; keep pyplot from holding every request's figure
            mesh = self.mesh_zip(result.asset, folder)
        except BaseException as error:
            shutil.rmtree(folder, ignore_errors=True)  # a failed or cancelled request leaves nothing
            if isinstance(error, TalkingHeadError):
                raise shown(error) from None
            raise
        intermediate = result.intermediate_video or result.video
        return (
            result.asset.texture.rgba,
            str(intermediate),
            str(result.video),
            figure,
            mesh,
            animation_zip(folder / "animation"),
            _notes(result, config),
        )

    def mesh_zip(self, asset: FaceAsset, folder: Path) -> str:
        """OBJ + MTL + texture PNG of the reconstructed face, zipped."""
        recon, topo = asset.reconstruction, self.pipeline.topology
        canonical = mesh(recon, recon.expression)
        write_obj(folder / "face.obj", canonical, topo.uvs, front_facing_winding(canonical, topo.triangles))
        cv2.imwrite(str(folder / "texture.png"), cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
        archive = folder / "face_mesh.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            for name in ("face.obj", "face.mtl", "texture.png"):
                bundle.write(folder / name, name)
        return str(archive)

    async def ablation(self, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore,
                       restorer, size, framing, compare, head_motion=None, seed=None, progress=gr.Progress()):
        """Render the same input with post-processes off and on; one labelled video + a table."""
        return await run_cancellable(self._ablation, photo, audio, transcript, driver, mouth_motion, smoothing,
                                     mouth, blink, restore, restorer, size, framing, compare, head_motion, seed,
                                     progress)

    def _ablation(self, cancel, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore,
                  restorer, size, framing, compare, head_motion, seed, progress):
        from talking_head.ablation import compare_variants, variants_for

        photo, audio = self.check_inputs(photo, audio)
        config = self.config(driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing,
                             head_motion, seed)
        chosen = [name for name in (compare or []) if name in ABLATIONS]
        if not chosen:
            raise friendly("Tick at least one post-process to compare.")
        variants = variants_for(config, chosen)
        total = len(variants)
        reporters = [ProgressReporter(progress, index / total, 1 / total, f"{label} ({index + 1}/{total}): ", cancel)
                     for index, (label, _) in enumerate(variants)]
        folder = self.request_folder()
        try:
            video, rows = compare_variants(
                self.pipeline, photo, audio, variants, folder,
                progress=lambda index, _, stage, fraction: reporters[index](stage, fraction),
                transcript=_transcript_text(transcript),
            )
        except BaseException as error:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, TalkingHeadError):
                raise shown(error) from None
            raise
        return str(video), [[row[h] for h in TABLE_HEADERS] for row in rows]


ROOT_PREFIX = "talking-head-app-"
OWNER = "owner.pid"  # the serving process's id, so a later start can tell a dead server's folders


def remove_stale_roots(temp: str | None = None) -> list[Path]:
    """Delete output roots left by app processes that are gone (killed, crashed); the removed paths."""
    removed = []
    for root in Path(temp or tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            pid = int((root / OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge: no owner recorded
        try:
            os.kill(pid, 0)
            continue  # still serving
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, another user's
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


NOT_AN_UPLOAD = "The upload did not arrive as a file; upload it again."


def animation_zip(folder: Path) -> str:
    """arkit.csv + visemes.json + face.glb (``talking_head/export``) zipped for download."""
    archive = folder.with_name("animation.zip")
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, path.name)
    return str(archive)


def _upload_path(value) -> str | None:
    """The server-side path of an upload (a FileData dict, or a plain path), checked.

    Only regular files inside this server's upload cache are accepted: an API
    caller can name any path, and the events run with ``preprocess=False``, so
    Gradio does not check it for us. Everything else (another folder, a link
    out of the cache, a missing file) gets the same message, which names no
    path, so that the answers do not tell which files exist.
    """
    if value is None or value == "":
        return None
    path = value if isinstance(value, (str, Path)) else (
        value.get("path") if isinstance(value, dict) else getattr(value, "path", None))
    if not isinstance(path, (str, Path)) or not str(path):
        raise friendly(NOT_AN_UPLOAD)
    from gradio.utils import get_upload_folder

    cache = os.path.realpath(get_upload_folder())
    real = os.path.realpath(path)
    if os.path.commonpath([cache, real]) != cache or real == cache or not os.path.isfile(real):
        raise friendly(NOT_AN_UPLOAD)
    return real


def _transcript_text(value) -> str | None:
    """The "What is said" box: typed text only (the server never opens a path typed into it)."""
    if value is None or not str(value).strip():
        return None
    return str(value)


def _notes(result, config: GenerationConfig) -> str:
    lines = [f"**{result.frames} frames, {result.duration:.1f} s** of video "
             f"({config.size} px, {config.driver} driver, mouth motion {config.mouth_motion:g}, "
             f"smoothing l={config.smoothing}, restoration {config.restore})."]
    compute = sum(v for k, v in result.timings.items() if k not in ("render",))
    lines.append(f"Took {compute:.1f} s ({compute / max(result.duration, 1e-9):.2f} s per second of video).")
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines)


def build_demo(app: TalkingHeadApp | None = None) -> gr.Blocks:
    """The page, with its queue: events share one concurrency limit (one pipeline)."""
    app = app or TalkingHeadApp()
    defaults = app.pipeline.config
    ttl = max(int(app.settings.output_ttl), 1)
    with gr.Blocks(title="Talking head", delete_cache=(max(ttl // 2, 60), ttl)) as demo:
        gr.Markdown(
            "# Talking head\nOne photo and a clip of speech in, a talking-head video out. "
            "The face is reconstructed in 3D, its texture sampled into a UV map, driven by the speech's phones "
            "(or the paper's audio network), "
            "smoothed, rendered with a mouth interior, and optionally restored."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                photo = gr.Image(label="Photo", sources=["upload", "webcam"], type="filepath", image_mode=None,
                                 height=260, elem_id="photo")
                audio = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath", elem_id="audio")
                if EXAMPLE_PHOTO.exists() and EXAMPLE_AUDIO.exists():
                    gr.Examples([[str(EXAMPLE_PHOTO), str(EXAMPLE_AUDIO)]], inputs=[photo, audio])
                transcript = gr.Textbox("", label="What is said (optional, English)", lines=2, max_lines=6,
                                        placeholder="The words of the speech: the lips then follow every phone "
                                                    "exactly (phonetic driver)", elem_id="transcript")
                with gr.Row():
                    driver = gr.Dropdown([d for d in option_choices(GenerationConfig, "driver") if d != "curves"],
                                         value=defaults.driver,
                                         label="Driver", info="phonetic: recognised or aligned phones; "
                                         "audionet: the paper's network; loudness: baseline", elem_id="driver")
                    lo, hi = option_bounds(GenerationConfig, "mouth_motion")
                    mouth_motion = gr.Slider(lo, hi, value=defaults.mouth_motion, step=0.05, label="Mouth motion",
                                             elem_id="mouth-motion")
                lo, hi = option_bounds(GenerationConfig, "smoothing")
                smoothing = gr.Slider(lo, hi, value=defaults.smoothing, step=1, label="Smoothing window l (frames)",
                                      elem_id="smoothing")
                with gr.Row():
                    lo, hi = option_bounds(GenerationConfig, "head_motion")
                    head_motion = gr.Slider(lo, hi, value=defaults.head_motion, step=0.1, label="Head motion",
                                            info="0 = still, 1 = natural", elem_id="head-motion")
                    seed = gr.Number(defaults.seed, precision=0, minimum=0, label="Seed (head motion)",
                                     elem_id="seed", min_width=100)
                with gr.Row():
                    mouth = gr.Checkbox(value=defaults.mouth, label="Mouth completion")
                    blink = gr.Checkbox(value=defaults.blink, label="Blinks")
                restore = gr.Radio(list(option_choices(GenerationConfig, "restore")), value=defaults.restore,
                                   label="Face restoration",
                                   info="reference: the photo once (no flicker); frames: every frame (slow). "
                                        "Offline (Real-ESRGAN) it sharpens little and costs minutes on a CPU: "
                                        "keep it off unless GFPGAN's weights are downloaded")
                restorer = gr.Dropdown(list(option_choices(GenerationConfig, "restorer")), value=defaults.restorer,
                                       label="Restorer",
                                       info="GFPGAN needs a one-time download; Real-ESRGAN works offline")
                with gr.Row():
                    size = gr.Dropdown([256, 384, 512, 768], value=defaults.size, label="Size (px)", min_width=100)
                    framing = gr.Radio(list(option_choices(GenerationConfig, "framing")), value=defaults.framing,
                                       label="Framing", min_width=100)
                run = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=2):
                with gr.Row():
                    texture = gr.Image(label="UV texture", interactive=False, format="png", height=300,
                                       elem_id="texture")
                    intermediate = gr.Video(label="Render (before restoration)", interactive=False, height=300,
                                            elem_id="render")
                    final = gr.Video(label="Final video", interactive=False, height=300, elem_id="final")
                plot = gr.Plot(label="Main expression coefficients (raw and smoothed) and the head pose")
                with gr.Row(equal_height=False):
                    download = gr.File(label="Textured mesh (OBJ + MTL + PNG)", interactive=False, elem_id="mesh")
                    notes = gr.Markdown(label="Notes", elem_id="notes")
                    animation = gr.File(label="Animation (ARKit curves CSV, visemes JSON, animated glTF)",
                                        interactive=False, elem_id="animation")
        with gr.Accordion("Ablation: the same input with post-processes off and on", open=False):
            compare = gr.CheckboxGroup(list(ABLATIONS), value=["smoothing", "mouth completion"], label="Compare")
            run_ablation = gr.Button("Render the comparison", elem_id="run-ablation")
            ablation_video = gr.Video(label="Side by side", interactive=False, elem_id="ablation-video")
            table = gr.Dataframe(headers=TABLE_HEADERS, label="Measured", interactive=False, elem_id="ablation-table")
        settings = [transcript, driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing]
        # preprocess=False: uploads reach check_inputs as files, so a non-image gets our message.
        run.click(app.generate, [photo, audio, *settings, head_motion, seed],
                  [texture, intermediate, final, plot, download, animation, notes],
                  api_name="generate", preprocess=False, concurrency_id="pipeline",
                  concurrency_limit=app.settings.concurrency)
        run_ablation.click(app.ablation, [photo, audio, *settings, compare, head_motion, seed], [ablation_video, table],
                           api_name="ablation", preprocess=False, concurrency_id="pipeline",
                           concurrency_limit=app.settings.concurrency)
    demo.queue(default_concurrency_limit=app.settings.concurrency, max_size=QUEUE_SIZE)
    return demo


def launch(demo: gr.Blocks, settings: AppSettings, **overrides):
    """Start serving with the app's limits; ``overrides`` go to ``Blocks.launch``."""
    options = dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=settings.max_upload,
    )
    options.update(overrides)
    return demo.launch(**options)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    try:
        settings = AppSettings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = TalkingHeadApp(settings)
    # SIGTERM (docker stop, systemd) ends the server like Ctrl+C, so the folders below are removed.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        launch(build_demo(app), app.settings)
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM before Gradio's own loop took over
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
