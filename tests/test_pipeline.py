"""End-to-end checks of the photo stage and the renderer on a real photo."""

import cv2
import numpy as np
import pytest

from talking_head.config import RenderConfig
from talking_head.face.rig import inner_lip_gap
from talking_head.media import load_image


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def test_round_trip_reproduces_the_photo(pipeline, asset):
    # Full framing at the photo's own size: no resampling besides the texture's.
    animator = pipeline.animator(asset, RenderConfig(size=512, framing="full"))
    vertices = animator.vertices(asset.reconstruction.expression)
    render = animator.renderer.render(vertices)
    inside = cv2.erode((render.rgba[..., 3] > 0.999).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert inside.sum() > 5000
    rendered = np.clip(render.rgba[..., :3] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    assert psnr(rendered[inside], animator.background[inside]) >= 30.0
    # The composite at the photo's expression is the photo, inside and out.
    frame = animator.frame(asset.reconstruction.expression)
    assert psnr(frame.rgb, animator.background) >= 30.0


def neutral_mouth(rig, expression):
    from talking_head.render.mouth import neutral_mouth as at_rest

    return at_rest(rig.names, expression)


def test_jaw_open_opens_the_mouth_as_mediapipe_sees_it(pipeline, asset, detector):
    animator = pipeline.animator(asset)
    jaw = pipeline.rig.index("jawOpen")
    gaps = []
    for value in (0.0, 0.5, 1.0):
        # The photo's mouth expression (she smiles with parted lips) is removed:
        # a neutral mouth must be closed, so only the jaw opens it.
        coeffs = neutral_mouth(pipeline.rig, asset.reconstruction.expression)
        coeffs[jaw] = value
        frame = animator.frame(coeffs)
        points = detector.detect(load_image(frame.rgb)).points
        gaps.append(inner_lip_gap(points) / np.linalg.norm(points[33, :2] - points[263, :2]))
        if value == 0.0:
            assert frame.mouth_mask.sum() < 30  # closed mouth: (almost) no hole
        if value == 1.0:
            assert frame.mouth_mask.sum() > 200
    assert gaps[0] < gaps[1] < gaps[2]
    assert gaps[2] - gaps[0] > 0.15  # inner-lip gap grows by over 15% of the eye distance


def boundary_band(alpha: np.ndarray) -> np.ndarray:
    return (alpha > 0.05) & (alpha < 0.95)


def gradient(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))


def test_open_jaw_leaves_no_seam_at_the_chin(pipeline, asset):
    animator = pipeline.animator(asset)
    coeffs = neutral_mouth(pipeline.rig, asset.reconstruction.expression)
    coeffs[pipeline.rig.index("jawOpen")] = 1.0
    frame = animator.frame(coeffs)
    band = boundary_band(frame.face_alpha)
    chin_y = animator.vertices(coeffs)[152, 1]
    band[: int(chin_y) - 40] = False  # the lower face, where the jaw moved
    assert band.sum() > 100
    # A seam would add edges along the blend band that the photo does not have.
    ratio = gradient(frame.rgb)[band].mean() / gradient(animator.background)[band].mean()
    assert ratio < 1.5


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    import os

    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.slow
def test_repeated_generates_do_not_grow_memory(tmp_path):
    """Each call's renderer (an OpenGL context) is released: 20 calls cost no more than 2 (+50 MB)."""
    import wave

    from talking_head.config import GenerationConfig
    from talking_head.pipeline import TalkingHeadPipeline

    audio = tmp_path / "tone.wav"
    t = np.arange(8000) / 16000
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((0.3 * np.sin(2 * np.pi * 150 * t) * 32767).astype("<i2").tobytes())
    photo = tmp_path / "photo.png"
    import skimage.data

    cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    pipeline = TalkingHeadPipeline(GenerationConfig(size=256, blink=False))
    try:
        sizes = []
        for call in range(20):
            pipeline.generate(str(photo), str(audio), str(tmp_path / "out.mp4"), overwrite=True)
            sizes.append(rss_mb())
    finally:
        pipeline.close()
    assert sizes[-1] - sizes[1] < 50, [round(s) for s in sizes]


def test_models_are_cached_per_weights_and_device(tmp_path):
    """A per-call config with other AudioNet weights gets those weights, not the first ones loaded."""
    import torch

    from talking_head.audio.audionet import DEFAULT_WEIGHTS
    from talking_head.config import GenerationConfig
    from talking_head.pipeline import TalkingHeadPipeline

    other = tmp_path / "other.pt"
    other.write_bytes(DEFAULT_WEIGHTS.read_bytes())
    with TalkingHeadPipeline(GenerationConfig(device="cpu")) as pipe:
        shipped = pipe.audionet()
        assert pipe.audionet() is shipped
        custom = pipe.audionet(GenerationConfig(device="cpu", audionet=str(other)))
        assert custom is not shipped and pipe.audionet(GenerationConfig(device="cpu")) is shipped
        assert all(torch.equal(a, b) for a, b in zip(shipped.state_dict().values(), custom.state_dict().values()))


def test_head_pose_and_brows_follow_the_head_motion_option(pipeline):
    from dataclasses import replace

    from talking_head.audio.decode import AudioClip
    from talking_head.plot import plot_coefficients
    from talking_head.types import CoefficientTrack

    rate, seconds = 16000, 4.0
    t = np.arange(int(rate * seconds)) / rate
    # Syllable-like bursts with a pause: 4 Hz amplitude modulation of a 150 Hz tone.
    samples = (0.3 * np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * (np.abs(t - 2) > 0.5))
    clip = AudioClip(samples.astype(np.float32), rate)
    frames = 100
    still = replace(pipeline.config, head_motion=0.0)
    raw = np.zeros((frames, len(pipeline.rig.names)))
    assert pipeline.head_pose(clip, frames, still) is None
    assert pipeline.brows(raw, clip, still) is raw
    moving = replace(pipeline.config, head_motion=1.0, seed=7)
    head = pipeline.head_pose(clip, frames, moving)
    assert head.shape == (frames, 5) and np.abs(head[:, :3]).max() > 0.5
    np.testing.assert_array_equal(head, pipeline.head_pose(clip, frames, moving))
    brows = pipeline.brows(raw, clip, moving)[:, pipeline.rig.names.index("browInnerUp")]
    assert 0.05 < brows.max() <= 0.4
    figure = plot_coefficients(CoefficientTrack(pipeline.rig.names, raw, raw, 25.0, head))
    assert any(axis.get_title().startswith("head pose") for axis in figure.axes)
