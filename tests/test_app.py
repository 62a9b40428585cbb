"""The Gradio app served in-process on a free port and called through gradio_client."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app
from talking_head.ablation import TILE, variants_for
from talking_head.audio.decode import decode_audio
from talking_head.config import GenerationConfig
from talking_head.video import probe_video

MAX_AUDIO_SECONDS = 12.0  # above the 8.7 s example, low enough for a cheap "too long" clip


@pytest.fixture(scope="module")
def served():
    """(TalkingHeadApp, local URL); three generations may run at once, uploads up to 1 MB."""
    settings = app.AppSettings(concurrency=3, max_upload="1mb", max_audio_seconds=MAX_AUDIO_SECONDS)
    talking = app.TalkingHeadApp(settings)
    demo = app.build_demo(talking)
    app.launch(demo, talking.settings, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
               quiet=True)
    yield talking, demo.local_url
    demo.close()
    talking.close()


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served[1], verbose=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The first 1.5 s of the bundled speech, cut with the bundled ffmpeg."""
    import imageio_ffmpeg

    out = tmp_path_factory.mktemp("clip") / "hello_1.5s.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(app.EXAMPLE_AUDIO), "-t", "1.5",
                    "-c:a", "aac", str(out)], check=True)
    return out


def generate(client, photo, audio, smoothing=2, size=256, transcript="", driver="audionet", mouth_motion=1.0,
             **kwargs):
    from gradio_client import handle_file

    return client.predict(handle_file(str(photo)), handle_file(str(audio)), transcript, driver, mouth_motion,
                          smoothing, True, True, "off", "auto", size, "crop", api_name="/generate", **kwargs)


def test_generate_on_the_bundled_example(served, client):
    texture, render, final, plot, mesh_zip, animation, notes = generate(client, app.EXAMPLE_PHOTO, app.EXAMPLE_AUDIO)

    video = probe_video(final)
    assert (video.video_codec, video.audio_codec) == ("h264", "aac")
    assert (video.width, video.height) == (256, 256)
    assert video.fps == pytest.approx(25.0)
    speech = decode_audio(app.EXAMPLE_AUDIO).duration  # 8.70 s
    assert video.frames == 218
    assert video.duration == pytest.approx(speech, abs=1 / 25)
    assert video.audio_duration == pytest.approx(speech, abs=0.1)  # AAC headers round by a few packets
    assert probe_video(render).frames == video.frames  # restoration off: the render is the final video

    rgba = np.asarray(Image.open(texture))
    assert rgba.shape == (1024, 1024, 4) and Path(texture).suffix == ".png"
    assert 0.2 < (rgba[..., 3] > 0).mean() < 0.95  # the face's UV island, not an empty or full square
    assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/")
    assert set(zipfile.ZipFile(mesh_zip).namelist()) == {"face.obj", "face.mtl", "texture.png"}
    assert set(zipfile.ZipFile(animation).namelist()) == {"arkit.csv", "visemes.json", "face.glb"}
    assert "218 frames" in notes and "256 px, audionet driver" in notes and "smoothing l=2" in notes

    # The pipeline wrote into one request folder of the app's own temporary root.
    talking, _ = served
    assert any((folder / "talking_head.mp4").is_file() for folder in talking.root.iterdir())


