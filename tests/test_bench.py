import math
from pathlib import Path

from talking_head.config import GenerationConfig
from talking_head.eval.bench import ablations, markdown_table, peak_memory, summarise, write_tone_speech
from talking_head.audio.decode import decode_audio


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


def test_peak_memory_runs_a_real_generate(tmp_path):
    audio = write_tone_speech(tmp_path / "t.wav", 2.0)
    assert abs(decode_audio(audio).duration - 2.0) < 0.01
    photo = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.png"
    row = peak_memory(photo, 2.0, size=128)
    assert 100 < row["peak_rss_mb"] < 4000 and row["wall_seconds"] > 0
