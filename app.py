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

import os
import shutil
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
from talking_head.errors import TalkingHeadError
from talking_head.face.export import front_facing_winding, write_obj
from talking_head.face.reconstruct import mesh
from talking_head.pipeline import FaceAsset, TalkingHeadPipeline, plot_coefficients

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
ABLATIONS = ("smoothing", "mouth completion", "restoration")
TABLE_HEADERS = ["variant", "seconds", "face sharpness (CPBD)", "mouth jitter"]
QUEUE_SIZE = 32  # requests waiting beyond this are refused ("queue full") instead of piling up


@dataclass(frozen=True)
class AppSettings:
    """Serving limits, from the environment."""

    concurrency: int = 1
    max_upload: str = "50mb"
    max_audio_seconds: float = 120.0
    output_ttl: float = 3600.0

    @classmethod
    def from_env(cls) -> "AppSettings":
        return cls(
            concurrency=int(os.environ.get("TALKING_HEAD_CONCURRENCY", cls.concurrency)),
            max_upload=os.environ.get("TALKING_HEAD_MAX_UPLOAD", cls.max_upload),
            max_audio_seconds=float(os.environ.get("TALKING_HEAD_MAX_AUDIO_SECONDS", cls.max_audio_seconds)),
            output_ttl=float(os.environ.get("TALKING_HEAD_OUTPUT_TTL", cls.output_ttl)),
        )


class ProgressReporter:
    """Maps the pipeline's (stage, fraction) calls onto one bar with a time estimate.

    The estimate extrapolates the render stage's own pace: it is most of the
    work, and the early stages (model loading, analysis) would skew an
    estimate taken over the whole run.
    """

    def __init__(self, progress: gr.Progress, start: float = 0.0, span: float = 1.0, label: str = ""):
        self.progress = progress
        self.start, self.span, self.label = start, span, label
        self.stage, self.stage_began = "", time.perf_counter()

    def __call__(self, stage: str, fraction: float) -> None:
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


class TalkingHeadApp:
    """The app's state: one pipeline and a folder of per-request outputs."""

    def __init__(self, settings: AppSettings | None = None):
        self.settings = settings or AppSettings.from_env()
        self.pipeline = TalkingHeadPipeline(GenerationConfig(max_audio_seconds=self.settings.max_audio_seconds))
        self.root = Path(tempfile.mkdtemp(prefix="talking-head-app-"))
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

    def config(self, driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing) -> GenerationConfig:
        try:
            return replace(
                self.pipeline.config,
                driver=str(driver),
                mouth_motion=float(mouth_motion),
                smoothing=int(smoothing),
                mouth=bool(mouth),
                blink=bool(blink),
                restore=str(restore),
                restorer=str(restorer),
                size=int(size),
                framing=str(framing),
            )
        except (ValueError, TypeError) as error:
            raise friendly(str(error)) from None

    def check_inputs(self, photo, audio) -> tuple[str, str]:
        """Paths of the uploads; refuses missing files and unusable audio before any work.

        The photo arrives unprocessed (the events run with ``preprocess=False``)
        so that a file that is not an image reaches our decoder, which says so,
        instead of failing inside Gradio with a generic error.
        """
        from talking_head.audio.decode import decode_audio, is_silent

        photo, audio = _upload_path(photo), _upload_path(audio)
        if not photo:
            raise friendly("Upload or take a photo first.")
        if not audio:
            raise friendly("Upload or record some speech first.")
        try:
            clip = decode_audio(audio, max_seconds=self.pipeline.config.max_audio_seconds)
        except TalkingHeadError as error:
            raise friendly(str(error)) from None
        if is_silent(clip):
            raise friendly("The audio is silent: upload or record a clip with speech.")
        return photo, audio

    # -- actions ------------------------------------------------------------
    def generate(self, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore, restorer,
                 size, framing, progress=gr.Progress()):
        import matplotlib.pyplot as plt

        photo, audio = self.check_inputs(photo, audio)
        config = self.config(driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing)
        folder = self.request_folder()
        try:
            result = self.pipeline.generate(
                photo, audio, str(folder / "talking_head.mp4"), config=config,
                intermediates=str(folder / "stages"), progress=ProgressReporter(progress),
                transcript=_transcript_text(transcript), export_animation=str(folder / "animation"),
            )
        except TalkingHeadError as error:
            raise friendly(str(error)) from None
        figure = plot_coefficients(result.coefficients)
        plt.close(figure)  # Gradio only calls savefig; keep pyplot from holding every request's figure
        intermediate = result.intermediate_video or result.video
        return (
            result.asset.texture.rgba,
            str(intermediate),
            str(result.video),
            figure,
            self.mesh_zip(result.asset, folder),
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

    def ablation(self, photo, audio, transcript, driver, mouth_motion, smoothing, mouth, blink, restore, restorer,
                 size, framing, compare, progress=gr.Progress()):
        """Render the same input with post-processes off and on; one labelled video + a table."""
        from talking_head.ablation import compare_variants, variants_for

        photo, audio = self.check_inputs(photo, audio)
        config = self.config(driver, mouth_motion, smoothing, mouth, blink, restore, restorer, size, framing)
        chosen = [name for name in (compare or []) if name in ABLATIONS]
        if not chosen:
            raise friendly("Tick at least one post-process to compare.")
        variants = variants_for(config, chosen)
        total = len(variants)
        reporters = [ProgressReporter(progress, index / total, 1 / total, f"{label} ({index + 1}/{total}): ")
                     for index, (label, _) in enumerate(variants)]
        folder = self.request_folder()
        try:
            video, rows = compare_variants(
                self.pipeline, photo, audio, variants, folder,
                progress=lambda index, _, stage, fraction: reporters[index](stage, fraction),
                transcript=_transcript_text(transcript),
            )
        except TalkingHeadError as error:
            raise friendly(str(error)) from None
        return str(video), [[row[h] for h in TABLE_HEADERS] for row in rows]


def animation_zip(folder: Path) -> str:
    """arkit.csv + visemes.json + face.glb (``talking_head/export``) zipped for download."""
    archive = folder.with_name("animation.zip")
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, path.name)
    return str(archive)


def _upload_path(value) -> str | None:
    """The server-side path of an unprocessed upload (a FileData dict), or of a plain path."""
    if value is None or isinstance(value, (str, Path)):
        return str(value) if value else None
    path = value.get("path") if isinstance(value, dict) else getattr(value, "path", None)
    if not path:
        raise friendly("The upload did not arrive as a file; upload it again.")
    return str(path)


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
            "The face is reconstructed in 3D, its texture sampled into a UV map, driven by an audio network, "
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
                    mouth = gr.Checkbox(value=defaults.mouth, label="Mouth completion")
                    blink = gr.Checkbox(value=defaults.blink, label="Blinks")
                restore = gr.Radio(list(option_choices(GenerationConfig, "restore")), value=defaults.restore,
                                   label="Face restoration",
                                   info="reference: the photo once (fast, no flicker); frames: every frame (slow)")
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
                plot = gr.Plot(label="Main expression coefficients: raw and smoothed")
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
        run.click(app.generate, [photo, audio, *settings], [texture, intermediate, final, plot, download, animation,
                                                    notes],
                  api_name="generate", preprocess=False, concurrency_id="pipeline",
                  concurrency_limit=app.settings.concurrency)
        run_ablation.click(app.ablation, [photo, audio, *settings, compare], [ablation_video, table],
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


def main() -> None:
    app = TalkingHeadApp()
    try:
        launch(build_demo(app), app.settings)
    finally:
        app.close()


if __name__ == "__main__":
    main()
