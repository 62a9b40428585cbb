"""Native log lines (TFLite, absl) do not reach the user's terminal; our own output does."""

import subprocess
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
NOISE = ("TensorFlow Lite", "absl::InitializeLog", "W0000", "I0000", "inference_feedback_manager")


def test_cli_prints_no_native_log_noise(tmp_path, astronaut):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    done = subprocess.run([sys.executable, "-m", "talking_head", "texture", "--photo", str(photo), "--out",
                           str(tmp_path / "out"), "--texture-size", "256"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)], done.stderr
    assert "wrote texture.png" in done.stdout


def test_our_stderr_survives_the_silenced_block(capfd):
    import os

    from talking_head.quiet import native_stderr_silenced

    with native_stderr_silenced():
        os.write(2, b"native noise\n")
    print("our progress", file=sys.stderr)
    assert capfd.readouterr().err == "our progress\n"