def test_only_gradio_cache_is_served(served, client, short_clip):
    """Outputs are served from Gradio's cache; the request folders and the repo are not."""
    talking, url = served
    final = generate(client, app.EXAMPLE_PHOTO, short_clip)[2]

    def status(path) -> int:
        try:
            return urllib.request.urlopen(f"{url.rstrip('/')}/gradio_api/file={path}", timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    assert status(final) == 200
    originals = sorted(talking.root.glob("*/talking_head.mp4"))
    assert originals and status(originals[-1]) == 403
    assert status(Path(app.__file__)) == 403


def test_uploads_over_the_limit_are_refused(served, client, tmp_path):
    import httpx
    from gradio_client import handle_file

    big = tmp_path / "big.png"
    big.write_bytes(np.random.default_rng(0).bytes(1_500_000))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # the client reads the limit
        client.predict(photo=handle_file(str(big)), audio=handle_file(str(app.EXAMPLE_AUDIO)), api_name="/generate")
    with big.open("rb") as data:  # and the server enforces it
        response = httpx.post(f"{served[1].rstrip('/')}/gradio_api/upload", files={"files": data}, timeout=30)
    assert response.status_code == 413


def test_old_request_folders_are_swept(served):
    talking, _ = served
    old = talking.root / "expired"
    old.mkdir()
    (old / "talking_head.mp4").write_bytes(b"x")
    hours_ago = time.time() - talking.settings.output_ttl - 60
    os.utime(old, (hours_ago, hours_ago))
    fresh = talking.request_folder()
    assert fresh.is_dir() and fresh.parent == talking.root
    assert not old.exists()


def test_ablation_joins_variants_side_by_side(client, short_clip):
    from gradio_client import handle_file

    video, table = client.predict(handle_file(str(app.EXAMPLE_PHOTO)), handle_file(str(short_clip)), "", "audionet",
                                  1.0, 0, True, True, "off", "auto", 256, "crop", ["mouth completion"],
                                  api_name="/ablation")
    info = probe_video(video)
    assert table["headers"] == app.TABLE_HEADERS
    assert [row[0] for row in table["data"]] == ["dark mouth", "mouth completion"]
    assert all(row[1] > 0 and 0 <= row[2] <= 1 and row[3] >= 0 for row in table["data"])
    assert (info.width, info.height) == (len(table["data"]) * TILE, TILE)
    assert info.frames == 38 and info.audio_codec == "aac"


def test_bad_inputs_are_messages_and_the_app_keeps_serving(client, short_clip, tmp_path):
    from gradio_client.exceptions import AppError

    rng = np.random.default_rng(0)
    not_image = tmp_path / "notes.png"
    not_image.write_text("this is not a picture")
    no_face = tmp_path / "wall.png"
    Image.fromarray(np.full((256, 256, 3), 90, np.uint8)).save(no_face)
    silent = write_wav(tmp_path / "silent.wav", np.zeros(32000))
    tiny = write_wav(tmp_path / "tiny.wav", 0.3 * rng.standard_normal(1600))  # 0.1 s
    long = write_wav(tmp_path / "long.wav", 0.1 * rng.standard_normal(int(16000 * (MAX_AUDIO_SECONDS + 1))))
    cases = [
        (not_image, short_clip, "Cannot read notes.png as an image"),
        (no_face, short_clip, "No face found"),
        (app.EXAMPLE_PHOTO, silent, "audio is silent"),
        (app.EXAMPLE_PHOTO, tiny, r"only 0\.10 seconds long"),
        (app.EXAMPLE_PHOTO, long, "the limit is 12 seconds"),
    ]
    for photo, audio, message in cases:
        with pytest.raises(AppError, match=message):
            generate(client, photo, audio)
    texture, render, final, *_ = generate(client, app.EXAMPLE_PHOTO, short_clip)
    assert probe_video(final).frames == 38


def test_three_concurrent_requests_each_get_their_own_video(client, short_clip):
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []

    def one(smoothing: int) -> None:
        try:
            results[smoothing] = generate(client, app.EXAMPLE_PHOTO, short_clip, smoothing=smoothing)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    # Daemon threads and a join timeout: a deadlock fails the test instead of hanging it.
    threads = [threading.Thread(target=one, args=(smoothing,), daemon=True) for smoothing in (0, 3, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request did not finish within 120 s"
    assert not errors, errors
    finals = [results[s][2] for s in (0, 3, 6)]
    assert len(set(finals)) == 3
    for path in finals:
        info = probe_video(path)
        assert (info.frames, info.width, info.audio_codec) == (38, 256, "aac")
    # Different smoothing windows, different videos: no request got another's output.
    frames = [np.asarray(Image.open(results[s][0])) for s in (0, 3, 6)]
    assert all(np.array_equal(frames[0], other) for other in frames[1:])  # same photo, same texture
    assert len({Path(p).read_bytes() for p in finals}) == 3


def test_variants_name_each_config_once():
    labels = lambda config, compare: [label for label, _ in variants_for(config, compare)]  # noqa: E731
    plain = GenerationConfig(smoothing=0, mouth=True)
    assert labels(plain, ["mouth completion"]) == ["dark mouth", "mouth completion"]
    assert labels(plain, ["smoothing", "mouth completion"]) == [
        "no smoothing, mouth completion", "smoothing l=2", "dark mouth"]
    assert labels(GenerationConfig(smoothing=1), ["smoothing"]) == ["no smoothing", "smoothing l=2", "as chosen"]
    assert labels(GenerationConfig(smoothing=6), ["smoothing"]) == ["no smoothing", "smoothing l=6"]
    configs = [config for _, config in variants_for(plain, ["smoothing", "mouth completion", "restoration"])]
    assert len(configs) == len(set(configs)) == 5


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TALKING_HEAD_CONCURRENCY", "2")
    monkeypatch.setenv("TALKING_HEAD_MAX_UPLOAD", "10mb")
    monkeypatch.setenv("TALKING_HEAD_MAX_AUDIO_SECONDS", "30")
    monkeypatch.setenv("TALKING_HEAD_OUTPUT_TTL", "60")
    assert app.AppSettings.from_env() == app.AppSettings(2, "10mb", 30.0, 60.0)


def test_phonetic_driver_with_a_transcript_and_a_path_typed_as_text(client, short_clip):
    # The box is text: a path typed into it is aligned as words, never opened by the server.
    secret = Path("/etc/hostname")
    *_, notes = generate(client, app.EXAMPLE_PHOTO, short_clip, transcript=str(secret), driver="phonetic",
                         mouth_motion=1.3)
    assert "phonetic driver, mouth motion 1.3" in notes
    assert "recognised from the audio alone" in notes  # "etc hostname" does not match the speech
    if secret.is_file() and secret.read_text().strip():
        assert secret.read_text().strip() not in notes
