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

pytestmark = pytest.mark.slow  # a real server (and browser) per module
from talking_head.ablation import TILE, variants_for
from talking_head.audio.decode import decode_audio
from talking_head.config import GenerationConfig
from talking_head.video import probe_video

MAX_AUDIO_SECONDS = 12.0  # above the 8.7 s example, low enough for a cheap "too long" clip


@pytest.fixture(scope="module")
def served(gradio_cache):
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
                          smoothing, True, True, "off", "auto", size, "crop", 1.0, 0, api_name="/generate",
                          **kwargs)


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
    assert render == final  # restoration off: the "before restoration" panel shows the final video itself

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


def test_only_gradio_cache_is_served(served, client, short_clip, gradio_cache):
    """Outputs are served from Gradio's cache; the request folders and the repo are not."""
    talking, url = served
    downloaded = Path(generate(client, app.EXAMPLE_PHOTO, short_clip)[2])
    # The server's copy of the output in its cache (the client downloaded its own copy).
    final = max(gradio_cache.rglob(downloaded.name), key=lambda path: path.stat().st_mtime)
    assert final.read_bytes() == downloaded.read_bytes()

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
                                  1.0, 0, True, True, "off", "auto", 256, "crop", ["mouth completion"], 1.0, 0,
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
        (app.EXAMPLE_PHOTO, tiny, r"only 0\.10 seconds long"),
        (app.EXAMPLE_PHOTO, long, "the limit is 12 seconds"),
    ]
    for photo, audio, message in cases:
        with pytest.raises(AppError, match=message):
            generate(client, photo, audio)
    texture, render, final, *_ = generate(client, app.EXAMPLE_PHOTO, short_clip)
    assert probe_video(final).frames == 38


def test_silent_audio_gives_a_closed_mouth_video_with_a_note(client, tmp_path):
    """One policy with the CLI (the pipeline's): silence is not an error, the note says why the mouth is still."""
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000))
    _, _, final, _, _, _, notes = generate(client, app.EXAMPLE_PHOTO, silent)
    assert probe_video(final).frames == 25 and "the audio is silent" in notes


def test_restoration_shows_the_render_before_it(client, short_clip):
    """With restoration on, the "before" panel is another video of the same frames, and the face differs."""
    from gradio_client import handle_file

    texture, render, final, *_ = client.predict(handle_file(str(app.EXAMPLE_PHOTO)), handle_file(str(short_clip)),
                                                "", "audionet", 1.0, 2, True, True, "reference", "realesrgan",
                                                256, "crop",
                                                api_name="/generate")
    assert render != final
    before, after = probe_video(render), probe_video(final)
    assert before.frames == after.frames == 38 and (before.width, after.width) == (256, 256)
    from talking_head.video import read_frames

    first_before, first_after = next(read_frames(render)), next(read_frames(final))
    face = (slice(64, 192), slice(64, 192))
    assert np.abs(first_before[face].astype(int) - first_after[face].astype(int)).mean() > 1.0


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
    assert labels(GenerationConfig(), ["head motion"]) == ["head still", "head motion 1"]
    assert labels(GenerationConfig(head_motion=0.5), ["head motion"]) == ["head still", "head motion 1", "as chosen"]


