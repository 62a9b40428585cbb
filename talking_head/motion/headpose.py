"""A head-pose track generated from speech: nods, tilts, drift and stillness.

Per frame (yaw, pitch, roll) in degrees and (tx, ty) in inter-ocular
distances (IOD), relative to the photo's own pose. Three parts, all pure
functions of the audio's loudness, the voice activity and a seed:

* **Drift** (the stochastic part): per axis an Ornstein-Uhlenbeck process
  (``dx = -x / tau dt + sigma a(t) dW``) whose noise is gated by the speech
  activity ``a(t)`` (1 while speaking, decaying over ~1 s into a pause to
  ``PAUSE_ACTIVITY``): the head wanders while talking and comes to rest,
  slowly drifting back towards the photo's pose, in long pauses. Slow
  (``tau`` ~1 s), then low-passed, so its power sits below ~1 Hz like the
  real clips' (median frequency 0.2-0.5 Hz measured).
* **Accents**: on stressed syllables (prominent peaks of the loudness
  envelope, at least ``MIN_ACCENT_GAP`` apart) a short nod (pitch down and
  back, ~0.45 s) and a smaller roll, scaled by the peak's prominence.
* **Phrase starts** (speech after >= 0.3 s of quiet): a larger nod and a
  small tilt with a random sign, as speakers re-orient when they start.

Amplitudes are calibrated on real talking videos re-detected with MediaPipe
(``tools/measure_head_motion.py``, 8 s windows of obama_20s, lieu_60s and
four 5-7 s clips; ``docs/head_motion.md``): std yaw 3.1, pitch 2.7, roll 1.6
degrees, nose tip 0.18 IOD, median frequency 0.4 Hz, angular speed leading
the loudness by ~0.25 s (r 0.40). MediaPipe reads the yaw of our rendered
face short (~0.6 of the mesh's), so the drift's yaw is set above the real
std to land near it on re-detection. Then the ``amount`` (the user's
``head_motion``) scales everything; 0 gives zeros.
Angles are soft-limited (tanh) to ``LIMITS``, chosen on contact sheets of
extreme poses (``docs/head_pose_sheet.png``): beyond them the single photo's
unseen side and the warped neck show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AXES = ("yaw", "pitch", "roll", "tx", "ty")
# Soft limits (degrees, degrees, degrees, IOD, IOD) of the generated pose.
LIMITS = np.array([14.0, 10.0, 8.0, 0.15, 0.12])
MIN_ACCENT_GAP = 0.35  # s between stressed syllables
LEAD_S = 0.15  # s a nod's centre comes before its syllable's loudness peak
PAUSE_ACTIVITY = 0.15  # drift noise left in a long pause (fraction of speech)
QUIET_BELOW_PEAK_DB = 25.0  # quieter than the clip's loud level by this: not speech


@dataclass(frozen=True)
class HeadMotionModel:
    """Amplitudes of the generated head motion at ``amount`` = 1.

    Attributes:
        drift_std: (5,) stationary std of the drift per axis while speaking.
        drift_tau: s, relaxation time of the drift (OU).
        accent_pitch: degrees of a nod on the most prominent syllable.
        accent_roll: degrees of roll on it (random sign).
        phrase_pitch: degrees of the nod at a phrase start.
        phrase_tilt: (yaw, roll) degrees of the re-orientation at a phrase start.
        accent_width: s, duration of one nod.
    """

    drift_std: tuple = (5.5, 3.4, 2.0, 0.05, 0.035)
    drift_tau: float = 1.2
    accent_pitch: float = 3.0
    accent_roll: float = 0.8
    phrase_pitch: float = 3.0
    phrase_tilt: tuple = (2.0, 1.5)
    accent_width: float = 0.45


def speech_activity(loudness_db: np.ndarray, fps: float, speech: np.ndarray | None = None,
                    release_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Voice activity and a slowly released activity envelope.

    Args:
        loudness_db: (T,) RMS level per frame.
        fps: frames per second.
        speech: (T,) bool voice activity when a driver measured it, else derived
            from the level (within ``QUIET_BELOW_PEAK_DB`` of the 95th percentile).
        release_s: s for the envelope to fall from 1 to ``PAUSE_ACTIVITY`` in a pause.
    Returns:
        ((T,) bool voice activity, (T,) float64 envelope in [PAUSE_ACTIVITY, 1]).
    """
    loudness_db = np.asarray(loudness_db, dtype=np.float64)
    if speech is None:
        loud = np.percentile(loudness_db, 95) if len(loudness_db) else 0.0
        speech = (loudness_db > loud - QUIET_BELOW_PEAK_DB) & (loudness_db > -60.0)
    speech = np.asarray(speech, dtype=bool)
    envelope = np.empty(len(speech))
    decay = np.exp(np.log(PAUSE_ACTIVITY) / max(release_s * fps, 1.0))
    level = PAUSE_ACTIVITY
    for index, on in enumerate(speech):
        level = 1.0 if on else max(PAUSE_ACTIVITY, level * decay)
        envelope[index] = level
    # A short attack (~0.2 s) so the head does not jump at the first syllable.
    kernel = np.hanning(max(3, int(round(0.2 * fps)) | 1))
    envelope = np.convolve(np.pad(envelope, len(kernel) // 2, mode="edge"), kernel / kernel.sum(), mode="valid")
    return speech, envelope


def accent_frames(loudness_db: np.ndarray, speech: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Stressed syllables: prominent loudness peaks in speech, at least ``MIN_ACCENT_GAP`` apart.

    Returns:
        ((N,) int frames, (N,) float64 prominence in [0, 1]).
    """
    from scipy.signal import find_peaks

    level = np.convolve(np.asarray(loudness_db, float), np.ones(3) / 3, mode="same")
    if not speech.any():
        return np.zeros(0, int), np.zeros(0)
    # Pauses sink below every syllable, so a pause is never a peak itself.
    floor = level[speech].min() - 10.0
    peaks, props = find_peaks(np.where(speech, level, floor), prominence=3.0,
                              distance=max(1, int(round(MIN_ACCENT_GAP * fps))))
    prominence = np.clip(props["prominences"] / 15.0, 0.0, 1.0)
    keep = speech[peaks]
    return peaks[keep], prominence[keep]


def phrase_start_frames(speech: np.ndarray, fps: float, quiet_s: float = 0.3) -> np.ndarray:
    """(N,) frames where speech begins after >= ``quiet_s`` of quiet (or at the clip's first speech)."""
    starts, quiet = [], int(1e9)
    for index, on in enumerate(speech):
        if on and quiet >= quiet_s * fps:
            starts.append(index)
        quiet = 0 if on else quiet + 1
    return np.array(starts, dtype=int)


def bump(frames: int, centre: float, width: float) -> np.ndarray:
    """(T,) raised-cosine pulse of ``width`` frames peaking at ``centre`` (1 at the peak)."""
    t = np.arange(frames) - centre
    inside = np.abs(t) < width / 2.0
    out = np.zeros(frames)
    out[inside] = 0.5 * (1.0 + np.cos(2.0 * np.pi * t[inside] / width))
    return out


def moving_average(signal: np.ndarray, window: int) -> np.ndarray:
    """(T, C) Hann-weighted moving average over ``window`` frames, edges held."""
    window = max(3, window | 1)
    kernel = np.hanning(window + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(signal, ((window // 2, window // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(signal.shape[1])], axis=1)


def drift(frames: int, fps: float, activity: np.ndarray, std: np.ndarray, tau: float,
          rng: np.random.Generator) -> np.ndarray:
    """Activity-gated Ornstein-Uhlenbeck drift, low-passed.

    Args:
        activity: (T,) in [0, 1], scales the noise.
        std: (C,) stationary std at full activity.
        tau: s, relaxation time.
    Returns:
        (T, C) float64, starting at 0 (the photo's pose).
    """
    dt = 1.0 / fps
    keep = np.exp(-dt / tau)
    step = np.sqrt(1.0 - keep**2)
    noise = rng.standard_normal((frames, len(std)))
    out = np.zeros((frames, len(std)))
    state = np.zeros(len(std))
    for index in range(frames):
        state = keep * state + step * activity[index] * noise[index]
        out[index] = state
    # A second pole at ~1 Hz takes off the OU's high-frequency tail (real heads
    # do not jitter at 5 Hz); the 0.8 restores the std the filter removes.
    alpha = 1.0 - np.exp(-2.0 * np.pi * 1.0 * dt)
    smooth = np.zeros_like(out)
    for index in range(1, frames):
        smooth[index] = smooth[index - 1] + alpha * (out[index] - smooth[index - 1])
    return smooth * np.asarray(std)[None, :] / 0.8


def head_pose_track(loudness_db: np.ndarray, fps: float, amount: float = 1.0, seed: int = 0,
                    speech: np.ndarray | None = None, model: HeadMotionModel = HeadMotionModel()) -> np.ndarray:
    """Head pose per frame from the speech.

    Args:
        loudness_db: (T,) RMS level per video frame (``audio.loudness.frame_rms_db``).
        fps: frames per second.
        amount: 0 (still) .. 2; scales every part before the soft limits.
        seed: seed of the stochastic parts (drift, tilt signs).
        speech: (T,) bool voice activity from the driver, optional.
        model: amplitudes.
    Returns:
        (T, 5) float64 (yaw, pitch, roll degrees; tx, ty IOD), within +-``LIMITS``;
        all zeros when ``amount`` is 0.
    Raises:
        ValueError: amount outside 0..2 or fps not positive.
    """
    if not 0.0 <= amount <= 2.0:
        raise ValueError(f"head motion amount must be within 0..2, got {amount}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    loudness_db = np.asarray(loudness_db, dtype=np.float64)
    frames = len(loudness_db)
    if amount == 0.0 or frames == 0:
        return np.zeros((frames, 5))
    rng = np.random.default_rng(seed)
    voiced, activity = speech_activity(loudness_db, fps, speech)
    pose = drift(frames, fps, activity, np.asarray(model.drift_std), model.drift_tau, rng)
    width = model.accent_width * fps
    peaks, prominence = accent_frames(loudness_db, voiced, fps)
    # Real heads lead the voice: angular speed correlates best with the
    # loudness envelope 0.1-0.44 s before it (mean 0.25 s, 6 clips); nods
    # centred 0.15 s before the syllable's peak put our speed there too.
    lag = -LEAD_S * fps
    accents = np.zeros((frames, 5))
    for frame, strength in zip(peaks, prominence):
        pulse = bump(frames, frame + lag, width)
        # Pitch convention: positive = chin up (see ``face/pose.euler_angles``); a nod dips the chin.
        accents[:, 1] -= model.accent_pitch * strength * pulse
        accents[:, 2] += model.accent_roll * strength * rng.choice((-1.0, 1.0)) * pulse
    for frame in phrase_start_frames(voiced, fps):
        pulse = bump(frames, frame + lag, 1.6 * width)
        accents[:, 1] -= model.phrase_pitch * pulse
        accents[:, 0] += model.phrase_tilt[0] * rng.uniform(-1, 1) * pulse
        accents[:, 2] += model.phrase_tilt[1] * rng.uniform(-1, 1) * pulse
    # Nods dip and come back: without their slow mean (a 2.5 s window), a
    # run of stressed syllables would leave the head looking down.
    pose += accents - moving_average(accents, int(round(2.5 * fps)))
    pose -= pose[0]  # the first frame shows the photo's own pose
    pose *= amount
    return LIMITS * np.tanh(pose / LIMITS)


def delta_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation in the canonical head frame that ``face/pose.euler_angles``
    measures back as (yaw, pitch, roll) on a frontal face.

    A frontal face's image-space rotation is ``F = diag(1, -1, -1)`` and
    ``euler_angles`` reads ``R F`` as ``Rz(roll) Ry(yaw) Rx(pitch)``; so the
    delta applied in the head frame (``R = F Rd``) is ``F Rz Ry Rx F``.
    """
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    frontal = np.diag([1.0, -1.0, -1.0])
    return frontal @ rz @ ry @ rx @ frontal


BROW_PHRASE = 0.35  # browInnerUp at a phrase start (~3 mm: 1.0 lifts the inner brow 8 mm)
BROW_ACCENT = 0.3  # at the most prominent syllables
BROW_MIN_PROMINENCE = 0.5  # weaker accents leave the brows alone
BROW_WIDTH = 0.7  # s


def brow_track(loudness_db: np.ndarray, fps: float, amount: float = 1.0, seed: int = 0,
               speech: np.ndarray | None = None) -> np.ndarray:
    """Brow raises on emphasis: phrase starts and the most prominent syllables.

    Speakers lift the brows on some accents, not on every one: each strong
    accent raises them with probability one half (seeded).

    Args:
        loudness_db: (T,) RMS level per frame.
        fps: frames per second.
        amount: 0..2, scales the raise (0 = none).
        seed: seed of which accents raise the brows.
        speech: (T,) bool voice activity, optional.
    Returns:
        (T,) float64 in [0, 1], the ``browInnerUp`` to add (``b + (1 - b) x``).
    """
    loudness_db = np.asarray(loudness_db, dtype=np.float64)
    frames = len(loudness_db)
    out = np.zeros(frames)
    if amount == 0.0 or frames == 0:
        return out
    rng = np.random.default_rng([seed, 1])
    voiced, _ = speech_activity(loudness_db, fps, speech)
    width = BROW_WIDTH * fps
    for frame in phrase_start_frames(voiced, fps):
        out = np.maximum(out, BROW_PHRASE * bump(frames, frame + 0.1 * fps, width))
    peaks, prominence = accent_frames(loudness_db, voiced, fps)
    for frame, strength in zip(peaks, prominence):
        if strength >= BROW_MIN_PROMINENCE and rng.uniform() < 0.5:
            out = np.maximum(out, BROW_ACCENT * strength * bump(frames, frame, width))
    return np.clip(out * amount, 0.0, 1.0)
