"""Configuration dataclasses (no I/O): the single source of truth for options.

Every user-facing option is a field declared with ``option(...)``, whose
metadata carries its help text, its allowed values (``choices``) or range
(``bounds``) and whether it appears on the command line. The CLI's flags
(``talking_head/options.py``), the app's choices and the validation in
``__post_init__`` are all generated from these declarations, so an option is
typed once.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

FRAMINGS = ("crop", "full")
TEXTURE_MODES = ("dense", "paper")
BACKENDS = ("auto", "gl", "numpy")
DEVICES = ("auto", "cpu", "cuda")
RESTORE_MODES = ("off", "reference", "frames")
RESTORERS = ("auto", "gfpgan", "realesrgan")
# The drivers' names; ``talking_head/drivers/__init__.py`` holds the table of
# implementations (a test checks that both agree).
DRIVERS = ("phonetic", "audionet", "loudness", "curves")


def option(default: Any, help: str, *, choices: tuple | None = None, bounds: tuple | None = None,
           cli: bool = True, even: bool = False, off: str | None = None) -> Any:
    """A config field with the metadata that generates its flag, UI choice and check.

    Args:
        default: the default value (its type is the option's type).
        help: one line for ``--help`` and the app.
        choices: allowed values.
        bounds: (lowest, highest) allowed, inclusive.
        cli: False hides it from the command line.
        even: the value must be even (video sizes).
        off: help of the ``--no-...`` flag of a boolean that defaults to True.
    """
    return field(default=default, metadata={"help": help, "choices": choices, "bounds": bounds, "cli": cli,
                                            "even": even, "off": off})


def check_options(config: Any) -> None:
    """Validate every ``option`` field of a config against its metadata.

    Raises:
        ValueError: naming the option and what it accepts.
    """
    for spec in fields(config):
        meta = spec.metadata
        if "help" not in meta:
            continue
        value = getattr(config, spec.name)
        if value is None:
            continue
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ValueError(f"{spec.name} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
        if meta["bounds"] is not None:
            lo, hi = meta["bounds"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{spec.name} must be a number within {lo}..{hi}; got {value!r}")
            if not lo <= value <= hi:
                raise ValueError(f"{spec.name} must be within {lo}..{hi}; got {value}")
        if meta["even"] and value % 2:
            raise ValueError(f"{spec.name} must be even; got {value}")


def option_fields(kind: type) -> list:
    """The ``option`` fields of a config class, in declaration order."""
    return [f for f in fields(kind) if "help" in f.metadata]


def option_default(kind: type, name: str) -> Any:
    """Declared default of one option."""
    spec = next(f for f in fields(kind) if f.name == name)
    return spec.default if spec.default is not MISSING else spec.default_factory()


def option_choices(kind: type, name: str) -> tuple:
    """Allowed values of one option (for the app's radios and dropdowns)."""
    spec = next(f for f in fields(kind) if f.name == name)
    return tuple(spec.metadata["choices"] or ())


def option_bounds(kind: type, name: str) -> tuple:
    """(lowest, highest) of one numeric option (for the app's sliders)."""
    spec = next(f for f in fields(kind) if f.name == name)
    return tuple(spec.metadata["bounds"])


@dataclass(frozen=True)
class RenderConfig:
    """How the face is sampled, rendered and framed."""

    size: int = option(512, "output size in px: the square's side (crop) or the long side (full)",
                       bounds=(64, 2048), even=True)
    framing: str = option("crop", "crop: square around the face; full: the whole photo", choices=FRAMINGS)
    texture_size: int = option(1024, "side of the square UV texture in texels", bounds=(64, 4096))
    texture_mode: str = option("dense", "dense: every texel samples the photo; paper: vertex colours",
                               choices=TEXTURE_MODES)
    backend: str = option("auto", "renderer: auto (OpenGL if it starts, else NumPy), gl, numpy", choices=BACKENDS)
    fps: float = option(25.0, "frames per second of the output video", bounds=(1, 120))

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class GenerationConfig(RenderConfig):
    """Everything `generate` needs besides the inputs (photo, audio, transcript)."""

    # Default driver, by measurement (tools/eval_drivers.py: first frame as the
    # photo, the clip's own audio, mouth re-detected on the output; talk_a,
    # talk_d, lieu_60s and four held-out GRID clips, no transcripts): lip-sync r
    # 0.61 phonetic, 0.47 audionet, 0.42 loudness (best lag within 2 frames:
    # 0.63 / 0.51 / 0.47); amplitude ratio 0.96 / 0.54 / 1.09. The retrained
    # AudioNet lost on the validation clips (docs/audionet_retrain/).
    driver: str = option("phonetic", "what moves the mouth: phonetic (timed phones from a real-speech recogniser, "
                         "aligned to the transcript when given), audionet (the paper's network on MFCC windows), "
                         "loudness (baseline: the jaw follows the RMS level), curves (an ARKit-style CSV given "
                         "with --coeffs)", choices=DRIVERS)
    mouth_motion: float = option(1.0, "mouth motion intensity: 0.5 (subtle) to 1.5 (pronounced); 1 = calibrated "
                                 "to real speakers", bounds=(0.5, 1.5))
    # Raised-cosine half window l in frames (0 = off, up to 10). Default 2, by
    # measurement (tools/smoothing_sweep.py, 4 real videos): mouth jitter of the
    # re-detected landmarks falls from 0.0154 (l=0) to 0.0074 (l=2) and 0.0048
    # (l=6) while lip sync on the clips with reliable audio stays flat (talk_a
    # 0.51/0.52/0.58, talk_d 0.33/0.33/0.34). Beyond l=2 the 5-frame (200 ms)
    # window outgrows a syllable, so l=2 takes most of the jitter gain. (Blinks
    # are added after the smoothing and close fully at any l.)
    smoothing: int = option(2, "raised-cosine smoothing half window l in frames, 0-10", bounds=(0, 10))
    device: str = option("auto", "AudioNet and restorer device: auto (CUDA when present), cpu, cuda", choices=DEVICES)
    max_audio_seconds: float = option(600.0, "refuse longer audio", bounds=(0.1, 86400.0))
    audionet: str | None = option(None, "AudioNet weights (.pt); default: the shipped ones")
    restore: str = option("off", "face restoration: off; reference = restore the photo once before texture sampling "
                          "(no flicker); frames = restore every frame (the paper's way, slow on CPU)",
                          choices=RESTORE_MODES)
    restorer: str = option("auto", "auto = GFPGAN v1.4 if downloaded (see `weights`), else Real-ESRGAN x4plus "
                           "(offline)", choices=RESTORERS)
    mouth: bool = option(True, "draw the mouth interior (teeth, tongue)",
                         off="leave the mouth opening dark instead of drawing teeth and tongue (ablation)")
    blink: bool = option(True, "add natural eye blinks", off="no automatic blinks")
    blink_seed: int = option(0, "seed of the blink timing", bounds=(0, 2**31 - 1))
    head_motion: float = option(1.0, "head motion from the speech: 0 = still (the photo's pose), 1 = natural "
                                "(calibrated to real speakers), up to 2", bounds=(0.0, 2.0))
    seed: int = option(0, "seed of the head motion's random parts (drift, tilt directions)", bounds=(0, 2**31 - 1))
    gaze: bool = option(True, "small gaze shifts (saccades) when the head moves (head motion above 0)",
                        off="the eyes keep the photo's gaze")
    # External motion (talking_head/drivers/curves.py): giving a file implies the curves driver.
    coeffs: str | None = option(None, "drive the face with an arkit.csv-style file of blendshape curves (ours from "
                                "--export-animation, or another tool's) instead of the audio; the audio still "
                                "gives the sound and the length; implies --driver curves")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.coeffs is not None and self.driver != "curves":
            object.__setattr__(self, "driver", "curves")
        if self.driver == "curves" and self.coeffs is None:
            raise ValueError("the curves driver needs a curve file (coeffs, --coeffs FILE.csv)")
