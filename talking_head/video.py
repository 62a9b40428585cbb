"""Writing and reading back videos: frames stream to ffmpeg, nothing is buffered."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import OutputPathError


def check_output_path(path: str | Path, overwrite: bool = False, inputs: tuple = ()) -> Path:
    """Validate where a result will go before any work is done.

    Only a regular file may be replaced (and only with ``overwrite``): a
    folder, a device node, a FIFO or a dangling link is refused, and so is any
    of the ``inputs`` (the photo, the audio), even when named another way.

    Args:
        path: the output file.
        overwrite: allow replacing an existing regular file.
        inputs: paths the job reads; other kinds of values are ignored.
    Raises:
        OutputPathError: the folder is missing or not writable, the path is
            not a regular file, is an input, or exists and ``overwrite`` is False.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputPathError(f"Output folder does not exist: {folder}")
    try:  # a real probe: access() says yes to root on a read-only folder
        create_hidden_file(folder, ".write-test-", "").unlink()
    except OSError as error:
        raise OutputPathError(f"Cannot write to the output folder {folder}: {error.strerror or error}") from None
    if os.path.lexists(path):
        for source in inputs:
            if isinstance(source, (str, Path)) and os.path.exists(source) and os.path.samefile(source, path):
                raise OutputPathError(f"{path} is one of the inputs; choose another output name")
        if path.is_symlink() or not path.is_file():
            raise OutputPathError(f"{path} exists and is not a regular file; choose another output name")
        if not overwrite:
            raise OutputPathError(f"{path} already exists; choose another name or pass --overwrite")
    return path


def create_hidden_file(folder: Path, prefix: str = ".partial-", suffix: str = ".mp4") -> Path:
    """A new, empty file with a random name in ``folder``, created with the umask's permissions.

    (``tempfile.mkstemp`` creates 0600 files, and ``os.replace`` would keep that mode.)
    """
    import secrets

    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise OutputPathError(f"Cannot create a temporary file in {folder}")


class VideoWriter:
    """H.264 (yuv420p) + optional AAC MP4, written through a temporary file.

    Frames are piped to the ffmpeg binary that ships in ``imageio-ffmpeg`` as
    they come, so memory does not grow with the video's length. The file
    appears at ``path`` only when ``close()`` succeeds; on error nothing is left.

    ffmpeg is started without a ``preexec_fn`` so that Python can spawn it with
    vfork: a real fork() from a multi-threaded process (the app renders several
    requests at once) can deadlock in OpenBLAS's fork handlers.

    Args:
        path: output .mp4.
        size: (height, width), both even.
        fps: frames per second.
        audio: optional audio file to mux (its first audio stream, re-encoded AAC).
        overwrite: allow replacing an existing file.
        crf: x264 quality (lower is better; 18 is visually lossless).
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float,
        audio: str | Path | None = None,
        overwrite: bool = False,
        crf: int = 18,
    ):
        import subprocess
        from fractions import Fraction

        import imageio_ffmpeg

        self.path = check_output_path(path, overwrite, inputs=(audio,))
        height, width = size
        if height % 2 or width % 2:
            raise ValueError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
        self.size = (height, width)
        self.frames = 0
        self._temp = create_hidden_file(self.path.parent)
        rate = str(Fraction(fps).limit_denominator(1001))
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{width}x{height}", "-r", rate, "-i", "-"]
        if audio is not None:
            command += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "160k"]
        command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf), "-preset", "veryfast",
                    "-movflags", "+faststart", "-f", "mp4", str(self._temp)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        if frame.shape != (*self.size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be {self.size + (3,)} uint8, got {frame.shape} {frame.dtype}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            raise RuntimeError(f"ffmpeg stopped: {self._stderr()}") from None
        self.frames += 1

    def _stderr(self) -> str:
        self._process.wait()
        return (self._process.stderr.read() or b"").decode(errors="replace").strip()[-500:]

    def close(self) -> Path:
        """Finish the file and move it into place."""
        self._process.stdin.close()
        if self._process.wait() != 0:
            message = self._stderr()
            self._temp.unlink(missing_ok=True)
            raise RuntimeError(f"ffmpeg failed: {message}")
        self._process.stderr.close()
        os.replace(self._temp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._process.kill()
        self._process.wait()
        self._process.stderr.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read back with PyAV."""

    frames: int
    fps: float
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    audio_duration: float | None


def probe_video(path: str | Path) -> VideoInfo:
    """Decode a video fully and count what is in it (frames are counted, not estimated)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        fps = float(stream.average_rate or stream.guessed_rate)
        duration = frames / fps
        audio_codec, audio_duration = _audio_stream(container)
        return VideoInfo(frames, fps, duration, stream.width, stream.height, stream.codec_context.name, audio_codec, audio_duration)


def _audio_stream(container) -> tuple[str | None, float | None]:
    """(codec name, seconds) of an open container's first audio stream, or (None, None)."""
    if not container.streams.audio:
        return None, None
    audio = container.streams.audio[0]
    seconds = float(audio.duration * audio.time_base) if audio.duration is not None else None
    return audio.codec_context.name, seconds


def read_header(path: str | Path) -> VideoInfo:
    """What a video's headers say, without decoding: ``frames`` (and so
    ``duration``) is the container's count, an estimate for some formats."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate)
        frames = int(stream.frames or 0)
        if not frames and stream.duration is not None:
            frames = int(round(float(stream.duration * stream.time_base) * fps))
        audio_codec, audio_duration = _audio_stream(container)
        return VideoInfo(frames, fps, frames / fps, stream.width, stream.height, stream.codec_context.name,
                         audio_codec, audio_duration)


def read_frames(path: str | Path):
    """Yield (H, W, 3) uint8 RGB frames of a video."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
