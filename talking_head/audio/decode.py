"""Decode any audio a person gives (WAV, MP3, M4A/AAC, OGG/Opus/Vorbis, WebM,
FLAC, the audio track of an MP4 or MOV) to mono float32 at one sample rate.

PyAV does the work; when it cannot open or decode a file, the ffmpeg binary
that ships with ``imageio-ffmpeg`` is tried before giving up. Channels are
mixed down by averaging them (PyAV) or by ffmpeg's normalised downmix matrix
(fallback), which is the same average for stereo. Timestamp gaps are ignored:
decoded samples are concatenated, so sample 0 is the first decoded sample.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioError

MIN_SECONDS = 0.2
FORMATS_HINT = "WAV, MP3, M4A, OGG, WebM, FLAC or MP4 expected"


@dataclass(frozen=True)
class AudioClip:
    """Decoded mono audio.

    Attributes:
        samples: (N,) float32 in [-1, 1].
        sample_rate: samples per second.
        source: where it came from (a path).
    """

    samples: np.ndarray
    sample_rate: int
    source: str = "<array>"

    @property
    def duration(self) -> float:
        """Length in seconds (N / sample_rate)."""
        return self.samples.shape[0] / float(self.sample_rate)


def format_seconds(seconds: float) -> str:
    """Human length: "12.3 minutes", "10 minutes", "0.1 seconds"."""
    if seconds >= 60.0:
        value, unit = seconds / 60.0, "minute"
    else:
        value, unit = seconds, "second"
    text = f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return f"{text} {unit}{'' if text == '1' else 's'}"


def _too_long(seconds: float, max_seconds: float, at_least: bool = False) -> AudioError:
    length = f"more than {format_seconds(seconds)}" if at_least else format_seconds(seconds)
    return AudioError(
        f"audio is {length} long; the limit is {format_seconds(max_seconds)} (trim it or raise the limit)"
    )


class _Undecodable(Exception):
    """PyAV could not read the file; the ffmpeg binary gets a try."""


def _decode_pyav(path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """Decode the first audio stream with PyAV; (N,) float32, not yet clipped.

    Raises AudioError for definite verdicts (no audio stream, too long) and
    _Undecodable when PyAV itself fails.
    """
    try:
        import av
    except ImportError as error:  # pragma: no cover - av is a requirement
        raise _Undecodable(str(error)) from None

    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise _Undecodable(str(error)) from None
    with container:
        if not container.streams.audio:
            kind = "video without an audio track" if container.streams.video else "no audio stream"
            raise AudioError(f"{path.name} has no audio: {kind}; give a file with sound")
        stream = container.streams.audio[0]
        # Refuse long files from the header before decoding all of them; a
        # small tolerance because header durations are estimates (MP3 VBR).
        header = None
        if stream.duration is not None and stream.time_base is not None:
            header = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            header = container.duration / 1_000_000.0
        if header is not None and header > max_seconds + 0.5:
            raise _too_long(header, max_seconds)

        limit = int(math.ceil((max_seconds + 0.5) * sample_rate))
        chunks: list[np.ndarray] = []
        total = 0
        resampler = None
        setup = None
        try:
            for frame in container.decode(stream):
                # Keep the input layout and average channels ourselves: a float
                # "mono" resample sums at 1/sqrt(2) per channel and can clip.
                key = (frame.format.name, frame.layout.name, frame.sample_rate)
                if key != setup:
                    if resampler is not None:
                        total += _drain(resampler.resample(None), chunks)
                    resampler = av.AudioResampler(format="fltp", rate=sample_rate)
                    setup = key
                total += _drain(resampler.resample(frame), chunks)
                if total > limit:
                    raise _too_long(total / sample_rate, max_seconds, at_least=True)
            if resampler is not None:
                total += _drain(resampler.resample(None), chunks)
        except av.error.FFmpegError as error:
            if not chunks:
                raise _Undecodable(str(error)) from None
            # A damaged tail: keep what decoded (players do the same).
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _drain(frames, chunks: list[np.ndarray]) -> int:
    """Append each resampled frame as channel-averaged (n,) float32; count samples."""
    count = 0
    for frame in frames:
        planes = frame.to_ndarray()  # (channels, n) for a planar format
        mono = planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes[0]
        chunks.append(np.ascontiguousarray(mono, dtype=np.float32))
        count += mono.shape[0]
    return count


def _decode_ffmpeg(path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """Decode with the bundled ffmpeg binary; (N,) float32, not yet clipped.

    Reads at most max_seconds + 1 s so an over-long file is detected without
    decoding all of it.
    """
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as error:  # noqa: BLE001 - any failure means "no binary"
        raise _Undecodable(f"no ffmpeg binary ({error.__class__.__name__})") from None
    command = [
        exe, "-nostdin", "-hide_banner", "-v", "error",
        "-i", str(path),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-t", f"{max_seconds + 1.0:.3f}",
        # rematrix_maxval=1 normalises the downmix (stereo -> the mean).
        "-af", f"aresample={sample_rate}:rematrix_maxval=1,aformat=sample_fmts=flt:channel_layouts=mono",
        "-f", "f32le", "pipe:1",
    ]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        if any("matches no streams" in line for line in message):
            raise AudioError(f"{path.name} has no audio stream; give a file with sound")
        raise _Undecodable(message[-1] if message else f"ffmpeg exit code {result.returncode}")
    usable = len(result.stdout) // 4 * 4
    return np.frombuffer(result.stdout[:usable], dtype="<f4").astype(np.float32)


def decode_audio(source: str | Path, sample_rate: int = 16000, max_seconds: float = 600.0) -> AudioClip:
    """Decode an audio file (or the audio track of a video) to mono float32.

    Args:
        source: path to WAV, MP3, M4A/AAC, OGG (Opus or Vorbis), WebM, FLAC,
            MP4/MOV (video is ignored) or anything else FFmpeg reads.
        sample_rate: output rate in Hz (resampled with FFmpeg's resampler).
        max_seconds: longest accepted audio; checked from the container's
            header before decoding when it has one, and while decoding.
    Returns:
        AudioClip with ``samples`` (N,) float32 clipped to [-1, 1].
    Raises:
        AudioError: missing or empty file, not decodable as audio, no audio
            stream, shorter than 0.2 s, longer than ``max_seconds``, or holding
            NaN or infinite samples (a float WAV can).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    path = Path(source)
    if not path.exists():
        raise AudioError(f"audio file not found: {path}")
    if not path.is_file():
        raise AudioError(f"audio path is not a file: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {path.name}")
    try:
        samples = _decode_pyav(path, sample_rate, max_seconds)
    except _Undecodable:
        try:
            samples = _decode_ffmpeg(path, sample_rate, max_seconds)
        except _Undecodable:
            raise AudioError(f"cannot decode {path.name} as audio ({FORMATS_HINT})") from None
    seconds = samples.shape[0] / sample_rate
    if samples.shape[0] == 0:
        raise AudioError(f"{path.name} contains no audio samples")
    if seconds > max_seconds:
        raise _too_long(seconds, max_seconds, at_least=seconds > max_seconds + 0.5)
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"audio is only {seconds:.2f} seconds long; at least {MIN_SECONDS} seconds are needed"
        )
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:  # float WAVs can hold them; the AAC encoder would refuse them only after the whole render
        raise AudioError(f"{path.name} holds {bad} invalid samples (NaN or infinity); re-export the audio")
    np.clip(samples, -1.0, 1.0, out=samples)
    return AudioClip(samples, int(sample_rate), str(path))


def rms_db(clip: AudioClip) -> float:
    """Root-mean-square level in dBFS (a full-scale sine is about -3 dB); -inf if silent."""
    if clip.samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(clip.samples, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0.0 else float("-inf")


def is_silent(clip: AudioClip, threshold_db: float = -50.0) -> bool:
    """True when the clip's RMS level is below ``threshold_db`` dBFS.

    Silence is not an error here; callers decide what to do with it.
    """
    return rms_db(clip) < threshold_db
