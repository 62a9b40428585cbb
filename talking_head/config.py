"""Configuration dataclasses (no I/O). Field comments are the CLI's help."""

from __future__ import annotations

from dataclasses import dataclass

FRAMINGS = ("crop", "full")
TEXTURE_MODES = ("dense", "paper")
BACKENDS = ("auto", "gl", "numpy")


@dataclass(frozen=True)
class RenderConfig:
    """How the face is sampled, rendered and framed."""

    size: int = 512  # output size in px: the square's side for crop, the long side for full
    framing: str = "crop"  # crop: square around the face; full: the whole photo
    texture_size: int = 1024  # side of the square UV texture in texels
    texture_mode: str = "dense"  # dense: every texel samples the photo; paper: vertex colours
    backend: str = "auto"  # renderer: auto (OpenGL if it starts, else NumPy), gl, numpy
    fps: float = 25.0  # frames per second of the output video

    def __post_init__(self) -> None:
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, got {self.framing!r}")
        if self.texture_mode not in TEXTURE_MODES:
            raise ValueError(f"texture_mode must be one of {TEXTURE_MODES}, got {self.texture_mode!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not 64 <= self.size <= 2048 or self.size % 2:
            raise ValueError(f"size must be even and within 64..2048, got {self.size}")
        if not 64 <= self.texture_size <= 4096:
            raise ValueError(f"texture_size must be within 64..4096, got {self.texture_size}")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"fps must be within 1..120, got {self.fps}")


DEVICES = ("auto", "cpu", "cuda")
RESTORE_MODES = ("off", "reference", "frames")
RESTORERS = ("auto", "gfpgan", "realesrgan")
DRIVERS = ("audionet", "loudness")


@dataclass(frozen=True)
class GenerationConfig(RenderConfig):
    """Everything `generate` needs besides the inputs."""

    # Raised-cosine half window l in frames (0 = off, up to 10). Default 2, by
    # measurement (tools/smoothing_sweep.py, 4 real videos): mouth jitter of the
    # re-detected landmarks falls from 0.0154 (l=0) to 0.0074 (l=2) and 0.0048
    # (l=6) while lip sync on the clips with reliable audio stays flat (talk_a
    # 0.51/0.52/0.58, talk_d 0.33/0.33/0.34). Beyond l=2 the 5-frame (200 ms)
    # window outgrows a syllable and blinks no longer close (peak 0.72 at l=2,
    # 0.53 at l=4), so l=2 takes most of the jitter gain.
    smoothing: int = 2
    device: str = "auto"  # AudioNet device: auto (CUDA when present), cpu, cuda
    max_audio_seconds: float = 600.0  # longer audio is refused with a clear message
    audionet: str | None = None  # path to AudioNet weights; None = the shipped ones
    restore: str = "off"  # face restoration: off, reference (the photo once), frames (every frame)
    restorer: str = "auto"  # auto (GFPGAN if downloaded, else Real-ESRGAN), gfpgan, realesrgan
    driver: str = "audionet"  # audionet, or loudness (the baseline: jaw follows the RMS level)
    mouth: bool = True  # draw the mouth interior (teeth, tongue); False leaves the opening dark
    blink: bool = True  # add natural eye blinks
    blink_seed: int = 0  # seed of the blink timing

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.smoothing <= 10:
            raise ValueError(f"smoothing must be within 0..10, got {self.smoothing}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if not 0 < self.max_audio_seconds < float("inf"):  # also refuses NaN
            raise ValueError(f"max_audio_seconds must be a positive number of seconds, got {self.max_audio_seconds}")
        if self.restore not in RESTORE_MODES:
            raise ValueError(f"restore must be one of {RESTORE_MODES}, got {self.restore!r}")
        if self.driver not in DRIVERS:
            raise ValueError(f"driver must be one of {DRIVERS}, got {self.driver!r}")
        if self.restorer not in RESTORERS:
            raise ValueError(f"restorer must be one of {RESTORERS}, got {self.restorer!r}")
