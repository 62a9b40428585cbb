"""Training data: shard format, the synthetic-speech helpers and the video source."""

from __future__ import annotations

import numpy as np
import pytest

from talking_head.audio.features import frame_count
from talking_head.audio.visemes import Segment, audio_driven_names
from talking_head.face.rig import load_rig
from talking_head.train import synth
from talking_head.train.dataset import (
    Example,
    ShardWriter,
    load_split,
    sequence_starts,
    tiled_starts,
    write_shard,
)

NAMES = audio_driven_names(load_rig().names)


def example(n: int, voice: str, seed: int) -> Example:
    rng = np.random.default_rng(seed)
    return Example(
        windows=rng.normal(0, 30, (n, 16, 80)).astype(np.float32),
        targets=rng.uniform(0, 1, (n, len(NAMES))).astype(np.float32),
        silent=rng.uniform(size=n) < 0.3,
        voice=voice,
    )


def test_shard_round_trip(tmp_path):
    a, b, c = example(7, "espeak:en-us+m1", 0), example(5, "festival:kal_diphone", 1), example(9, "espeak:en-us+m1", 2)
    with ShardWriter(tmp_path, "train", NAMES, 25.0, shard_frames=10) as writer:
        writer.add(a)
        writer.add(b)  # 12 frames >= 10: first shard written
        writer.add(c)
    assert [p.name for p in writer.written] == ["train-w0-00000.npz", "train-w0-00001.npz"]
    data = load_split(tmp_path, "train")
    assert len(data) == 21 and data.names == NAMES and data.fps == 25.0
    assert data.windows.dtype == np.float16 and data.targets.dtype == np.float32
    np.testing.assert_allclose(data.windows[:7], a.windows, rtol=1e-3, atol=0.05)  # float16
    np.testing.assert_array_equal(data.targets[12:], c.targets)
    np.testing.assert_array_equal(data.silent[7:12], b.silent)
    # voices merged by id across shards; utterances unique across shards
    assert sorted(data.voices) == ["espeak:en-us+m1", "festival:kal_diphone"]
    assert data.voices[data.voice[0]] == data.voices[data.voice[-1]] == "espeak:en-us+m1"
    assert data.voices[data.voice[8]] == "festival:kal_diphone"
    assert list(np.unique(data.utterance)) == [0, 1, 2]
    assert data.hours == pytest.approx(21 / 25 / 3600)


def test_no_pickles_and_split_errors(tmp_path):
    write_shard(tmp_path / "val-x-00000.npz", [example(4, "v", 0)], NAMES, 25.0)
    with np.load(tmp_path / "val-x-00000.npz", allow_pickle=False) as shard:
        assert shard["windows"].shape == (4, 16, 80)
    with pytest.raises(FileNotFoundError, match="train"):
        load_split(tmp_path, "train")
    write_shard(tmp_path / "val-y-00000.npz", [example(4, "v", 0)], NAMES[:-1] + ("other",), 25.0)
    with pytest.raises(ValueError, match="names/fps differ"):
        load_split(tmp_path, "val")
    with pytest.raises(ValueError, match="split"):
        ShardWriter(tmp_path, "test", NAMES, 25.0)
    with pytest.raises(ValueError, match="disagree"):
        ShardWriter(tmp_path, "train", NAMES[:3], 25.0).add(example(3, "v", 0))


def test_sequence_starts_stay_inside_utterances():
    utterance = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(sequence_starts(utterance, 3), [0, 1, 2, 7, 8])
    np.testing.assert_array_equal(tiled_starts(utterance, 2), [0, 2, 5, 7, 9])
    assert sequence_starts(utterance[:2], 3).size == 0


def test_events_to_segments_drop_language_switches():
    events = [(100, "h"), (300, "ə"), (500, "(en)"), (520, "l"), (800, ""), (900, "oʊ")]
    segs = synth.events_to_segments(events, 1000, 1000)
    assert segs[0] == Segment("", 0.0, 0.1)
    assert [s.phoneme for s in segs] == ["", "h", "ə", "l", "", "oʊ"]
    assert segs[2].end == pytest.approx(0.52)  # ə lasts through the marker
    assert segs[-1].end == pytest.approx(1.0)


def test_parse_festival_segs():
    text = "#\n0.1650 100 pau\n0.2550 100 hh\n0.2850 100 ax\n0.4000 100 ow\n"
    segs = synth.parse_festival_segs(text, 0.5)
    assert [s.phoneme for s in segs] == ["", "h", "ə", "oʊ", ""]
    assert segs[1].start == pytest.approx(0.165) and segs[-1].end == pytest.approx(0.5)


def test_text_is_seeded_and_varied():
    a = [synth.make_text(np.random.default_rng([0, i])) for i in range(20)]
    b = [synth.make_text(np.random.default_rng([0, i])) for i in range(20)]
    assert a == b and len(set(a)) == 20
    assert all(t[0].isupper() and t[-1] in ".?!" for t in a)


def test_voice_split_holds_out_whole_voices():
    train = {(b, v) for b in synth.ESPEAK_BASES for v in synth.ESPEAK_VARIANTS if synth.voice_split(b, v) == "train"}
    val = {(b, v) for b in synth.ESPEAK_BASES for v in synth.ESPEAK_VARIANTS if synth.voice_split(b, v) == "val"}
    assert train and val and not train & val
    assert not {b for b, _ in val} & {b for b, _ in train}
    assert not {v for _, v in val} & {v for _, v in train}


