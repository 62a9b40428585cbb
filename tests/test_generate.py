"""`generate` end to end with the shipped AudioNet: a real MP4 read back."""

import wave

import numpy as np
import pytest
from PIL import Image

from talking_head.audio.decode import decode_audio
from talking_head.cli import main
from talking_head.config import GenerationConfig
from talking_head.errors import AudioError, OutputPathError
from talking_head.eval.evaluate import track_video
from talking_head.eval.metrics import best_lag_correlation, loudness_envelope, mouth_opening
from talking_head.pipeline import TalkingHeadPipeline
from talking_head.video import probe_video

RATE = 16000


def write_wav(path, samples):
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def vowel_bursts(seconds, onsets, length=0.35):
    """Harmonic 'vowel' bursts (formant-like partials) at known onsets, silence elsewhere."""
    t = np.arange(int(seconds * RATE)) / RATE
    voice = sum(np.sin(2 * np.pi * f * t) * a for f, a in ((130, 1.0), (260, 0.6), (730, 0.5), (1090, 0.3), (2440, 0.1)))
    gate = np.zeros_like(t)
    for onset in onsets:
        inside = (t >= onset) & (t < onset + length)
        gate[inside] = np.sin(np.pi * (t[inside] - onset) / length) ** 0.5
    return 0.25 * gate * voice / 2.5


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut):
    folder = tmp_path_factory.mktemp("gen")
    photo = folder / "photo.png"
    Image.fromarray(astronaut).save(photo)
    onsets = [0.4, 1.2, 2.0, 2.8]
    audio = write_wav(folder / "bursts.wav", vowel_bursts(3.5, onsets))
    return photo, audio, onsets


@pytest.fixture(scope="module")
def pipeline():
    # Vowel-like bursts with known onsets are not speech a recogniser can read: the
    # audio network times them (the phonetic driver is tested on a real recording
    # in test_driver_phonetic.py).
    pipe = TalkingHeadPipeline(GenerationConfig(size=256, texture_size=512, blink=False, driver="audionet"))
    yield pipe
    pipe.close()


def test_generate_writes_a_playable_synced_video(pipeline, inputs, tmp_path):
    photo, audio, onsets = inputs
    out = tmp_path / "out.mp4"
    result = pipeline.generate(str(photo), str(audio), str(out), intermediates=str(tmp_path / "stages"))
    info = probe_video(out)
    clip = decode_audio(audio)
    assert info.frames == result.frames == round(clip.duration * 25)
    assert info.fps == 25 and (info.width, info.height) == (256, 256)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(decode_audio(out).duration - info.duration) < 1 / 25
    for name in ("texture.png", "coefficients_raw.npy", "coefficients_final.npy", "coefficients.png"):
        assert (tmp_path / "stages" / name).is_file()
    raw = np.load(tmp_path / "stages" / "coefficients_raw.npy")
    assert raw.shape == (info.frames, len(pipeline.rig.names)) and np.isfinite(raw).all()
    # Lip sync measured on the pixels: the re-detected mouth opens with the bursts, at lag 0 +- 1 frame.
    track, _ = track_video(out)
    opening = mouth_opening(track.points)
    loudness = loudness_envelope(clip.samples, clip.sample_rate, info.frames, 25)
    r, lag = best_lag_correlation(opening, loudness, max_lag=4)
    assert r > 0.5 and abs(lag) <= 1
    silent = [i for i in range(info.frames) if all(abs(i / 25 - (o + 0.17)) > 0.4 for o in onsets)]
    speaking = [round((o + 0.17) * 25) for o in onsets]
    assert opening[speaking].mean() > opening[silent].mean() + 0.05


def test_errors_leave_nothing_behind(pipeline, inputs, tmp_path):
    photo, audio, _ = inputs
    short = write_wav(tmp_path / "short.wav", vowel_bursts(0.1, [0.0], 0.1))
    with pytest.raises(AudioError, match="at least 0.2 seconds"):
        pipeline.generate(str(photo), str(short), str(tmp_path / "a.mp4"))
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"keep me")
    with pytest.raises(OutputPathError):
        pipeline.generate(str(photo), str(audio), str(existing))
    assert existing.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.mp4", "short.wav"]


def test_silent_audio_keeps_the_mouth_closed(pipeline, inputs, tmp_path):
    photo, _, _ = inputs
    silence = write_wav(tmp_path / "silence.wav", np.zeros(RATE))
    result = pipeline.generate(str(photo), str(silence), str(tmp_path / "s.mp4"))
    assert any("silent" in note for note in result.notes)
    jaw = result.coefficients.names.index("jawOpen")
    assert result.coefficients.final[:, jaw].max() < 0.05


def test_cli_generate(inputs, tmp_path, capsys):
    photo, audio, _ = inputs
    out = tmp_path / "cli.mp4"
    code = main(["generate", "--photo", str(photo), "--audio", str(audio), "--out", str(out), "--size", "128",
                 "--texture-size", "256", "--smoothing", "3", "--no-mouth", "--no-blink"])
    assert code == 0 and probe_video(out).frames == 88
    assert "s per second of video" in capsys.readouterr().out