@pytest.mark.parametrize("name,value,message", [
    ("TALKING_HEAD_CONCURRENCY", "abc", "must be a whole number from 1 to 64"),
    ("TALKING_HEAD_CONCURRENCY", "0", "must be a whole number from 1 to 64"),
    ("TALKING_HEAD_MAX_AUDIO_SECONDS", "nan", "must be a positive number"),
    ("TALKING_HEAD_OUTPUT_TTL", "-5", "must be a positive number"),
])
def test_bad_settings_from_the_environment_are_one_clear_line(monkeypatch, capsys, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(app.SettingsError, match=message):
        app.AppSettings.from_env()
    assert app.main() == 2  # the server does not start
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {name} ") and message in lines[0], lines


def test_non_numeric_smoothing_is_a_clear_message(served):
    talking, _ = served
    with pytest.raises(app.gr.Error, match="Smoothing must be a whole number within 0..10; got 'abc'"):
        talking.config("audionet", 1.0, "abc", True, True, "off", "auto", 256, "crop")
    with pytest.raises(app.gr.Error, match="Smoothing must be within 0..10"):
        talking.config("audionet", 1.0, 11, True, True, "off", "auto", 256, "crop")
    with pytest.raises(app.gr.Error, match="Mouth motion must be a number"):
        talking.config("audionet", "lots", 2, True, True, "off", "auto", 256, "crop")


def test_weights_errors_show_web_users_no_server_path(tmp_path):
    from talking_head.errors import WeightsError

    error = app.shown(WeightsError(f"gfpgan weights are not in {tmp_path}; run `...` and place it at {tmp_path}/x.pth"))
    assert str(tmp_path) not in error.message and "Real-ESRGAN" in error.message


def test_stale_request_roots_are_removed_at_start(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{app.ROOT_PREFIX}old"
    (stale / "request").mkdir(parents=True)
    (stale / app.OWNER).write_text(str(dead.pid))
    alive = tmp_path / f"{app.ROOT_PREFIX}alive"
    alive.mkdir()
    (alive / app.OWNER).write_text(str(os.getpid()))
    foreign = tmp_path / f"{app.ROOT_PREFIX}unknown"
    foreign.mkdir()
    assert app.remove_stale_roots(str(tmp_path)) == [stale]
    assert not stale.exists() and alive.exists() and foreign.exists()


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


def call_raw(url: str, data: list, api: str = "generate", timeout: float = 120) -> tuple[str, str]:
    """POST to Gradio's raw HTTP API and read the event stream: (last event name, its data)."""
    import httpx

    base = url.rstrip("/")
    event_id = httpx.post(f"{base}/gradio_api/call/{api}", json={"data": data}, timeout=30).json()["event_id"]
    event = payload = ""
    with httpx.stream("GET", f"{base}/gradio_api/call/{api}/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                payload = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    break
    return event, payload


def upload_raw(url: str, path: Path) -> str:
    """Upload one file as a browser would; its path in the server's upload cache."""
    import httpx

    with path.open("rb") as data:
        response = httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": (path.name, data)}, timeout=30)
    return response.json()[0]


def test_raw_api_reads_only_uploaded_files(served, short_clip, tmp_path):
    """A caller naming a server path (with or without Gradio's meta) gets one neutral refusal."""
    _, url = served
    secret_photo = tmp_path / "secret_photo.png"
    secret_photo.write_bytes(app.EXAMPLE_PHOTO.read_bytes())  # a valid face: the old server animated it
    secret_audio = tmp_path / "secret_audio.m4a"
    secret_audio.write_bytes(short_clip.read_bytes())
    photo, audio = upload_raw(url, app.EXAMPLE_PHOTO), upload_raw(url, short_clip)
    meta = {"_type": "gradio.FileData"}
    settings = ["", "audionet", 1.0, 2, True, True, "off", "auto", 256, "crop", 1.0, 0]
    messages: dict[tuple[str, str], set] = {}
    for target in (secret_photo, secret_audio, tmp_path / "missing.png", Path("/etc/passwd"), Path("/etc")):
        for variant, extra in (("no meta", {}), ("meta", {"meta": meta})):
            named = {"path": str(target), **extra}
            for slot, data in (("photo", [named, {"path": audio, "meta": meta}]),
                               ("audio", [{"path": photo, "meta": meta}, named])):
                event, payload = call_raw(url, [*data, *settings])
                assert event == "error", (target, extra, payload[:200])
                assert target.name not in payload and str(target.parent) not in payload
                messages.setdefault((variant, slot), set()).add(payload)
    # One answer per way of asking, whatever the path: it does not tell which files exist.
    assert all(len(answers) == 1 for answers in messages.values()), messages
    # (Gradio itself refuses what claims to be a file with meta, and an audio without it, with no message.)
    assert app.NOT_AN_UPLOAD in messages["no meta", "photo"].pop()
    # The same uploads, passed as uploads, are accepted.
    event, payload = call_raw(url, [{"path": photo, "meta": meta}, {"path": audio, "meta": meta}, *settings])
    assert event == "complete", payload[:300]


@pytest.fixture(scope="module")
def served_one(gradio_cache):
    """(TalkingHeadApp, local URL) with one generation at a time; pipeline.generate instrumented."""
    talking = app.TalkingHeadApp(app.AppSettings(concurrency=1, max_audio_seconds=MAX_AUDIO_SECONDS))
    calls = {"active": 0, "most": 0, "ended": []}
    lock = threading.Lock()
    generate_real = talking.pipeline.generate

    def counted(*args, **kwargs):  # the real pipeline; only counts who is inside it
        with lock:
            calls["active"] += 1
            calls["most"] = max(calls["most"], calls["active"])
        try:
            return generate_real(*args, **kwargs)
        finally:
            with lock:
                calls["active"] -= 1
                calls["ended"].append(time.monotonic())

    talking.pipeline.generate = counted
    demo = app.build_demo(talking)
    app.launch(demo, talking.settings, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
               quiet=True)
    yield talking, demo.local_url, calls
    demo.close()
    talking.close()


def ffmpeg_children() -> list[int]:
    """Process ids of ffmpeg processes whose parent is this test process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name, parent = fields[0].split("(", 1)[1], int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and "ffmpeg" in name:
            found.append(int(stat.parent.name))
    return found


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


def rendering(root: Path) -> list[Path]:
    """Request folders with a video being encoded."""
    return [folder for folder in root.iterdir() if folder.is_dir() and list(folder.glob(".partial-*.mp4"))]


def submit(url: str, photo: Path, audio: Path):
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    return client.submit(handle_file(str(photo)), handle_file(str(audio)), "", "audionet", 1.0, 2, True, True, "off",
                         "auto", 256, "crop", api_name="/generate")


def test_cancel_stops_the_render_and_removes_its_files(served_one):
    talking, url, calls = served_one
    job = submit(url, app.EXAMPLE_PHOTO, app.EXAMPLE_AUDIO)  # 8.7 s of speech: 218 frames to render
    assert wait_until(lambda: rendering(talking.root), 120), "the render did not start"
    folder = rendering(talking.root)[0]
    assert ffmpeg_children()
    ended = len(calls["ended"])
    cancelled = time.monotonic()
    job.cancel()
    assert wait_until(lambda: len(calls["ended"]) > ended, 10), "the render is still running"
    assert calls["ended"][-1] - cancelled < 1.5  # stopped within about a second
    assert wait_until(lambda: not folder.exists() and not ffmpeg_children(), 2)
    time.sleep(2)  # and nothing is written later
    assert not folder.exists() and not list(talking.root.glob("*/talking_head.mp4"))


def test_submit_and_cancel_flood_keeps_the_concurrency_limit(served_one, short_clip):
    talking, url, calls = served_one
    calls["most"] = 0
    jobs = [submit(url, app.EXAMPLE_PHOTO, app.EXAMPLE_AUDIO) for _ in range(4)]
    for job in jobs[:-1]:
        assert wait_until(lambda: rendering(talking.root) or job.done(), 120)
        job.cancel()
    assert wait_until(lambda: rendering(talking.root), 120)
    jobs[-1].cancel()
    assert wait_until(lambda: calls["active"] == 0 and not ffmpeg_children(), 30)
    assert calls["most"] == 1, f"{calls['most']} renders ran at once with the limit at one"
    assert wait_until(lambda: not list(talking.root.iterdir()) or
                      all(not list(f.glob("*.mp4")) for f in talking.root.iterdir() if f.is_dir()), 5)
    # The server still serves after the flood.
    final = submit(url, app.EXAMPLE_PHOTO, short_clip).result(timeout=180)[2]
    assert probe_video(final).frames == 38


def test_sigterm_stops_the_app_and_removes_its_folders(tmp_path, gradio_cache):
    """`docker stop` / systemd send SIGTERM: the server exits and leaves no request folders behind."""
    import signal
    import sys

    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), TMPDIR=str(tmp_path), GRADIO_TEMP_DIR=str(gradio_cache),
               GRADIO_ANALYTICS_ENABLED="False")
    server = subprocess.Popen([sys.executable, str(Path(app.__file__))], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: list(tmp_path.glob(f"{app.ROOT_PREFIX}*")) or server.poll() is not None, 120)
        root = list(tmp_path.glob(f"{app.ROOT_PREFIX}*"))[0]
        (root / "request").mkdir()  # as a generate would leave it
        up = lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200  # noqa: E731

        def serving() -> bool:
            try:
                return up()
            except OSError:
                return False

        assert wait_until(serving, 120), "the app did not start"
        time.sleep(2)  # past launch(), into Gradio's serving loop
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, output[-2000:]
    assert not root.exists()
