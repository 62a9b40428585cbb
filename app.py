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
import numpy as np

from talking_head.config import GenerationConfig
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
    "audionet": (0.14, 0.20),
    "render": (0.20, 1.00),
}
ABLATIONS = ("smoothing", "mouth completion", "restoration")


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
    """Maps the pipeline's (stage, fraction) calls onto one bar with a time estimate."""

    def __init__(self, progress: gr.Progress, start: float = 0.0, span: float = 1.0, label: str = ""):
        self.progress = progress
        self.start, self.span, self.label = start, span, label
        self.began = time.perf_counter()

    def __call__(self, stage: str, fraction: float) -> None:
        lo, hi = STAGES.get(stage, (0.0, 1.0))
        overall = self.start + self.span * (lo + (hi - lo) * min(max(fraction, 0.0), 1.0))
        elapsed = time.perf_counter() - self.began
        left = ""
        if overall > self.start + 0.05 * self.span:
            remaining = elapsed * (self.start + self.span - overall) / max(overall - self.start, 1e-6)
            left = f", about {remaining:.0f} s left"
        self.progress(overall, desc=f"{self.label}{stage}{left}")


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

    def config(self, smoothing, mouth, blink, restore, restorer, size, framing) -> GenerationConfig:
        try:
            return replace(
                self.pipeline.config,
                smoothing=int(smoothing),
                mouth=bool(mouth),
                blink=bool(blink),
                restore=str(restore),
                restorer=str(restorer),
                size=int(size),
                framing=str(framing),
            )
        except (ValueError, TypeError) as error:
            raise gr.Error(str(error)) from None

    # -- actions ------------------------------------------------------------
    def generate(self, photo, audio, smoothing, mouth, blink, restore, restorer, size, framing,
                 progress=gr.Progress()):
        photo, audio = _check_inputs(photo, audio)
        config = self.config(smoothing, mouth, blink, restore, restorer, size, framing)
        folder = self.request_folder()
        try:
            result = self.pipeline.generate(
                photo, audio, str(folder / "talking_head.mp4"), config=config,
                intermediates=str(folder / "stages"), progress=ProgressReporter(progress),
            )
        except TalkingHeadError as error:
            raise gr.Error(str(error)) from None
        figure = plot_coefficients(result.coefficients)
        intermediate = result.intermediate_video or result.video
        notes = _notes(result)
        return (
            result.asset.texture.rgba,
            str(intermediate),
            str(result.video),
            figure,
            self.mesh_zip(result.asset, folder),
            notes,
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

    def ablation(self, photo, audio, smoothing, mouth, blink, restore, restorer, size, framing, compare,
                 progress=gr.Progress()):
        """Render the same input with post-processes off and on; one labelled video + a table."""
        from talking_head.ablation import compare_variants, variants_for

        photo, audio = _check_inputs(photo, audio)
        config = self.config(smoothing, mouth, blink, restore, restorer, size, framing)
        chosen = [name for name in (compare or []) if name in ABLATIONS]
        if not chosen:
            raise gr.Error("Tick at least one post-process to compare.")
        variants = variants_for(config, chosen)
        folder = self.request_folder()
        try:
            video, rows = compare_variants(
                self.pipeline, photo, audio, variants, folder,
                progress=lambda index, total, stage, fraction: ProgressReporter(
                    progress, index / total, 1 / total, f"{variants[index][0]}: ")(stage, fraction),
            )
        except TalkingHeadError as error:
            raise gr.Error(str(error)) from None
        headers = ["variant", "seconds", "face sharpness (CPBD)", "mouth jitter"]
        return str(video), gr.update(value=[[r[h] for h in headers] for r in rows], headers=headers)


def _check_inputs(photo, audio) -> tuple[str, str]:
    if not photo:
        raise gr.Error("Upload or take a photo first.")
    if not audio:
        raise gr.Error("Upload or record some speech first.")
    return str(photo), str(audio)


def _notes(result) -> str:
    lines = [f"**{result.frames} frames, {result.duration:.1f} s** of video."]
    compute = sum(v for k, v in result.timings.items() if k not in ("render",))
    lines.append(f"Took {compute:.1f} s ({compute / max(result.duration, 1e-9):.2f} s per second of video).")
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines)


def build_demo(app: TalkingHeadApp | None = None) -> gr.Blocks:
    app = app or TalkingHeadApp()
    defaults = app.pipeline.config
    with gr.Blocks(title="Talking head") as demo:
        gr.Markdown(
            "# Talking head\nOne photo and a clip of speech in, a talking-head video out. "
            "The face is reconstructed in 3D, its texture sampled into a UV map, driven by an audio network, "
            "smoothed, rendered with a mouth interior, and optionally restored."
        )
        with gr.Row():
            with gr.Column(scale=1):
                photo = gr.Image(label="Photo", sources=["upload", "webcam"], type="filepath", image_mode=None)
                audio = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath")
                smoothing = gr.Slider(0, 10, value=defaults.smoothing, step=1, label="Smoothing window l (frames)")
                with gr.Row():
                    mouth = gr.Checkbox(value=defaults.mouth, label="Mouth completion")
                    blink = gr.Checkbox(value=defaults.blink, label="Blinks")
                with gr.Row():
                    restore = gr.Radio(["off", "reference", "frames"], value=defaults.restore, label="Restoration")
                    restorer = gr.Dropdown(["auto", "gfpgan", "realesrgan"], value=defaults.restorer, label="Restorer",
                                           info="GFPGAN needs a one-time download; Real-ESRGAN works offline")
                with gr.Row():
                    size = gr.Dropdown([256, 384, 512, 768], value=defaults.size, label="Size (px)")
                    framing = gr.Radio(["crop", "full"], value=defaults.framing, label="Framing")
                run = gr.Button("Generate", variant="primary")
            with gr.Column(scale=2):
                with gr.Row():
                    texture = gr.Image(label="UV texture", interactive=False)
                    intermediate = gr.Video(label="Render (before restoration)", interactive=False)
                    final = gr.Video(label="Final video", interactive=False)
                plot = gr.Plot(label="Main expression coefficients: raw and smoothed")
                with gr.Row():
                    download = gr.File(label="Textured mesh (OBJ + MTL + PNG)")
                    notes = gr.Markdown()
        with gr.Accordion("Ablation: the same input with post-processes off and on", open=False):
            compare = gr.CheckboxGroup(list(ABLATIONS), value=["smoothing", "mouth completion"], label="Compare")
            run_ablation = gr.Button("Render the comparison")
            ablation_video = gr.Video(label="Side by side", interactive=False)
            table = gr.Dataframe(label="Measured", interactive=False)
        settings = [smoothing, mouth, blink, restore, restorer, size, framing]
        if EXAMPLE_PHOTO.exists() and EXAMPLE_AUDIO.exists():
            gr.Examples([[str(EXAMPLE_PHOTO), str(EXAMPLE_AUDIO)]], inputs=[photo, audio])
        run.click(app.generate, [photo, audio, *settings], [texture, intermediate, final, plot, download, notes],
                  api_name="generate", concurrency_limit=app.settings.concurrency)
        run_ablation.click(app.ablation, [photo, audio, *settings, compare], [ablation_video, table],
                           api_name="ablation", concurrency_limit=app.settings.concurrency)
    return demo


def main() -> None:
    app = TalkingHeadApp()
    demo = build_demo(app)
    demo.queue(default_concurrency_limit=app.settings.concurrency, max_size=32).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=app.settings.max_upload,
    )


if __name__ == "__main__":
    main()
