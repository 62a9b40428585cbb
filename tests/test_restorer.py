"""Restorers with random weights in the real architectures' key layouts, saved
to files and loaded through the registry like the released weights."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
import torch

from talking_head.errors import WeightsError
from talking_head.restore import align, restorer, weights
from talking_head.restore.restorer import (
    Restorer,
    gfpgan_hyperparameters,
    load_descriptor,
    load_restorer,
    restore_frames,
    restore_photo,
)
from talking_head.restore.weights import WeightsEntry
from talking_head.types import Photo

TINY_GFPGAN = dict(out_size=64, num_style_feat=32, channel_multiplier=1, narrow=0.125, num_mlp=2)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core machine
    torch's thread pool makes them ~50x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gfpgan_class():
    restorer._spandrel()  # the torchvision guard
    from spandrel.architectures.GFPGAN import GFPGAN

    return GFPGAN


def save_tiny_gfpgan(path, seed=0, **overrides):
    torch.manual_seed(seed)
    model = gfpgan_class()(**{**TINY_GFPGAN, **overrides})
    # Like the released file: the tensors under "params_ema".
    torch.save({"params_ema": model.state_dict()}, path)
    return path


def file_entry(path, name="tiny") -> WeightsEntry:
    """A registry entry that downloads ``path`` (file:// URL) with its real digest."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return WeightsEntry(name, path.name, "test", "GFPGAN", url=path.as_uri(), sha256=digest)


@pytest.fixture(scope="module")
def tiny_gfpgan(tmp_path_factory):
    source = save_tiny_gfpgan(tmp_path_factory.mktemp("server") / "tiny-gfpgan.pth")
    cache = tmp_path_factory.mktemp("weights")
    return load_restorer(file_entry(source), directory=cache, device="cpu", progress=False, batch_size=2)


def test_hyperparameters_of_the_released_layout_are_spandrels():
    with torch.device("meta"):  # the 87M-parameter network, without memory
        full = gfpgan_class()()
    params = gfpgan_hyperparameters(full.state_dict())
    assert params == dict(out_size=512, num_style_feat=512, channel_multiplier=2, num_mlp=8, narrow=1.0,
                          different_w=True, sft_half=True, input_is_latent=True, fix_decoder=False)


def test_spandrel_detects_tiny_gfpgan_but_only_builds_the_released_size():
    restorer._spandrel()
    from spandrel.architectures.GFPGAN import GFPGANArch

    state = gfpgan_class()(**TINY_GFPGAN).state_dict()
    assert GFPGANArch().detect(state)
    with pytest.raises(RuntimeError, match="size mismatch"):
        GFPGANArch().load(state)
    descriptor = load_descriptor(state)
    assert descriptor.architecture.id == "talking_head.GFPGAN" and descriptor.size_requirements.minimum == 64


def test_tiny_gfpgan_through_the_registry(tiny_gfpgan, tmp_path):
    assert tiny_gfpgan.architecture == "talking_head.GFPGAN" and tiny_gfpgan.name == "tiny"
    faces = np.random.default_rng(0).integers(0, 256, (3, 512, 512, 3), dtype=np.uint8)
    out = tiny_gfpgan.restore_faces(faces)
    assert out.shape == faces.shape and out.dtype == np.uint8 and out.std() > 1
    # Deterministic (stored noise), and batching does not change results.
    np.testing.assert_array_equal(tiny_gfpgan.restore_faces(faces[1:2]), out[1:2])
    with pytest.raises(ValueError, match="512, 512, 3"):
        tiny_gfpgan.restore_faces(faces[:, :256])


def test_narrow_512_gfpgan_runs_without_resizing(tmp_path):
    path = save_tiny_gfpgan(tmp_path / "narrow.pth", out_size=512, num_style_feat=16, narrow=0.0625, num_mlp=1)
    model = Restorer.from_file(path, device="cpu")
    assert model.plan.input_size == 512 and model.plan.signed
    face = np.full((1, 512, 512, 3), 128, np.uint8)
    assert model.restore_faces(face).shape == (1, 512, 512, 3)


def test_tiny_realesrgan_safetensors(tmp_path):
    from safetensors.torch import save_file

    from test_ncnn_convert import tiny_rrdbnet

    path = tmp_path / "tiny-esrgan.safetensors"
    save_file(tiny_rrdbnet(), str(path))
    model = Restorer.from_file(path, device="cpu")
    assert model.architecture == "ESRGAN" and model.plan.input_size == 128 and model.plan.scale == 4
    faces = np.random.default_rng(1).integers(0, 256, (2, 512, 512, 3), dtype=np.uint8)
    assert model.restore_faces(faces).shape == faces.shape


def test_restore_frame_changes_only_the_face(tiny_gfpgan, astronaut, detector):
    landmarks = detector.detect(Photo(astronaut))
    five = align.five_points(landmarks.points)
    out = tiny_gfpgan.restore_frame(astronaut, five)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    matrix = align.alignment_matrix(five)
    footprint = align.paste_back(np.zeros_like(astronaut), np.full((512, 512, 3), 255, np.uint8),
                                 align.face_mask(), matrix)[..., 0] > 0
    changed = np.any(out != astronaut, axis=2)
    assert changed[footprint].mean() > 0.5 and not changed[~footprint].any()
    # Colour matched: the face keeps its mean colour although the random model's output does not.
    inner = align.paste_back(np.zeros_like(astronaut), np.full((512, 512, 3), 255, np.uint8),
                             (align.face_mask() > 0.99).astype(np.float32), matrix)[..., 0] == 255
    assert np.abs(out[inner].mean(axis=0) - astronaut[inner].mean(axis=0)).max() < 8
    np.testing.assert_array_equal(restore_photo(astronaut, landmarks, tiny_gfpgan), out)


def test_reference_upscale_keeps_the_restored_resolution(tiny_gfpgan, astronaut, detector):
    landmarks = detector.detect(Photo(astronaut))
    matrix = align.alignment_matrix(align.five_points(landmarks.points))
    factor = np.hypot(*matrix[0, :2])  # crop pixels per photo pixel, ~3 for this small face
    big = restore_photo(astronaut, landmarks, tiny_gfpgan, upscale=True)
    assert big.shape == (round(512 * factor), round(512 * factor), 3) and factor > 2
    # Outside the face it is the plain enlargement; the face moved with it.
    corner = (slice(0, 100), slice(0, 100))
    plain = cv2.resize(astronaut, big.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(big[corner], plain[corner])
    ys, xs = np.nonzero(np.any(big != plain, axis=2))
    # The changed region is centred where the mask's centre lands in the enlarged photo.
    inverse = cv2.invertAffineTransform(align.alignment_matrix(align.five_points(landmarks.points) * factor))
    centre = inverse @ [*align.MASK_CENTER, 1.0]
    assert np.hypot(xs.mean() - centre[0], ys.mean() - centre[1]) < 5
    capped = restore_photo(astronaut, landmarks, tiny_gfpgan, upscale=True, max_side=600)
    assert capped.shape == (600, 600, 3)


def test_restore_frames_batches_like_single_frames(tiny_gfpgan, astronaut):
    rng = np.random.default_rng(2)
    base = align.TEMPLATE_512 * 0.3 + [150.0, 60.0]
    fives = [base + rng.normal(0, 3, (5, 2)) for _ in range(3)]
    frames = np.stack([np.roll(astronaut, k, axis=1) for k in range(3)])
    out = restore_frames(frames, fives, tiny_gfpgan)  # batches of 2, then 1
    assert out.shape == frames.shape
    for frame, five, restored in zip(frames, fives, out):
        np.testing.assert_array_equal(tiny_gfpgan.restore_frame(frame, five), restored)
    assert restore_frames(frames[:0], [], tiny_gfpgan).shape[0] == 0


def test_auto_prefers_cached_gfpgan(tmp_path):
    assert restorer.choose_restorer("auto", tmp_path) is weights.REALESRGAN_X4PLUS
    (tmp_path / weights.GFPGAN_V14.file).write_bytes(b"")
    assert restorer.choose_restorer("auto", tmp_path) is weights.GFPGAN_V14
    assert restorer.choose_restorer("realesrgan", tmp_path) is weights.REALESRGAN_X4PLUS
    with pytest.raises(ValueError):
        restorer.choose_restorer("codeformer")


def test_offline_default_loads_without_network(tmp_path):
    model = load_restorer("realesrgan", directory=tmp_path, device="cpu")
    assert model.architecture == "ESRGAN" and model.plan.input_size == 128
    assert (tmp_path / "realesrgan-x4plus.safetensors").is_file()


def test_unusable_weights_are_weights_errors(tmp_path):
    path = tmp_path / "junk.pth"
    torch.save({"some.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsError, match="no architecture"):
        Restorer.from_file(path, device="cpu")
    state = gfpgan_class()(**TINY_GFPGAN).state_dict()
    state["final_conv.weight"] = state["final_conv.weight"][:, :1]
    torch.save(state, path)
    with pytest.raises(WeightsError, match="do not fit"):
        Restorer.from_file(path, device="cpu")


def test_generate_in_frames_mode_restores_every_frame(tiny_gfpgan, astronaut, tmp_path):
    """Frames mode through the pipeline: a restored video and the render before restoration."""
    import wave

    from talking_head.config import GenerationConfig
    from talking_head.pipeline import TalkingHeadPipeline
    from talking_head.video import probe_video, read_frames

    rate = 16000
    t = np.arange(int(0.4 * rate)) / rate
    with wave.open(str(tmp_path / "a.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((0.3 * np.sin(2 * np.pi * 160 * t) * 32767).astype(np.int16).tobytes())
    config = GenerationConfig(size=128, texture_size=256, restore="frames", restorer="realesrgan", blink=False)
    pipeline = TalkingHeadPipeline(config)
    # The tiny random-weight GFPGAN stands in for the 67 MB Real-ESRGAN: same interface, milliseconds per face.
    pipeline._models["restorer", "realesrgan-x4plus", pipeline.device(config)] = tiny_gfpgan
    try:
        result = pipeline.generate(astronaut, str(tmp_path / "a.wav"), str(tmp_path / "out.mp4"),
                                   intermediates=str(tmp_path / "stages"))
    finally:
        pipeline.close()
    assert result.intermediate_video is not None and "restore_frames" in result.timings
    final, before = probe_video(result.video), probe_video(result.intermediate_video)
    assert final.frames == before.frames == result.frames == 10
    differences = [np.abs(a.astype(int) - b.astype(int)).mean()
                   for a, b in zip(read_frames(result.video), read_frames(result.intermediate_video))]
    assert min(differences) > 0.5  # every frame went through the restorer


def test_native_scale_super_resolution_and_strength(astronaut, detector, tmp_path):
    from safetensors.torch import save_file

    from test_ncnn_convert import tiny_rrdbnet

    path = tmp_path / "tiny-esrgan.safetensors"
    save_file(tiny_rrdbnet(), str(path))
    model = Restorer.from_file(path, device="cpu")
    landmarks = detector.detect(Photo(astronaut))
    # The model sees the face at the photo's own scale (~170 px here), not 128.
    seen = []
    original = model.upscale_face
    model.upscale_face = lambda crop: seen.append(crop.shape) or original(crop)
    native = restore_photo(astronaut, landmarks, model, upscale=True, native=True)
    matrix = align.alignment_matrix(align.five_points(landmarks.points))
    side = round(512 / np.hypot(*matrix[0, :2]))
    assert seen == [(side, side, 3)] and 128 < side <= 192
    plain = cv2.resize(astronaut, native.shape[1::-1], interpolation=cv2.INTER_CUBIC)
    assert native.shape == plain.shape and np.any(native != plain)
    # Half strength is half-way between the enlargement and the full restoration.
    half = restore_photo(astronaut, landmarks, model, upscale=True, native=True, strength=0.5)
    middle = (native.astype(float) + plain) / 2
    assert np.abs(half - middle).max() <= 1.0
