"""Natural eye blinks: when they happen, how they move, and how they enter the
expression track.

AudioNet does not drive the eyes, and a face that never blinks looks dead.
Blinks are drawn from human statistics of spontaneous blinking:

* Rate: 17 blinks/min at rest and 26 while talking freely (means over 150
  adults, Bentivoglio et al. 1997, Movement Disorders 12:1028); 95 % ranges
  8-21 in silent primary gaze and 10.5-32.5 in conversation (Doughty 2001,
  Optom. Vis. Sci. 78:712). Rates across people are log-normal, so a typical
  (median) speaker blinks less often than the mean: the default is 20/min.
  Four real talking clips (../shared/data, 22.5 s in all) show 9 blinks,
  24/min.
* Inter-blink intervals (onset to onset) are right-skewed and highly
  variable; they are log-normal here with mean 60/rate s and log-sd 0.6
  (coefficient of variation 0.66), with at least ``min_gap`` between one
  blink's end and the next one's start. The first blink comes after a uniform fraction of an
  interval (a stationary renewal process), so a video does not always start
  with the same pause.
* Kinematics: a spontaneous blink closes in ~70-100 ms (the down phase is
  ~66 ms in search-coil data, voluntary ones 17.6 % longer; "Kinematic
  comparison of spontaneously generated blinks and voluntary blinks in normal
  adult subjects"), stays shut briefly, and reopens more slowly (closing is
  40-47 % faster than opening, Sforza et al. 2008, Ophthalmic Physiol. Opt.
  28:345; endogenous blinks: ~100 ms closing, ~100+ ms reopening, Stern et
  al. 1984). Here: closing N(90 ms, 15 ms) clipped to 60-130 ms, shut 0-50 ms,
  opening 1.6-2.2 times the closing, so a blink lasts 0.16-0.4 s (mean ~0.29 s).
* Profile: closing is a half-cosine (accelerate, then decelerate onto the
  lower lid); opening is fast at first, then slow (``(1 - s)^2``; the early
  and late opening phases of high-speed recordings, Kwon et al. 2013), whose
  peak speed is ~1.5x lower than the closing's, as measured.
* Every blink closes fully, and the moment the lids meet falls on a frame, so
  each blink reaches 1.0 in the track before smoothing.

Both eyes blink together. A blink moves each ``eyeBlink`` coefficient from
the photo's own value b towards 1 (``b + (1 - b) * blink``): half-closed eyes
in the photo still close fully and reopen to where they were, and the
profile keeps its shape (``max`` would hold still until the blink passed b;
adding would shut the eyes early and long). Blinks are added after the
smoothing operator (``TalkingHeadPipeline.motion``): their profile is smooth
already, and a raised-cosine window of 5 frames cut a 2-4 frame closure to
a peak of ~0.7, so the lids never met.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLINK_NAMES = ("eyeBlink_L", "eyeBlink_R")


@dataclass(frozen=True)
class BlinkModel:
    """Statistics of spontaneous blinking (see the module for sources).

    Attributes:
        rate_per_min: mean blinks per minute.
        interval_sigma: log-sd of the log-normal inter-blink interval.
        min_gap: s, least time between one blink's end and the next's start.
        close_mean, close_sd: s, closing-phase duration (normal, clipped to
            ``close_range``).
        hold_range: s, time shut (uniform).
        open_ratio: opening duration over closing duration (uniform).
        max_duration: s, longest blink (opening shortened to fit).
    """

    rate_per_min: float = 20.0
    interval_sigma: float = 0.6
    min_gap: float = 0.15
    close_mean: float = 0.09
    close_sd: float = 0.015
    close_range: tuple[float, float] = (0.06, 0.13)
    hold_range: tuple[float, float] = (0.0, 0.05)
    open_ratio: tuple[float, float] = (1.6, 2.2)
    max_duration: float = 0.4

    def __post_init__(self) -> None:
        if not 0.0 < self.rate_per_min <= 120.0:
            raise ValueError(f"rate_per_min must be within (0, 120], got {self.rate_per_min}")


@dataclass(frozen=True)
class Blink:
    """One blink.

    Attributes:
        shut: s, when the lids meet (the track is 1.0 from here for ``hold``).
        close: s, closing phase (before ``shut``).
        hold: s, time shut.
        open: s, opening phase (after the hold).
    """

    shut: float
    close: float
    hold: float
    open: float

    @property
    def start(self) -> float:
        return self.shut - self.close

    @property
    def end(self) -> float:
        return self.shut + self.hold + self.open

    @property
    def duration(self) -> float:
        return self.close + self.hold + self.open


def blink_events(duration: float, fps: float, seed: int = 0, model: BlinkModel = BlinkModel()) -> tuple[Blink, ...]:
    """Blinks over ``duration`` seconds of video.

    Draws are sequential, so a longer duration with the same seed extends the
    same blinks.

    Args:
        duration: s of video.
        fps: frames per second; each blink's ``shut`` is a frame time.
        seed: random seed.
        model: blink statistics.
    Returns:
        Blinks in time order, each starting at or after 0 and ending before
        ``duration`` (so none is cut off at either end of the video).
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    rng = np.random.default_rng(seed)
    mean = 60.0 / model.rate_per_min
    # Log-normal with the given mean: mu = ln(mean) - sigma^2 / 2.
    mu = np.log(mean) - model.interval_sigma**2 / 2.0
    blinks: list[Blink] = []
    onset = rng.uniform() * rng.lognormal(mu, model.interval_sigma)
    while True:
        close = float(np.clip(rng.normal(model.close_mean, model.close_sd), *model.close_range))
        hold = float(rng.uniform(*model.hold_range))
        opening = close * float(rng.uniform(*model.open_ratio))
        opening = min(opening, model.max_duration - close - hold)
        # The lids meet on the first frame at or after the blink could close.
        shut = np.ceil((onset + close) * fps - 1e-9) / fps
        blink = Blink(float(shut), close, hold, opening)
        if blink.end >= duration:
            break
        if blink.start >= 0.0:
            blinks.append(blink)
        # Intervals run onset to onset, as blink rates are counted.
        onset = blink.start + max(rng.lognormal(mu, model.interval_sigma), blink.duration + model.min_gap)
    return tuple(blinks)


