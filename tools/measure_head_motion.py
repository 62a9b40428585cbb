"""Head motion of talking videos, re-detected with MediaPipe: per-frame pose and statistics.

For each video: landmarks on every frame (tracking mode), the rigid pose per
frame (``eval/headmotion.py``), then per window of ``--window`` seconds the
std per axis (yaw, pitch, roll in degrees; nose-tip tx, ty in inter-ocular
distances), the nose tip's std, the mean angular speed, the median frequency of
the angles' motion, the best correlation of angular speed with the loudness
envelope (+-0.5 s) and its lag, and the angular speed just after phrase starts
(speech onsets after >= 0.3 s of quiet) relative to the clip's mean.

    python -m tools.measure_head_motion ../shared/data/real_talking/obama_20s.mp4 ... --json real.json

Works the same on our own outputs, so real and generated numbers compare.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def phrase_starts(loudness_db: np.ndarray, fps: float, quiet_s: float = 0.3) -> np.ndarray:
    """Frames where speech starts after at least ``quiet_s`` of quiet (level 25 dB under the clip's 95th pct)."""
    loud = loudness_db > np.percentile(loudness_db, 95) - 25.0
    quiet_run = 0
    starts = []
    for index, on in enumerate(loud):
        if on and quiet_run >= quiet_s * fps:
            starts.append(index)
        quiet_run = 0 if on else quiet_run + 1
    return np.array(starts, dtype=int)


def onset_speed_ratio(speed: np.ndarray, starts: np.ndarray, fps: float, after_s: float = 0.6) -> float:
    """Mean angular speed in the ``after_s`` after phrase starts over the clip's mean speed."""
    span = int(round(after_s * fps))
    chunks = [speed[s: s + span] for s in starts if s + span <= len(speed)]
    if not chunks or speed.mean() == 0:
        return float("nan")
    return float(np.concatenate(chunks).mean() / speed.mean())


def measure_video(path: Path, window: float) -> tuple[list[dict], np.ndarray, float]:
    from talking_head.audio.decode import decode_audio
    from talking_head.errors import AudioError
    from talking_head.eval.evaluate import track_video
    from talking_head.eval.headmotion import angular_speed, head_statistics, landmark_poses, windows
    from talking_head.eval.metrics import loudness_envelope

    track, _ = track_video(path)
    poses = landmark_poses(track.points)
    try:
        clip = decode_audio(path)
        loud = loudness_envelope(clip.samples, clip.sample_rate, len(poses), track.fps)
    except AudioError:
        loud = None
    rows = []
    for part in windows(len(poses), track.fps, window):
        stats = head_statistics(poses[part], track.fps, None if loud is None else loud[part])
        row = {"video": path.stem, "start_s": round(part.start / track.fps, 2), **stats.row()}
        if loud is not None:
            filled = np.nan_to_num(poses[part], nan=0.0)
            row["onset_speed_ratio"] = onset_speed_ratio(angular_speed(filled, track.fps),
                                                         phrase_starts(loud[part], track.fps), track.fps)
        row["found"] = float(np.isfinite(poses[part, 0]).mean())
        rows.append(row)
    return rows, poses, track.fps


COLUMNS = ("std_yaw", "std_pitch", "std_roll", "std_tx", "std_ty", "nose_std", "speed", "median_frequency",
           "loudness_r", "loudness_lag", "onset_speed_ratio")


def print_table(rows: list[dict]) -> None:
    head = ["video", "start_s", "seconds"] + list(COLUMNS)
    print("  ".join(f"{h[:10]:>10}" for h in head))
    for row in rows:
        print("  ".join(f"{row.get(h, float('nan')):>10.3f}" if not isinstance(row.get(h), str) else f"{row[h][:10]:>10}"
                        for h in head))
    means = {c: float(np.nanmean([r.get(c, np.nan) for r in rows])) for c in COLUMNS}
    print("  ".join([f"{'MEAN':>10}", f"{'':>10}", f"{'':>10}"] + [f"{means[c]:>10.3f}" for c in COLUMNS]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--window", type=float, default=8.0, help="seconds per statistics window")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--poses", type=Path, help="folder for per-video pose tracks (.npy, (T, 5))")
    args = parser.parse_args(argv)
    rows = []
    for video in args.videos:
        video_rows, poses, fps = measure_video(video, args.window)
        rows += video_rows
        if args.poses:
            args.poses.mkdir(parents=True, exist_ok=True)
            np.save(args.poses / f"{video.stem}_{fps:.2f}fps.npy", poses)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
