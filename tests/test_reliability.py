"""Bad input through the CLI: a clear one-line message, exit status 2, no partial
output, inputs untouched. (The app maps the same errors to messages.)"""

import hashlib
import os
import stat
from pathlib import Path
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
    [("zero-byte", "empty"), ("text", "decode"), ("truncated", "cannot decode"), ("0.1 s", "0.2 seconds")],
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


def fifo(path):
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("overwrite", [False, True])
def test_outputs_that_are_not_regular_files_or_are_inputs_are_refused(good, tmp_path, capsys, overwrite):
    """--out naming a FIFO (as a device node would), a folder, the photo or the audio: refused, untouched."""
    extra = ["--overwrite"] if overwrite else []
    pipe = fifo(tmp_path / "pipe.mp4")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    for out in (pipe, folder):
        kind = os.stat(out).st_mode
        code, errors = run_generate(good[0], good[1], out, capsys, *extra)
        assert code == 2 and len(errors) == 1 and "not a regular file" in errors[0], errors
        assert os.stat(out).st_mode == kind  # still a FIFO, still a folder
    # The inputs themselves, also under another name (a hard link): run_generate checks their bytes.
    alias = tmp_path / "alias.wav"
    os.link(good[1], alias)
    for out in (good[0], good[1], alias):
        code, errors = run_generate(good[0], good[1], out, capsys, *extra)
        assert code == 2 and len(errors) == 1 and "is one of the inputs" in errors[0], errors
    assert not list(tmp_path.glob(".partial-*")) and not list(good[0].parent.glob(".partial-*"))


def test_api_refuses_an_input_as_output(good, pipeline):
    from talking_head.errors import OutputPathError

    before = digest(good[0])
    with pytest.raises(OutputPathError, match="is one of the inputs"):
        pipeline.generate(str(good[0]), str(good[1]), str(good[0]), overwrite=True)
    assert digest(good[0]) == before


def unwritable_folder(tmp_path):
    """A folder this process cannot create files in (root ignores modes: use procfs then)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder
    (folder / "probe").unlink()
    return Path("/proc/self")


@pytest.mark.parametrize("case", ["read-only folder", "out is a folder", "intermediates is a file",
                                  "max audio nan", "cuda without a GPU"])
def test_bad_options_fail_in_a_second_with_one_line(good, tmp_path, capsys, case):
    """Every output path and option is checked before the heavy work: one `error:` line, fast."""
    import time

    import torch

    import talking_head.pipeline  # noqa: F401 - imported before the clock starts: time the checks, not imports

    out, extra, pattern = tmp_path / "out.mp4", [], ""
    if case == "read-only folder":
        out, pattern = unwritable_folder(tmp_path) / "out.mp4", "cannot write to the output folder"
    elif case == "out is a folder":
        out.mkdir()
        extra, pattern = ["--overwrite"], "not a regular file"
    elif case == "intermediates is a file":
        (tmp_path / "stages").write_text("keep me")
        extra, pattern = ["--intermediates", str(tmp_path / "stages")], "must be a folder"
    elif case == "max audio nan":
        extra, pattern = ["--max-audio-seconds", "nan"], "max_audio_seconds must be a number within"
    else:
        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU")
        extra, pattern = ["--device", "cuda"], "no cuda gpu"
    start = time.perf_counter()
    code, errors = run_generate(good[0], good[1], out, capsys, *extra)
    elapsed = time.perf_counter() - start
    assert code == 2 and len(errors) == 1 and pattern in errors[0].lower(), errors
    assert elapsed < 1.0, f"{case}: refused only after {elapsed:.1f} s"
    if case == "intermediates is a file":
        assert (tmp_path / "stages").read_text() == "keep me"
    if case != "out is a folder":
        assert not out.exists()


def test_outputs_follow_the_umask(good, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out.mp4"
        code, _ = run_generate(good[0], good[1], out, capsys)
    finally:
        os.umask(old)
    assert code == 0 and stat.S_IMODE(out.stat().st_mode) == 0o644


def test_nan_samples_are_refused_up_front(good, tmp_path, capsys):
    """A float WAV with NaN/Inf: refused when decoded (before the render), one line, same in the app (same path)."""
    import time

    from scipy.io import wavfile

    samples = speech(1.0).astype(np.float32)
    samples[100:110] = np.nan
    samples[200] = np.inf
    audio = tmp_path / "float.wav"
    wavfile.write(audio, RATE, samples)
    out = tmp_path / "out.mp4"
    start = time.perf_counter()
    code, errors = run_generate(good[0], audio, out, capsys)
    assert_refused(code, errors, out, "11 invalid samples (NaN or infinity)")
    assert time.perf_counter() - start < 2.0


def ffmpeg_writing_into(folder: Path) -> list[str]:
    """Command lines of running ffmpeg processes that write into ``folder``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ffmpeg" in text and str(folder) in text:
            found.append(text)
    return found


@pytest.mark.slow
def test_sigterm_removes_the_partial_video_and_its_ffmpeg(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "talking_head", "generate", "--photo", str(root / "assets/examples/astronaut.png"),
               "--audio", str(root / "assets/examples/hello.m4a"), "--out", str(out), "--size", "256"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while not list(tmp_path.glob(".partial-*.mp4")) and process.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        while not ffmpeg_writing_into(tmp_path) and process.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3)  # a few frames into the video
        assert process.poll() is None, "the render finished before it could be stopped"
        assert ffmpeg_writing_into(tmp_path)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143 and "terminated" in err and "Traceback" not in err, err
    time.sleep(0.5)
    assert not list(tmp_path.glob(".partial-*")) and not out.exists()
    assert not ffmpeg_writing_into(tmp_path)