def blink_profile(t: np.ndarray, blink: Blink) -> np.ndarray:
    """Lid closure of one blink at times ``t``.

    Args:
        t: (N,) s.
        blink: the blink.
    Returns:
        (N,) float64 in [0, 1]: 0 open, 1 shut; 0 outside the blink.
    """
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros_like(t)
    closing = (t > blink.start) & (t < blink.shut)
    s = (t[closing] - blink.start) / blink.close
    out[closing] = 0.5 * (1.0 - np.cos(np.pi * s))
    out[(t >= blink.shut) & (t <= blink.shut + blink.hold)] = 1.0
    opening = (t > blink.shut + blink.hold) & (t < blink.end)
    s = (t[opening] - blink.shut - blink.hold) / blink.open
    out[opening] = (1.0 - s) ** 2
    return out


def blink_track(frames: int, fps: float, seed: int = 0, model: BlinkModel = BlinkModel()) -> np.ndarray:
    """Per-frame lid closure for a video.

    Args:
        frames: T >= 0.
        fps: frames per second (frame k is at k / fps s).
        seed: random seed (same seed, same blinks).
        model: blink statistics.
    Returns:
        (T,) float64 in [0, 1]; every blink reaches exactly 1.0.
    """
    times = np.arange(frames) / fps
    track = np.zeros(frames)
    for blink in blink_events(frames / fps, fps, seed, model):
        first = max(int(np.floor(blink.start * fps)), 0)
        last = min(int(np.ceil(blink.end * fps)) + 1, frames)
        track[first:last] = np.maximum(track[first:last], blink_profile(times[first:last], blink))
    return track


def apply_blinks(coeffs: np.ndarray, names, track: np.ndarray) -> np.ndarray:
    """Blink both eyes on top of an expression track.

    Args:
        coeffs: (T, K) coefficients.
        names: (K,) rig names; the ``eyeBlink_L`` and ``eyeBlink_R`` columns
            change (a rig without them is returned unchanged).
        track: (T,) lid closure in [0, 1] (``blink_track``).
    Returns:
        (T, K) float64 copy; eyeBlink columns ``b + (1 - b) * track``.
    Raises:
        ValueError: track length differs from T.
    """
    out = np.array(coeffs, dtype=np.float64)
    track = np.asarray(track, dtype=np.float64)
    if out.ndim != 2 or track.shape != (out.shape[0],):
        raise ValueError(f"track must be (T,) for coefficients (T, K); got {track.shape} and {out.shape}")
    for name in BLINK_NAMES:
        if name in names:
            column = list(names).index(name)
            base = out[:, column]
            out[:, column] = base + (1.0 - base) * track
    return out
