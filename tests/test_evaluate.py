"""`evaluate` on a video rendered here: a jaw that opens with the audio's loudness."""

import json
import wave

import numpy as np
import pytest

from talking_head.cli import main
from talking_head.config import RenderConfig
from talking_head.eval.evaluate import evaluate_video
from talking_head.media import load_image
from talking_head.pipeline import TalkingHeadPipeline
from talking_head.video import VideoWriter

FPS = 25
SECONDS = 3.0


@pytest.fixture(scope="module")
def synced(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("eval")
    frames = int(SECONDS * FPS)
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * 1.5 * np.arange(frames) / FPS)  # 1.5 Hz syllables
    rate = 16000
    t = np.arange(int(SECONDS * rate)) / rate
    loud = np.interp(t, (np.arange(frames) + 0.5) / FPS, envelope)
    audio = (0.6 * loud * np.sin(2 * np.pi * 180 * t) * 32767).astype(np.int16)
    wav = folder / "tone.wav"
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(audio.tobytes())
    photo = folder / "photo.png"
    from PIL import Image

    Image.fromarray(astronaut).save(photo)
    pipeline = TalkingHeadPipeline(RenderConfig(size=256))
    asset = pipeline.analyse(load_image(astronaut))
    jaw = pipeline.rig.index("jawOpen")
    video = folder / "synced.mp4"
    with pipeline.animator(asset) as animator, VideoWriter(video, animator.size, FPS, audio=wav) as writer:
        for value in envelope:
            coeffs = asset.reconstruction.expression.copy()
            coeffs[jaw] = value
            writer.write(animator.frame(coeffs).rgb)
    pipeline.close()
    return video, photo


def test_evaluate_measures_a_synced_video(synced):
    video, photo = synced
    result = evaluate_video(video, photo=photo)
    assert result.frames == 75 and result.fps == 25 and result.has_audio
    assert abs(result.audio_video_difference) < 1 / FPS
    assert result.face_found_fraction == 1.0
    assert result.lip_sync_reference == "audio loudness"
    assert result.lip_sync_r > 0.6  # the mouth opens with the loudness
    assert result.identity_distance < 0.6  # still the same person
    assert 0 < result.jitter_mouth and 0 < result.jitter_all
    assert 0 <= result.sharpness <= 1 and 0 <= result.photo_sharpness <= 1
    assert result.flicker >= 0


def test_evaluate_command_against_a_real_video(synced, tmp_path, capsys):
    video, photo = synced
    report = tmp_path / "r.json"
    # The video itself as the "real" reference: perfect lip sync at lag 0.
    assert main(["evaluate", "--video", str(video), "--real-video", str(video), "--json", str(report)]) == 0
    numbers = json.loads(report.read_text())
    assert numbers["lip_sync_r"] > 0.999 and numbers["lip_sync_best_lag"] == 0
    assert "lip_sync_r" in capsys.readouterr().out


def test_evaluate_decodes_the_video_once(synced, monkeypatch):
    """Landmarks, sampled frames and flicker come from one pass over the frames (it was four)."""
    import talking_head.eval.evaluate as evaluate

    passes = []
    real_read = evaluate.read_frames

    def counted(path):  # the real decoder, counted
        passes.append(path)
        return real_read(path)

    monkeypatch.setattr(evaluate, "read_frames", counted)
    assert not hasattr(evaluate, "probe_video")  # it decodes every frame to count them
    result = evaluate_video(synced[0])
    assert len(passes) == 1 and result.frames == 75 and result.flicker >= 0


def test_face_sharpness_is_published_cpbd_of_the_face_at_256(astronaut, detector):
    import cv2

    from talking_head.eval.evaluate import face_sharpness, face_square
    from talking_head.eval.metrics import cpbd

    points = detector.detect(load_image(astronaut)).points
    square = face_square(astronaut, points)
    assert square.shape == (256, 256, 3)
    assert face_sharpness(astronaut, points) == cpbd(square)
    blurred = cv2.GaussianBlur(astronaut, (0, 0), 1.5)
    assert face_sharpness(blurred, points) < 0.6 * face_sharpness(astronaut, points)
    # A face cut by the image's border: the square stays inside the image.
    edge = astronaut[:, 200:]
    shifted = points.copy()
    shifted[:, 0] -= 200
    assert face_square(edge, shifted).shape == (256, 256, 3)