def tone_utterance(sample_rate: int = 22050) -> synth.Utterance:
    """0.5 s pause, 0.6 s of a vowel-like harmonic tone, 0.5 s pause."""
    t = np.arange(int(0.6 * sample_rate)) / sample_rate
    vowel = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 20)).astype(np.float32) * 0.2
    pause = np.zeros(int(0.5 * sample_rate), np.float32)
    segs = (Segment("", 0.0, 0.5), Segment("ɑ", 0.5, 1.1), Segment("", 1.1, 1.6))
    return synth.Utterance(np.concatenate([pause, vowel, pause]), sample_rate, segs, "test:tone", "ah")


def test_utterance_example_without_augmentation():
    utt = tone_utterance()
    ex = synth.utterance_example(utt, NAMES, 25.0, None)
    n = frame_count(1.6, 25.0)
    assert ex.windows.shape == (n, 16, 80) and ex.targets.shape == (n, len(NAMES))
    jaw = ex.targets[:, 0]
    # jawOpen of /a/ in the table fitted to real mouths is 0.32 (the lips open it further)
    assert jaw[: int(0.3 * 25)].max() < 0.05 and jaw[int(0.8 * 25)] > 0.25 and jaw[-5:].max() < 0.05
    assert ex.silent[:8].all() and not ex.silent[20]


def test_augmentation_keeps_timing_and_range():
    utt = tone_utterance()
    rng = np.random.default_rng(3)
    ex = synth.utterance_example(utt, NAMES, 25.0, rng)
    assert np.isfinite(ex.windows).all()
    audio, scale = synth.resample_speed(utt.samples, 22050, 16000, 1.1)
    assert audio.shape[0] == pytest.approx(utt.samples.shape[0] * 16000 / 22050 / 1.1, rel=1e-3)
    assert scale == pytest.approx(1 / 1.1, rel=1e-3)
    noisy = synth.augment_audio(audio, 16000, np.random.default_rng(0))
    assert noisy.shape == audio.shape and np.abs(noisy).max() <= 1.0
    # speech stays where it was: loudest 100 ms block inside the (sped-up) vowel
    blocks = np.sqrt((noisy[: len(noisy) // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1))
    assert 0.45 / 1.1 <= (np.argmax(blocks) * 0.1) <= 1.1 / 1.1


@pytest.mark.skipif(not synth.espeak_available(), reason="espeak-ng not installed (apt-get install espeak-ng libespeak-ng1)")
def test_espeak_reports_exact_phoneme_timing():
    engine = synth.EspeakSynth()
    utt = engine.say("Bob may move.", "en-us+m3", synth.Prosody(rate=160))
    assert utt.duration > 0.5 and utt.sample_rate == engine.sample_rate
    segs = utt.segments
    assert segs[-1].end == pytest.approx(utt.duration)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(segs, segs[1:]))
    phones = [s.phoneme for s in segs]
    assert phones.count("b") >= 2 and "m" in phones
    # the audio is quiet before the first phoneme and loud inside the first vowel
    first_vowel = next(s for s in segs if s.phoneme.startswith("ɑ"))
    i0, i1 = int(first_vowel.start * utt.sample_rate), int(first_vowel.end * utt.sample_rate)
    assert np.abs(utt.samples[i0:i1]).max() > 0.05
    with pytest.raises(ValueError, match="no voice"):
        engine.say("hi", "xx-nonexistent")


def test_video_source_on_a_made_video(tmp_path, astronaut):
    from scipy.io import wavfile

    from talking_head.train.videos import loudness_silence, mouth_opening, resample, video_example
    from talking_head.video import VideoWriter

    rate = 16000
    t = np.arange(int(1.2 * rate)) / rate
    audio = np.where((t > 0.4) & (t < 0.8), 0.3 * np.sin(2 * np.pi * 150 * t), 0.0).astype(np.float32)
    wavfile.write(tmp_path / "a.wav", rate, audio)
    face = np.ascontiguousarray(astronaut[:256, 96:352])
    with VideoWriter(tmp_path / "talk.mp4", face.shape[:2], 25.0, audio=tmp_path / "a.wav") as writer:
        for _ in range(30):
            writer.write(face)
    ex = video_example(tmp_path / "talk.mp4", NAMES, 25.0)
    n = ex.targets.shape[0]
    assert n in (29, 30, 31) and ex.windows.shape == (n, 16, 80)
    assert ex.voice == "video:talk" and np.isfinite(ex.targets).all()
    assert ex.targets.std(axis=0).max() < 0.1  # a still photo: the coefficients barely move
    assert ex.silent[:5].all() and not ex.silent[15]

    assert resample(np.array([0.0, 1.0]), np.array([0.0, 10.0]), 2, 2.0) == pytest.approx([2.5, 7.5])
    silent = loudness_silence(audio, rate, 30, 25.0)
    assert silent[:5].all() and not silent[15]
    from talking_head.eval.metrics import LEFT_EYE
    from talking_head.eval.metrics import mouth_opening as measured

    assert mouth_opening is measured  # training and evaluation share one definition
    pts = np.zeros((1, 478, 3))
    pts[0, list(LEFT_EYE), 0] = 10.0  # eye centres 10 apart
    pts[0, [14, 87, 178, 88, 317, 402, 318], 1] = 2.0  # lower inner lip 2 below the upper
    assert mouth_opening(pts)[0] == pytest.approx(0.2)
