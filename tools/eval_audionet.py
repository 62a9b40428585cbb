"""Evaluate AudioNet weights.

1. Held-out voices (the ``val-*`` shards of a dataset): per-coefficient
   Pearson correlation with the targets, and the mouth-closed rate in deep
   silence (``silent`` frames whose predicted mouth opening is below 1 mm).
2. Real talking videos (optional folder, e.g. ../shared/data/real_talking):
   the real mouth opening measured by MediaPipe on the real frames
   (inner-lip gap / outer-eye-corner distance) against
   a. AudioNet's mouth opening on the video's own audio, and
   b. a loudness baseline (RMS envelope of the audio over each frame's
      40 ms window).
   Until ``generate`` exists, AudioNet's opening is measured on the rig
   (inner-lip gap of the canonical mesh posed with the predicted
   coefficients, minus the neutral gap) -- a proxy for measuring it with
   MediaPipe on rendered frames.

Usage::

    python -m tools.eval_audionet --weights assets/audionet/audionet.pt \
        [--data DATASET_DIR] [--videos VIDEO_DIR] [--benchmark [--audio FILE]] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from talking_head.audio.audionet import load_audionet, predict
from talking_head.face.rig import inner_lip_gap, load_rig
from talking_head.face.topology import load_topology
from talking_head.train.viseme_fit import pearson  # NaN-aware: frames without a face are skipped

CLOSED_CM = 0.1  # a predicted opening under 1 mm counts as closed


def rig_opening(coeffs: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(T, K_audio) coefficients -> (T,) inner-lip gap of the posed canonical
    mesh minus the neutral gap, in cm."""
    rig = load_rig()
    vertices = load_topology().vertices
    full = np.zeros((len(coeffs), rig.size))
    full[:, [rig.index(n) for n in names]] = coeffs
    return inner_lip_gap(rig.apply(vertices, full)) - inner_lip_gap(vertices)


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 3) -> tuple[int, float]:
    """Lag (frames, positive: ``b`` later) within +-max_lag with the highest correlation."""
    scores = []
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            scores.append((lag, pearson(a[: len(a) - lag], b[lag:])))
        else:
            scores.append((lag, pearson(a[-lag:], b[: len(b) + lag])))
    return max(scores, key=lambda s: -np.inf if np.isnan(s[1]) else s[1])


def evaluate_heldout(model, data_dir: Path) -> dict:
    from talking_head.train.dataset import load_split

    val = load_split(data_dir, "val")
    names = tuple(model.config.names)
    if val.names != names:
        raise SystemExit(f"dataset names {val.names} differ from the model's {names}")
    pred = predict(model, val.windows)
    per = {n: pearson(pred[:, k], val.targets[:, k]) for k, n in enumerate(names)}
    opening_pred = rig_opening(pred, names)
    opening_true = rig_opening(val.targets, names)
    silent = val.silent
    return {
        "frames": len(val), "hours": round(val.hours, 3), "voices": list(val.voices),
        "l1_per_frame": float(np.abs(pred - val.targets).sum(axis=1).mean()),
        # None: the coefficient never moves in the targets (no correlation defined)
        "correlation": {k: None if np.isnan(v) else round(v, 3) for k, v in per.items()},
        "mean_correlation": round(float(np.nanmean(list(per.values()))), 3),
        "mouth_opening_correlation": round(pearson(opening_pred, opening_true), 3),
        "silent_frames": int(silent.sum()),
        "mouth_closed_rate_in_silence": round(float((opening_pred[silent] < CLOSED_CM).mean()), 3),
        "target_closed_rate_in_silence": round(float((opening_true[silent] < CLOSED_CM).mean()), 3),
    }


def rms_envelope(samples: np.ndarray, sample_rate: int, n_frames: int, fps: float, window: float = 0.04) -> np.ndarray:
    """(n_frames,) RMS of the audio over ``window`` seconds centred on each frame."""
    centres = ((np.arange(n_frames) + 0.5) / fps * sample_rate).astype(np.int64)
    half = int(window * sample_rate / 2)
    power = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    lo = np.clip(centres - half, 0, len(samples))
    hi = np.clip(centres + half, 0, len(samples))
    return np.sqrt((power[hi] - power[lo]) / np.maximum(hi - lo, 1))


