"""Real-speech training shards: transcript formats, alignment, voice hold-out."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from talking_head.audio.visemes import audio_driven_names
from talking_head.face.rig import load_rig
from talking_head.train.dataset import load_split
from talking_head.train.speech import build_shards, main, read_transcripts, split_voices

CLIP = Path(__file__).parent / "data" / "librivox_0930.flac"
TEXT = "He might even have been made amiable himself."


@pytest.fixture()
def corpus(tmp_path) -> Path:
    """Two voices: anna/ (text beside the audio) and ben/ (a .lab file), and a mismatched one."""
    root = tmp_path / "audio"
    for voice, name, suffix, text in (
        ("anna", "a1", ".txt", TEXT),
        ("ben", "b1", ".lab", TEXT.upper()),
        ("ben", "b2", ".txt", "Seven wizards quietly judge the boxing match at noon."),
    ):
        (root / voice).mkdir(parents=True, exist_ok=True)
        shutil.copy(CLIP, root / voice / f"{name}.flac")
        (root / voice / f"{name}{suffix}").write_text(text, encoding="utf-8")
    return root


def test_transcript_formats(corpus, tmp_path):
    items, problems = read_transcripts(corpus)
    assert [(i.audio.name, i.voice) for i in items] == [
        ("a1.flac", "speech:anna"), ("b1.flac", "speech:ben"), ("b2.flac", "speech:ben")]
    assert items[1].text == TEXT.upper() and not problems
    tsv = tmp_path / "t.tsv"
    tsv.write_text("a1.flac\tfirst text\nben/b2\tsecond text\nmissing.wav\tnothing\n", encoding="utf-8")
    items, problems = read_transcripts(corpus, tsv)
    assert [(i.audio.stem, i.text) for i in items] == [("a1", "first text"), ("b2", "second text")]
    assert problems["no audio file"] == 1
    lj = tmp_path / "metadata.csv"
    lj.write_text("a1|Mr. Smith, 2 dogs|mister smith two dogs\n", encoding="utf-8")
    assert read_transcripts(corpus, lj)[0][0].text == "mister smith two dogs"
    named = tmp_path / "core-sounds-en.txt"
    named.write_text("ben/b1: he might\n\nbeep: [this is a simple beep tone]\n", encoding="utf-8")
    items, problems = read_transcripts(corpus, named)
    assert [(i.audio.stem, i.text) for i in items] == [("b1", "he might")] and problems["no audio file"] == 1
    digits = read_transcripts(corpus, voice_regex=r"/(\w)\d", text_from_name=r"(\d)\.flac$")[0]
    assert [(i.audio.stem, i.text, i.voice) for i in digits] == [
        ("a1", "1", "speech:a"), ("b1", "1", "speech:b"), ("b2", "2", "speech:b")]
    regex = read_transcripts(corpus, voice_regex=r"^(\w)")[0]
    assert {i.voice for i in regex} == {"speech:a", "speech:b"}


def test_voice_split_holds_out_whole_voices():
    voices = [f"speech:v{i}" for i in range(10)]
    assert split_voices(voices, ["v3"]) == {"speech:v3"}
    held = split_voices(voices, (), 0.2, seed=1)
    assert len(held) == 2 and held == split_voices(voices, (), 0.2, seed=1)
    assert split_voices(["speech:only"], (), 0.5) == set()


def test_shards_are_written_and_readable(corpus, tmp_path):
    names = audio_driven_names(load_rig().names)
    items, _ = read_transcripts(corpus)
    summary = build_shards(items, tmp_path / "shards", names, fps=25.0, val={"speech:ben"}, augment=1)
    # b2's transcript does not match its audio: skipped and counted.
    assert summary.utterances["train"] == 1 and summary.utterances["val"] == 1
    assert sum(summary.skipped.values()) == 1
    train, val = load_split(tmp_path / "shards", "train"), load_split(tmp_path / "shards", "val")
    assert train.voices == ("speech:anna",) and val.voices == ("speech:ben",)
    n = val.targets.shape[0]
    from talking_head.audio.decode import decode_audio
    from talking_head.audio.features import frame_count

    assert n == frame_count(decode_audio(CLIP).duration, 25.0)
    assert len(train) == 2 * n  # clean + one augmented copy, same targets
    np.testing.assert_array_equal(train.targets[:n], train.targets[n:])
    assert not np.array_equal(train.windows[:n], train.windows[n:])
    assert train.windows.shape[1:] == (16, 80) and train.names == tuple(names)
    jaw = names.index("jawOpen")
    # Silent at the ends (the clip has ~0.3 s of silence around the words), open in the speech.
    assert val.silent[:3].all() and val.silent[-3:].all() and not val.silent[20:60].any()
    speech = val.targets[10:70, jaw].max()
    assert speech > 0.25 and val.targets[:3, jaw].max() < 0.2 * speech


def test_cli(corpus, tmp_path, capsys):
    code = main(["--audio-dir", str(corpus), "--out", str(tmp_path / "cli"), "--val-voices", "anna", "--limit", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "val: 1 utterances" in out and "train: 1 utterances" in out
    assert main(["--audio-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2


def test_raw_g722_prompts_are_decoded(tmp_path):
    """Asterisk's prompts are headerless G.722; the bundled ffmpeg encodes one to check."""
    import subprocess

    import imageio_ffmpeg

    from talking_head.audio.decode import decode_audio
    from talking_head.errors import InputError
    from talking_head.train.speech import load_audio

    g722 = tmp_path / "prompt.g722"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(CLIP), "-ar", "16000",
                    "-f", "g722", str(g722)], check=True)
    samples = load_audio(g722)
    reference = decode_audio(CLIP).samples
    assert abs(len(samples) - len(reference)) < 1600 and samples.dtype == np.float32
    (tmp_path / "bad.g722").write_bytes(b"")
    with pytest.raises(InputError):
        load_audio(tmp_path / "bad.g722")
