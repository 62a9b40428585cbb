"""decode_audio on files the tests make with the ffmpeg binary from imageio-ffmpeg.

All encoders the formats need (pcm_s16le, libmp3lame, aac, libopus, libvorbis,
flac, mpeg4) ship in that binary; a missing one skips its case with the reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from talking_head.audio import AudioClip, decode_audio, is_silent
from talking_head.audio.decode import _decode_ffmpeg, _decode_pyav
from talking_head.errors import AudioError

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1.5:sample_rate=48000"]
# name -> (ffmpeg arguments after the inputs, encoder needed)
FORMATS = {
    "tone.wav": (TONE + ["-c:a", "pcm_s16le"], "pcm_s16le"),
    "tone.mp3": (TONE + ["-c:a", "libmp3lame", "-b:a", "64k"], "libmp3lame"),
    "tone.m4a": (TONE + ["-c:a", "aac", "-b:a", "64k"], "aac"),
    "tone.ogg": (TONE + ["-c:a", "libopus", "-b:a", "32k"], "libopus"),
    "vorbis.ogg": (TONE + ["-c:a", "libvorbis"], "libvorbis"),
    "tone.webm": (TONE + ["-c:a", "libopus", "-b:a", "32k"], "libopus"),
    "tone.flac": (TONE + ["-c:a", "flac"], "flac"),
    "tone.mp4": (
        ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1.5"]
        + TONE
        + ["-c:v", "mpeg4", "-c:a", "aac", "-b:a", "64k", "-shortest"],
        "aac",
    ),
}


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def encoders() -> str:
    return subprocess.run([FFMPEG, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory, encoders) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("audio")
    paths = {}
    for name, (args, encoder) in FORMATS.items():
        if f" {encoder} " in encoders:
            ffmpeg(*args, str(folder / name))
            paths[name] = folder / name
    return paths


def peak_hz(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.samples * np.hanning(clip.samples.size)))
    return float(np.argmax(spectrum) * clip.sample_rate / clip.samples.size)


@pytest.mark.parametrize("name", list(FORMATS))
def test_decodes_format(made, name):
    if name not in made:
        pytest.skip(f"this ffmpeg has no {FORMATS[name][1]} encoder")
    clip = decode_audio(made[name])
    assert clip.sample_rate == 16000
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert abs(clip.duration - 1.5) < 0.030, clip.duration
    assert abs(peak_hz(clip) - 440.0) < 2.0
    assert np.abs(clip.samples).max() <= 1.0
    assert clip.source == str(made[name])


def test_stereo_44k_is_mixed_down(tmp_path):
    path = tmp_path / "stereo.wav"
    # Left 440 Hz, right 1000 Hz: the mono mix must carry both, equally.
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=44100",
        "-f", "lavfi", "-i", "sine=frequency=1000:duration=1:sample_rate=44100",
        "-filter_complex", "[0:a][1:a]amerge=inputs=2", "-c:a", "pcm_s16le", str(path),
    )
    clip = decode_audio(path)
    assert clip.sample_rate == 16000 and clip.samples.ndim == 1
    assert abs(clip.duration - 1.0) < 0.030
    spectrum = np.abs(np.fft.rfft(clip.samples))
    hz = np.fft.rfftfreq(clip.samples.size, 1 / 16000)
    left, right = spectrum[np.abs(hz - 440) < 3].max(), spectrum[np.abs(hz - 1000) < 3].max()
    assert 0.9 < left / right < 1.1
    # Averaged, not summed at 1/sqrt(2): the lavfi sine has amplitude 1/8 per channel.
    single = 0.125 * clip.samples.size / 2
    assert 0.4 * single < left < 0.6 * single


def test_ffmpeg_fallback_matches_pyav(made):
    path = made["tone.wav"]
    via_av = _decode_pyav(path, 16000, 600.0)
    via_ffmpeg = _decode_ffmpeg(path, 16000, 600.0)
    assert abs(via_av.size - via_ffmpeg.size) <= 16
    n = min(via_av.size, via_ffmpeg.size)
    assert np.abs(via_av[:n] - via_ffmpeg[:n]).max() < 1e-3


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        decode_audio(tmp_path / "nope.wav")
    empty = tmp_path / "empty.mp3"
    empty.touch()
    with pytest.raises(AudioError, match="empty"):
        decode_audio(empty)


def test_text_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match="cannot decode notes.wav"):
        decode_audio(path)


def test_too_short(tmp_path):
    path = tmp_path / "blip.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.1", str(path))
    with pytest.raises(AudioError, match="only 0.10 seconds"):
        decode_audio(path)


def test_video_without_audio(tmp_path):
    path = tmp_path / "silent_film.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1", "-c:v", "mpeg4", "-an", str(path))
    with pytest.raises(AudioError, match="no audio"):
        decode_audio(path)
    with pytest.raises(AudioError, match="no audio stream"):  # the fallback says so too
        _decode_ffmpeg(path, 16000, 600.0)


def test_too_long(made):
    with pytest.raises(AudioError, match=r"audio is 1.5 seconds long; the limit is 1 second"):
        decode_audio(made["tone.wav"], max_seconds=1.0)
    # A 1.5 s file just over a 1.2 s limit: caught by the decoded length, too.
    with pytest.raises(AudioError, match="the limit is 1.2 seconds"):
        decode_audio(made["tone.wav"], max_seconds=1.2)
    assert decode_audio(made["tone.wav"], max_seconds=1.5).duration == pytest.approx(1.5, abs=0.03)


def test_too_long_without_header_duration(tmp_path):
    # WebM written to a pipe (as browsers record it) has no duration in its
    # header; the decoder must stop by counting samples.
    path = tmp_path / "streamed.webm"
    result = subprocess.run(
        [FFMPEG, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-c:a", "libopus", "-f", "webm", "pipe:1"],
        check=True, capture_output=True,
    )
    path.write_bytes(result.stdout)
    with pytest.raises(AudioError, match=r"audio is more than 1\.[5-9] seconds long; the limit is 1 second"):
        decode_audio(path, max_seconds=1.0)
    assert decode_audio(path).duration == pytest.approx(3.0, abs=0.03)


def test_is_silent():
    quiet = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 10 ** (-70 / 20)
    assert is_silent(AudioClip(np.zeros(16000, np.float32), 16000))
    assert is_silent(AudioClip(quiet, 16000))
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    assert not is_silent(AudioClip(tone, 16000))
    assert is_silent(AudioClip(tone, 16000), threshold_db=-10)


@pytest.mark.parametrize("suffix,codec", [("m4a", "aac"), ("mp3", "libmp3lame"), ("webm", "libopus")])
def test_onset_is_not_shifted(tmp_path, encoders, suffix, codec):
    # Encoder priming/padding must be dropped, or lips would lag the sound.
    if f" {codec} " not in encoders:
        pytest.skip(f"this ffmpeg has no {codec} encoder")
    path = tmp_path / f"onset.{suffix}"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.5:sample_rate=48000",
           "-af", "adelay=500", "-c:a", codec, str(path))
    clip = decode_audio(path)
    onset = np.argmax(np.abs(clip.samples) > 0.05) / clip.sample_rate
    assert abs(onset - 0.5) < 0.005, onset
