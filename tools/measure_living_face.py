"""Generate talking heads and measure the living-face figures on the output, re-detected with MediaPipe.

For each video: its first frame as the photo and its own audio, generated with
the given ``--head-motion`` (blinks on). Printed per video: head-motion
statistics of the output (as ``tools/measure_head_motion.py`` prints for real
clips), blink depth (the deepest eye opening of each blink over the open eye),
mouth width of the video over the photo's (median and 10th percentile over
frames), and seconds of compute per second of video. ``--photo`` uses one
photo for every audio instead (e.g. a smiling portrait for the width ratio).

    python -m tools.measure_living_face ../shared/data/real_talking/obama_20s.mp4 --head-motion 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np


def measure(pipeline, photo: Path, audio: Path, config, folder: Path, label: str) -> list[dict]:
    from talking_head.audio.decode import decode_audio
    from talking_head.eval.evaluate import track_video
    from talking_head.eval.headmotion import blink_depth, eye_opening, head_statistics, landmark_poses, windows
    from talking_head.eval.lipsync import mouth_width
    from talking_head.eval.metrics import fill_gaps, loudness_envelope
    from talking_head.media import load_image
    from talking_head.motion.blink import blink_track

    out = folder / f"{label}.mp4"
    result = pipeline.generate(str(photo), str(audio), str(out), overwrite=True, config=config)
    compute = sum(v for k, v in result.timings.items() if k != "render")
    track, _ = track_video(out)
    poses = landmark_poses(track.points)
    clip = decode_audio(audio)
    loud = loudness_envelope(clip.samples, clip.sample_rate, len(poses), track.fps)
    photo_points = pipeline.detector.detect(load_image(str(photo))).points[None]
    width = fill_gaps(mouth_width(track.points)) / mouth_width(photo_points)[0]
    depth = np.array([])
    if config.blink:
        closure = blink_track(len(poses), config.fps, config.blink_seed)
        depth = blink_depth(eye_opening(track.points), closure)
    rows = []
    for part in windows(len(poses), track.fps):
        stats = head_statistics(poses[part], track.fps, loud[part])
        rows.append({"video": label, "start_s": round(part.start / track.fps, 2), **stats.row(),
                     "blink_depth_max": float(depth.max()) if len(depth) else float("nan"),
                     "blink_depth_mean": float(depth.mean()) if len(depth) else float("nan"),
                     "blinks": int(len(depth)),
                     "width_ratio_median": float(np.median(width)), "width_ratio_p10": float(np.percentile(width, 10)),
                     "seconds_per_second": compute / max(result.duration, 1e-9)})
    return rows


def main(argv: list[str] | None = None) -> int:
    from talking_head.config import GenerationConfig
    from talking_head.eval.bench import first_frame
    from talking_head.pipeline import TalkingHeadPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path, help="talking videos (or audio files with --photo)")
    parser.add_argument("--photo", type=Path, help="one photo for every audio instead of each video's first frame")
    parser.add_argument("--head-motion", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--keep", type=Path, help="keep the generated videos in this folder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    config = GenerationConfig(size=args.size, head_motion=args.head_motion, seed=args.seed)
    pipeline = TalkingHeadPipeline(config)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for video in args.videos:
            photo = args.photo or first_frame(video, folder / f"{video.stem}_photo.png")
            label = f"{video.stem}_hm{args.head_motion:g}" + (f"_{args.photo.stem}" if args.photo else "")
            video_rows = measure(pipeline, photo, video, config, folder, label)
            for row in video_rows:
                print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
            rows += video_rows
    pipeline.close()
    keys = ("std_yaw", "std_pitch", "std_roll", "nose_std", "speed", "median_frequency", "loudness_r",
            "blink_depth_max", "width_ratio_median", "width_ratio_p10", "seconds_per_second")
    print("MEAN", {k: round(float(np.nanmean([r[k] for r in rows])), 3) for k in keys})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
