"""Bad input through the CLI: a clear one-line message, exit status 2, no partial
output, inputs untouched. (The app maps the same errors to messages.)"""

import hashlib
import io
import wave

import cv2
import numpy as np
import pytest
from PIL import Image

from talking_head.cli import main

RATE = 16000


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wav_bytes(samples):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return buffer.getvalue()


def speech(seconds=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)


@pytest.fixture(scope="module")
def good(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("good dir ü")
    photo = folder / "photo ü.png"
    Image.fromarray(astronaut).save(photo)
    audio = folder / "speech é.wav"
    audio.write_bytes(wav_bytes(speech()))
    return photo, audio


def run_generate(photo, audio, out, capsys, *extra):
    inputs = [p for p in (photo, audio) if p.exists()]
    before = {p: digest(p) for p in inputs}
    code = main(["generate", "--photo", str(photo), "--audio", str(audio), "--out", str(out),
                 "--size", "128", "--texture-size", "256", *extra])
    err = capsys.readouterr().err
    assert {p: digest(p) for p in inputs} == before, "an input file was changed"
    return code, [line for line in err.splitlines() if line.startswith("error:")]


def assert_refused(code, errors, out, pattern):
    assert code == 2
    assert len(errors) == 1 and pattern.lower() in errors[0].lower(), errors
    assert not out.exists()
    assert not list(out.parent.glob(".partial-*"))


def make_bad_photo(kind, folder, astronaut):
    path = folder / f"{kind}.png"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("I am not an image\n")
    elif kind == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(astronaut).save(buffer, "PNG")
        path.write_bytes(buffer.getvalue()[:3000])
    elif kind == "1x1":
        Image.new("RGB", (1, 1), (200, 150, 120)).save(path)
    elif kind == "cartoon":
        canvas = np.full((400, 400, 3), 250, np.uint8)
        cv2.circle(canvas, (200, 200), 120, (255, 220, 90), -1)  # a smiley
        cv2.circle(canvas, (160, 170), 15, (0, 0, 0), -1)
        cv2.circle(canvas, (240, 170), 15, (0, 0, 0), -1)
        cv2.ellipse(canvas, (200, 230), (60, 35), 0, 0, 180, (0, 0, 0), 6)
        Image.fromarray(canvas).save(path)
    elif kind == "profile":
        # The photo turned away: only the left half of the face and the hair remain.
        profile = astronaut.copy()
        profile[:, 200:] = 235
        Image.fromarray(profile).save(path)
    return path


@pytest.mark.parametrize(
    "kind,pattern",
    [("zero-byte", "empty"), ("text", "cannot read"), ("truncated", "cannot read"), ("1x1", "no face"),
     ("cartoon", "no face"), ("profile", "no face")],
)
def test_bad_photos(kind, pattern, good, tmp_path, astronaut, capsys):
    photo = make_bad_photo(kind, tmp_path, astronaut)
    out = tmp_path / "out.mp4"
    code, errors = run_generate(photo, good[1], out, capsys)
    assert_refused(code, errors, out, pattern)


def test_huge_photo(good, tmp_path, capsys):
    photo = tmp_path / "huge.png"
    Image.new("RGB", (10000, 10000), (90, 120, 150)).save(photo)
    out = tmp_path / "out.mp4"
    code, errors = run_generate(photo, good[1], out, capsys)
    assert_refused(code, errors, out, "no face")


@pytest.mark.parametrize(
    "kind,pattern",
    [("zero-byte", "empty"), ("text", "decode"), ("truncated", ""), ("0.1 s", "0.2 seconds")],
)
def test_bad_audio(kind, pattern, good, tmp_path, capsys):
    audio = tmp_path / f"{kind}.wav"
    if kind == "zero-byte":
        audio.write_bytes(b"")
    elif kind == "text":
        audio.write_text("not audio at all\n" * 50)
    elif kind == "truncated":
        audio.write_bytes(wav_bytes(speech(2.0))[:30])
    else:
        audio.write_bytes(wav_bytes(speech(0.1)))
    out = tmp_path / "out.mp4"
    code, errors = run_generate(good[0], audio, out, capsys)
    assert_refused(code, errors, out, pattern)


def test_silence_is_not_an_error(good, tmp_path, capsys):
    audio = tmp_path / "silence.wav"
    audio.write_bytes(wav_bytes(np.zeros(RATE)))
    out = tmp_path / "out.mp4"
    code, errors = run_generate(good[0], audio, out, capsys)
    assert code == 0 and not errors and out.is_file()


def test_output_paths(good, tmp_path, capsys):
    missing = tmp_path / "no such folder" / "out.mp4"
    code, errors = run_generate(good[0], good[1], missing, capsys)
    assert_refused(code, errors, missing, "does not exist")
    existing = tmp_path / "exists ü.mp4"
    existing.write_bytes(b"precious")
    code, errors = run_generate(good[0], good[1], existing, capsys)
    assert code == 2 and "already exists" in errors[0] and existing.read_bytes() == b"precious"
    code, errors = run_generate(good[0], good[1], existing, capsys, "--overwrite")
    assert code == 0 and existing.read_bytes() != b"precious"


def test_long_audio_is_refused_clearly(good, tmp_path, capsys):
    audio = tmp_path / "long.wav"
    audio.write_bytes(wav_bytes(speech(3.0)))
    out = tmp_path / "out.mp4"
    code, errors = run_generate(good[0], audio, out, capsys, "--max-audio-seconds", "2")
    assert_refused(code, errors, out, "limit")
