import math
from pathlib import Path

import numpy as np
import pytest

from talking_head.audio.decode import decode_audio
from talking_head.config import GenerationConfig
from talking_head.eval.bench import ablations, markdown_table, peak_memory, summarise, write_tone_speech


def test_ablations_remove_one_thing_each():
    base = GenerationConfig(smoothing=3)
    variants = dict(ablations(base))
    assert variants["full"] == base
    assert variants["no smoothing"].smoothing == 0
    assert variants["no mouth completion"].mouth is False
    assert variants["paper-mode texture"].texture_mode == "paper"
    assert variants["loudness driver"].driver == "loudness"


def test_summary_and_table():
    rows = [{"video": "a", "variant": "full", "lip_sync_r": 0.5, "jitter_mouth": 0.01},
            {"video": "b", "variant": "full", "lip_sync_r": 0.3, "jitter_mouth": None}]
    summary = summarise(rows)
    assert math.isclose(summary["full"]["lip_sync_r"], 0.4)
    assert math.isclose(summary["full"]["jitter_mouth"], 0.01)
    table = markdown_table(rows, ("lip_sync_r",), ("video", "variant"))
    assert table.splitlines()[0] == "| video | variant | lip_sync_r |"
    assert "| a | full | 0.5000 |" in table


@pytest.mark.slow
def test_peak_memory_is_the_childs_and_flat_in_audio_length(tmp_path):
    """Two real generates (2 s and 12 s of audio): the same peak within 50 MB (frames stream, nothing
    grows with the length), and it is the child's own peak, not this (inflated) parent's."""
    audio = write_tone_speech(tmp_path / "t.wav", 2.0)
    assert abs(decode_audio(audio).duration - 2.0) < 0.01
    photo = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.png"
    ballast = np.ones(1_500_000_000 // 8)  # 1.5 GB touched in the parent: a probe that saw it would say so
    short, long = peak_memory(photo, 2.0, size=128), peak_memory(photo, 12.0, size=128)
    del ballast
    assert abs(long["peak_rss_mb"] - short["peak_rss_mb"]) < 50, (short, long)
    # torch + MediaPipe + OpenCV alone are a few hundred MB; 1.5 GB more would be the parent's.
    assert 250 < short["peak_rss_mb"] < 1500 and short["wall_seconds"] > 0
