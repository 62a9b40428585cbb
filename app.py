"""Gradio app: photo in, textured 3D face out, with a live expression preview.

Started by `make run` (or `python app.py`). Honors GRADIO_SERVER_NAME and
GRADIO_SERVER_PORT. The full talking-head video UI builds on this page.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from talking_head.config import RenderConfig
from talking_head.errors import TalkingHeadError
from talking_head.face.export import draw_overlay, front_facing_winding, write_obj
from talking_head.face.reconstruct import mesh, posed_vertices
from talking_head.pipeline import FaceAsset, TalkingHeadPipeline

PREVIEW_SHAPES = ("jawOpen", "mouthSmile_L", "mouthSmile_R", "mouthPucker", "eyeBlink_L", "eyeBlink_R", "browInnerUp")
EXAMPLE = Path(__file__).parent / "assets" / "examples" / "astronaut.png"


class FaceApp:
    """Thin layer over the pipeline; models load once per process."""

    def __init__(self) -> None:
        self.pipeline = TalkingHeadPipeline(RenderConfig(size=512))
        self.workdir = Path(tempfile.mkdtemp(prefix="talking-head-"))

    def analyse(self, image: np.ndarray | None):
        if image is None:
            raise gr.Error("Upload or take a photo first.")
        try:
            asset = self.pipeline.analyse(image)
        except TalkingHeadError as error:
            raise gr.Error(str(error)) from None
        for note in asset.notes:
            gr.Info(note)
        recon, topo = asset.reconstruction, self.pipeline.topology
        overlay = draw_overlay(asset.photo.rgb, posed_vertices(recon, recon.expression), topo.triangles, topo.mouth_triangles)
        expression = {n: float(v) for n, v in zip(self.pipeline.rig.names, recon.expression)}
        sliders = [gr.update(value=round(expression[n], 2)) for n in PREVIEW_SHAPES]
        return (asset, asset.texture.rgba, overlay, self.mesh_zip(asset), *sliders)

    def mesh_zip(self, asset: FaceAsset) -> str:
        folder = Path(tempfile.mkdtemp(dir=self.workdir))
        recon, topo = asset.reconstruction, self.pipeline.topology
        canonical = mesh(recon, recon.expression)
        write_obj(folder / "face.obj", canonical, topo.uvs, front_facing_winding(canonical, topo.triangles))
        cv2.imwrite(str(folder / "texture.png"), cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
        archive = folder / "face_mesh.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            for name in ("face.obj", "face.mtl", "texture.png"):
                bundle.write(folder / name, name)
        return str(archive)

    def preview(self, asset: FaceAsset | None, *values: float):
        if asset is None:
            return None
        coeffs = asset.reconstruction.expression.copy()
        for name, value in zip(PREVIEW_SHAPES, values):
            coeffs[self.pipeline.rig.index(name)] = value
        return self.pipeline.animator(asset).frame(coeffs).rgb


def build_demo() -> gr.Blocks:
    app = FaceApp()
    with gr.Blocks(title="Talking head: face model") as demo:
        gr.Markdown("# Talking head\nUpload a portrait: the face is reconstructed in 3D, its texture sampled into a UV map, and rendered back with any expression.")
        asset = gr.State(None)
        with gr.Row():
            photo = gr.Image(label="Photo", sources=["upload", "webcam"], type="numpy")
            texture = gr.Image(label="UV texture", interactive=False)
            overlay = gr.Image(label="Mesh over the photo", interactive=False)
        analyse = gr.Button("Reconstruct", variant="primary")
        with gr.Row():
            with gr.Column():
                sliders = [gr.Slider(0, 1, value=0, step=0.05, label=name) for name in PREVIEW_SHAPES]
            preview = gr.Image(label="Rendered with this expression", interactive=False)
        download = gr.File(label="Textured mesh (OBJ + MTL + PNG)")
        if EXAMPLE.exists():
            gr.Examples([[str(EXAMPLE)]], inputs=[photo])
        analyse.click(app.analyse, photo, [asset, texture, overlay, download, *sliders], api_name="reconstruct").then(
            app.preview, [asset, *sliders], preview
        )
        for slider in sliders:
            slider.release(app.preview, [asset, *sliders], preview, api_name=False)
    return demo


if __name__ == "__main__":
    build_demo().queue(default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
