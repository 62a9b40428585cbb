"""Writing and reading back videos: frames stream to ffmpeg, nothing is buffered."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import OutputPathError


def check_output_path(path: str | Path, overwrite: bool = False) -> Path:
    """Validate where a result will go before any work is done.

    Raises:
        OutputPathError: the folder is missing, or the file exists and
            ``overwrite`` is False.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputPathError(f"Output folder does not exist: {path.parent}")
    if path.exists() and not overwrite:
        raise OutputPathError(f"{path} already exists; choose another name or pass --overwrite")
    return path


class VideoWriter:
    """H.264 (yuv420p) + optional AAC MP4, written through a temporary file.

    Frames are piped to the ffmpeg binary that ships in ``imageio-ffmpeg`` as
    they come, so memory does not grow with the video's length. The file
    appears at ``path`` only when ``close()`` succeeds; on error nothing is left.

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
        import imageio_ffmpeg

        self.path = check_output_path(path, overwrite)
        height, width = size
        if height % 2 or width % 2:
            raise ValueError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
        self.size = (height, width)
        self.frames = 0
        handle, temp = tempfile.mkstemp(prefix=".partial-", suffix=".mp4", dir=self.path.parent)
        os.close(handle)
        self._temp = Path(temp)
        params = ["-crf", str(crf), "-preset", "veryfast", "-movflags", "+faststart"]
        if audio is not None:
            params += ["-b:a", "160k"]
        self._gen = imageio_ffmpeg.write_frames(
            str(self._temp),
            (width, height),
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=2,
            audio_path=None if audio is None else str(audio),
            audio_codec=None if audio is None else "aac",
            output_params=params,
            ffmpeg_log_level="error",
        )
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        if frame.shape != (*self.size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be {self.size + (3,)} uint8, got {frame.shape} {frame.dtype}")
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place."""
        self._gen.close()
        os.replace(self._temp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file."""
        try:
            self._gen.close()
        except Exception:  # ffmpeg may already be gone; the file goes either way
            pass
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
        audio_codec = audio_duration = None
        if container.streams.audio:
            audio = container.streams.audio[0]
            audio_codec = audio.codec_context.name
            if audio.duration is not None:
                audio_duration = float(audio.duration * audio.time_base)
        return VideoInfo(frames, fps, duration, stream.width, stream.height, stream.codec_context.name, audio_codec, audio_duration)


def read_frames(path: str | Path):
    """Yield (H, W, 3) uint8 RGB frames of a video."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
