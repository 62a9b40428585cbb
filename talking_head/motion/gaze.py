"""Small gaze shifts (saccades): when the eyes jump, where to, and how fast.

A speaker's eyes are not fixed: they hold a fixation for a second or two,
glance aside in a quick jump and come back. Here:

* Fixations last 1-3 s (uniform), so a gaze shift comes every 1-3 s.
* A saccade is a jump of 30-60 ms (the main sequence: small saccades of a
  few degrees last ~25-50 ms), with a minimum-jerk profile; at 25 fps it
  completes within a frame or two, so it is added after the smoothing, like
  the blinks.
* Targets alternate between a glance away and a return towards the centre
  (the listener): a glance away draws a new offset, mostly horizontal
  (vertical spread a quarter of the horizontal one); a return draws a small
  offset around the centre. Offsets are in eye widths (corner to corner)
  and clipped to ``limit``: 0.1 eye widths is ~3 mm of iris travel, a
  rotation of ~15 degrees, the upper end of conversational saccades.
* No saccade starts while a blink is deep (closure > ``blink_deep``): it is
  moved to the first frame after the lids have reopened enough.

The track scales with an amplitude (the head-motion setting): 0 gives a
track of zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Salt of the gaze's random stream, so it does not repeat the head motion's
# draws for the same seed.
GAZE_STREAM = 0x6A2E


@dataclass(frozen=True)
class SaccadeModel:
    """Statistics of the gaze shifts (see the module for sources).

    Attributes:
        fixation: s, time between saccade onsets (uniform).
        duration: s, saccade duration (uniform).
        away_sd: (horizontal, vertical) eye widths, spread of a glance away.
        centre_sd: (horizontal, vertical) eye widths, spread of a return to centre.
        limit: (horizontal, vertical) eye widths, largest offset.
        blink_deep: closure above which no saccade happens.
    """

    fixation: tuple[float, float] = (1.0, 3.0)
    duration: tuple[float, float] = (0.03, 0.06)
    away_sd: tuple[float, float] = (0.06, 0.015)
    centre_sd: tuple[float, float] = (0.012, 0.004)
    limit: tuple[float, float] = (0.1, 0.025)
    blink_deep: float = 0.5


def saccade_track(frames: int, fps: float, seed: int = 0, amplitude: float = 1.0,
                  closure: np.ndarray | None = None, model: SaccadeModel = SaccadeModel()) -> np.ndarray:
    """Per-frame gaze offset.

    Args:
        frames: T >= 0.
        fps: frames per second (frame k at k / fps s).
        seed: random seed (same seed, same track).
        amplitude: scales every offset (the head-motion setting); 0 = none.
        closure: (T,) blink track (``motion/blink.blink_track``) or None.
        model: saccade statistics.
    Returns:
        (T, 2) float64: iris offset along the eye (towards the image's
        right) and down, in eye widths, within +-``model.limit``; (0, 0)
        until the first saccade.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    out = np.zeros((frames, 2))
    if frames == 0 or amplitude <= 0.0:
        return out
    rng = np.random.default_rng([int(seed), GAZE_STREAM])
    limit = np.array(model.limit)
    times = np.arange(frames) / fps
    deep = np.zeros(frames, bool) if closure is None else np.asarray(closure, np.float64) > model.blink_deep
    position = np.zeros(2)
    onset = rng.uniform(*model.fixation) * rng.uniform(0.3, 1.0)
    away = True
    while onset < times[-1]:
        duration = rng.uniform(*model.duration)
        spread = np.array(model.away_sd if away else model.centre_sd)
        target = np.clip(amplitude * rng.normal(0.0, spread), -limit, limit)
        # Not during a deep blink: start once the lids have reopened.
        while True:
            span = deep[int(np.floor(onset * fps)): int(np.ceil((onset + duration) * fps)) + 1]
            if not span.any():
                break
            onset = (np.floor(onset * fps) + 1 + np.argmax(span)) / fps
        start = int(np.floor(onset * fps))
        if start >= frames:
            break
        s = np.clip((times[start:] - onset) / duration, 0.0, 1.0)
        profile = s**3 * (10.0 - 15.0 * s + 6.0 * s * s)  # minimum jerk
        out[start:] = position + profile[:, None] * (target - position)
        position = target
        away = not away
        onset += duration + rng.uniform(*model.fixation)
    return out
