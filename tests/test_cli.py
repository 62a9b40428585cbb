import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from talking_head.cli import main
from talking_head.face.rig import load_rig
from talking_head.video import probe_video


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("in") / "astronaut photo é.png"
    Image.fromarray(astronaut).save(path)
    return path


def test_texture_command_writes_openable_files(tmp_path, photo):
    import trimesh

    out = tmp_path / "face"
    assert main(["texture", "--photo", str(photo), "--out", str(out), "--texture-size", "512"]) == 0
    names = {"texture.png", "face.obj", "face.mtl", "landmarks.json", "overlay.png"}
    assert names <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".partial")]
    texture = np.asarray(Image.open(out / "texture.png"))
    assert texture.shape == (512, 512, 4)
    mesh = trimesh.load(out / "face.obj", force="mesh", process=False)
    assert mesh.vertices.shape == (468, 3) and mesh.faces.shape == (898, 3)
    assert mesh.visual.uv.shape == (468, 2)
    record = json.loads((out / "landmarks.json").read_text())
    assert len(record["landmarks"]) == 478 and set(record["expression"]) == set(load_rig().names)
    # Existing outputs are not overwritten unless asked.
    before = (out / "texture.png").read_bytes()
    assert main(["texture", "--photo", str(photo), "--out", str(out)]) == 2
    assert (out / "texture.png").read_bytes() == before


def test_animate_command_renders_every_row(tmp_path, photo):
    rig = load_rig()
    coeffs = np.zeros((20, len(rig.names)))
    coeffs[:, rig.index("jawOpen")] = 0.5 - 0.5 * np.cos(np.linspace(0, 4 * np.pi, 20))
    path = tmp_path / "c.npy"
    np.save(path, coeffs)
    out = tmp_path / "v.mp4"
    assert main(["animate", "--photo", str(photo), "--coeffs", str(path), "--out", str(out), "--size", "256"]) == 0
    info = probe_video(out)
    assert (info.frames, info.width, info.height, info.fps) == (20, 256, 256, 25.0)
    assert info.audio_codec is None


def test_animate_rejects_bad_coefficients(tmp_path, photo, capsys):
    path = tmp_path / "bad.npy"
    bad = np.zeros((5, len(load_rig().names)))
    bad[2, 0] = np.nan
    np.save(path, bad)
    out = tmp_path / "v.mp4"
    assert main(["animate", "--photo", str(photo), "--coeffs", str(path), "--out", str(out)]) == 2
    assert "NaN" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".partial*"))
    np.save(path, np.zeros((5, 3)))
    assert main(["animate", "--photo", str(photo), "--coeffs", str(path), "--out", str(out)]) == 2


def test_no_face_exits_non_zero_with_one_line(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    result = subprocess.run(
        [sys.executable, "-m", "talking_head", "texture", "--photo", str(blank), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: No face found in the photo: use a clear, front-facing portrait with the whole face visible"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_output_in_missing_folder(tmp_path, photo):
    np.save(tmp_path / "c.npy", np.zeros((2, len(load_rig().names))))
    out = tmp_path / "missing" / "v.mp4"
    assert main(["animate", "--photo", str(photo), "--coeffs", str(tmp_path / "c.npy"), "--out", str(out)]) == 2


CLIP = __import__("pathlib").Path(__file__).parent / "data" / "librivox_0930.flac"


def test_generate_with_a_transcript_file_and_the_phonetic_driver(tmp_path, photo, capsys):
    script = tmp_path / "what is said.txt"
    script.write_text("He might even have been made amiable himself.\n", encoding="utf-8")
    out = tmp_path / "talk.mp4"
    assert main(["generate", "--photo", str(photo), "--audio", str(CLIP), "--out", str(out), "--size", "64",
                 "--texture-size", "128", "--driver", "phonetic", "--transcript", str(script),
                 "--mouth-motion", "1.2"]) == 0
    assert probe_video(out).frames == 82  # 3.29 s at 25 fps
    assert "recognised from the audio alone" not in capsys.readouterr().err  # the transcript aligned


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.txt", "Transcript file not found"),
    (lambda d: (d / "bin.txt").write_bytes(b"\x00\x01\x02abc") and d / "bin.txt", "not a text file"),
    (lambda d: "word " * 20_000, "characters"),
])
def test_bad_transcripts_fail_before_any_work_with_one_line(tmp_path, photo, capsys, make, message):
    value = make(tmp_path)
    out = tmp_path / "never.mp4"
    assert main(["generate", "--photo", str(photo), "--audio", str(CLIP), "--out", str(out),
                 "--transcript", str(value)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not out.exists()


def test_transcript_with_another_driver_is_noted(tmp_path, photo, capsys):
    out = tmp_path / "talk.mp4"
    assert main(["generate", "--photo", str(photo), "--audio", str(CLIP), "--out", str(out), "--size", "64",
                 "--texture-size", "128", "--driver", "loudness", "--transcript", "hello there"]) == 0
    assert "used by the phonetic driver only" in capsys.readouterr().err