def evaluate_video(model, path: Path, fps: float = 25.0, tracks: Sequence[Path] = ()) -> dict:
    """Mouth opening on a real video's own audio against the real mouth:
    r at lag 0 and at the best lag within +-2 frames, amplitude (std ratio,
    both as inner-lip gap / eye-corner distance), share of deep-silence frames
    (loudness) with the predicted mouth closed; the loudness baseline's r."""
    from talking_head.audio.decode import decode_audio
    from talking_head.audio.features import feature_windows, frame_count, mfcc
    from talking_head.train.viseme_fit import rig_opening as rig_ratio
    from talking_head.train.viseme_fit import sync_scores
    from talking_head.train.videos import loudness_silence, mouth_opening, read_landmarks, resample

    cached = next((d / f"{path.stem}.npz" for d in tracks if (d / f"{path.stem}.npz").exists()), None)
    if cached is not None:  # tools/track_videos.py output
        with np.load(cached) as z:
            found, times, opening = z["found"], z["times"], z["opening"].astype(np.float64)
        real_native = opening[found]
    else:
        track = read_landmarks(path)
        found, times = track.found, track.times
        real_native = mouth_opening(track.points[found])
    clip = decode_audio(path)
    n = frame_count(clip.duration, fps)
    real = resample(times[found], real_native, n, fps)
    windows = feature_windows(mfcc(clip.samples, clip.sample_rate), n, fps)
    coeffs = predict(model, windows)
    ours = rig_ratio(coeffs, tuple(model.config.names))
    loud = rms_envelope(clip.samples, clip.sample_rate, n, fps)
    silent = loudness_silence(clip.samples, clip.sample_rate, n, fps)
    scores = sync_scores(real, ours, silent)
    lag_loud, r_loud_best = best_lag(real, loud, 2)
    return {
        "frames": n, "face_found": round(float(found.mean()), 3),
        "r_audionet": scores["r0"], "r_audionet_best": scores["r_best"], "lag_audionet": scores["lag"],
        "amplitude": scores["amplitude"], "silent_closed": scores.get("silent_closed"),
        "silent_frames": scores.get("silent_frames", 0),
        "r_loudness": round(pearson(real, loud), 3), "r_loudness_best": round(r_loud_best, 3),
    }


def benchmark(model, frames: int = 10000, audio: Path | None = None) -> dict:
    """CPU inference speed: frames per second of the network alone (random
    windows, batches of 2048), and of MFCC + network on an audio file."""
    import torch

    from talking_head.audio.decode import decode_audio
    from talking_head.audio.features import iter_feature_windows

    x = np.random.default_rng(0).normal(0, 30, (frames, 16, 80)).astype(np.float32)
    out = {"torch_threads": torch.get_num_threads()}
    predict(model, x[:512])
    best = min(_seconds(lambda: predict(model, x)) for _ in range(3))
    out["network_fps"] = round(frames / best)
    if audio is not None:
        clip = decode_audio(audio)
        seconds = _seconds(lambda: predict(model, iter_feature_windows(clip, 25.0)))
        out["audio_seconds"] = round(clip.duration, 2)
        out["features_and_network_fps"] = round(clip.duration * 25.0 / seconds)
    return out


def _seconds(fn) -> float:
    import time

    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate AudioNet on held-out voices and real talking videos.")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped weights)")
    parser.add_argument("--data", type=Path, help="dataset folder with val-*.npz shards (held-out voices)")
    parser.add_argument("--videos", type=Path, nargs="+", help="real talking videos or folders of them (optional)")
    parser.add_argument("--tracks", type=Path, nargs="*", default=[],
                        help="folders of cached landmark tracks (tools/track_videos.py) to reuse")
    parser.add_argument("--benchmark", action="store_true", help="time CPU inference")
    parser.add_argument("--audio", type=Path, help="audio file for the feature + network benchmark")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    model = load_audionet(args.weights)
    report: dict = {"weights": str(args.weights or "default")}
    if args.data:
        report["heldout"] = evaluate_heldout(model, args.data)
    if args.videos:
        videos = {}
        paths = [q for p in args.videos for q in (sorted(p.glob("*.mp4")) if p.is_dir() else [p])]
        for path in paths:
            videos[path.name] = evaluate_video(model, path, tracks=args.tracks)
        if videos:
            keys = ("r_audionet", "r_audionet_best", "amplitude", "silent_closed", "r_loudness", "r_loudness_best")
            videos["mean"] = {k: round(float(np.nanmean([np.nan if v[k] is None else v[k] for v in videos.values()])), 3)
                              for k in keys}
        report["videos"] = videos
    if args.benchmark:
        report["benchmark"] = benchmark(model, audio=args.audio)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
