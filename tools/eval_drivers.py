"""Lip sync per driver on real talking videos (first frame as the photo, their own audio).

For each video and driver: generate (blinks off and, unless ``--head-motion`` is
given, the head still, so only speech moves the face), re-detect the mouth on the output with MediaPipe, and compare it with
the real video's mouth: r at lag 0 and best within ±2 frames, amplitude ratio
(std of opening, ours over real), share of silent frames (voice activity on the
real audio) with our mouth closed, mouth-width variation, and seconds of
compute per second of video. Transcripts: ``--transcripts FILE`` (TSV
``video-stem<TAB>text``); GRID clips (``grid_*``) get theirs from the file name.

    python -m tools.eval_drivers --videos ../shared/data/real_talking/talk_a.mp4 ... --json drivers.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from talking_head.config import DRIVERS, GenerationConfig

GRID_WORDS = (
    {"b": "bin", "l": "lay", "p": "place", "s": "set"},
    {"b": "blue", "g": "green", "r": "red", "w": "white"},
    {"a": "at", "b": "by", "i": "in", "w": "with"},
    None,  # the letter itself
    {"z": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
     "8": "eight", "9": "nine"},
    {"a": "again", "n": "now", "p": "please", "s": "soon"},
)


def grid_transcript(stem: str) -> str | None:
    """The sentence of a GRID clip from its code (``grid_brbk7n`` or ``brbk7n`` -> "bin red by k seven now");
    None for other names."""
    code = stem.split("_")[-1]
    if len(code) != 6:
        return None
    try:
        return " ".join(code[i] if table is None else table[code[i]] for i, table in enumerate(GRID_WORDS))
    except KeyError:
        return None


def real_series(video: Path, frames: int, fps: float):
    """The real video's mouth opening and width, resampled to ``frames`` at ``fps``, and its speech mask."""
    from talking_head.audio.decode import decode_audio
    from talking_head.eval.evaluate import resample_series, track_video
    from talking_head.eval.lipsync import mouth_width
    from talking_head.eval.metrics import fill_gaps, mouth_opening

    from talking_head.eval.headmotion import unposed_opening

    track, _ = track_video(video)
    opening = resample_series(fill_gaps(mouth_opening(track.points)), track.fps, frames, fps)
    unposed = resample_series(fill_gaps(unposed_opening(track.points)), track.fps, frames, fps)
    width = resample_series(fill_gaps(mouth_width(track.points)), track.fps, frames, fps)
    clip = decode_audio(video)
    try:
        from talking_head.audio.vad import speech_mask

        speech = speech_mask(clip.samples, frames, fps)
    except ImportError:
        speech = None
    return opening, width, speech, unposed


def measure(pipeline, video: Path, drivers: list[str], base: GenerationConfig, transcript: str | None,
            folder: Path) -> list[dict]:
    from talking_head.eval.bench import first_frame
    from talking_head.eval.evaluate import track_video
    from talking_head.eval.lipsync import lip_sync, mouth_width
    from talking_head.eval.metrics import fill_gaps, mouth_opening

    photo = first_frame(video, folder / f"{video.stem}_photo.png")
    rows, real = [], None
    for driver in drivers:
        out = folder / f"{video.stem}_{driver}.mp4"
        start = time.perf_counter()
        result = pipeline.generate(str(photo), str(video), str(out), overwrite=True,
                                   config=replace(base, driver=driver), transcript=transcript)
        seconds = time.perf_counter() - start
        if real is None:
            real = real_series(video, result.frames, base.fps)
        track, _ = track_video(out)
        opening, width = fill_gaps(mouth_opening(track.points)), fill_gaps(mouth_width(track.points))
        figures = lip_sync(opening, real[0], width, real[1], real[2])
        # The same with each frame's head pose removed first (both videos): the mouth alone.
        from talking_head.eval.headmotion import unposed_opening
        from talking_head.eval.metrics import best_lag_correlation, pearson

        unposed = fill_gaps(unposed_opening(track.points))
        r_unposed, best_unposed = pearson(unposed, real[3]), best_lag_correlation(unposed, real[3])[0]
        compute = sum(v for k, v in result.timings.items() if k != "render")
        rows.append({"video": video.stem, "driver": driver, "transcript": transcript is not None,
                     "notes": list(result.notes), "seconds_per_second": compute / max(result.duration, 1e-9),
                     "wall_seconds": seconds, **figures.as_dict(), "r_unposed": r_unposed,
                     "best_r_unposed": best_unposed})
        print(f"{video.stem:>14} {driver:<9} r={figures.r:+.3f} best={figures.best_r:+.3f} ({figures.best_lag:+d}) "
              f"amp={figures.amplitude_ratio:.2f} closed={figures.silent_closed:.2f}/{figures.silent_frames} "
              f"width_std={figures.width_std:.3f}/{figures.real_width_std:.3f} "
              f"unposed r={r_unposed:+.3f} best={best_unposed:+.3f} "
              f"{compute / max(result.duration, 1e-9):.2f} s/s", flush=True)
    return rows


def summary(rows: list[dict]) -> str:
    """A Markdown table: per driver, the mean over videos of every figure."""
    keys = ("r", "best_r", "r_unposed", "best_r_unposed", "amplitude_ratio", "silent_closed", "width_std", "real_width_std", "seconds_per_second")
    lines = ["| driver | videos | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for driver in dict.fromkeys(r["driver"] for r in rows):
        chosen = [r for r in rows if r["driver"] == driver]
        means = [np.nanmean([np.nan if r[k] is None else r[k] for r in chosen]) for k in keys]
        lines.append(f"| {driver} | {len(chosen)} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from talking_head.pipeline import TalkingHeadPipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", nargs="+", type=Path, required=True, help="real talking videos with audio")
    speech_drivers = [d for d in DRIVERS if d != "curves"]  # curves replay a file, not speech
    parser.add_argument("--drivers", nargs="+", default=speech_drivers, choices=speech_drivers)
    parser.add_argument("--transcripts", type=Path, help="TSV: video stem <TAB> what is said")
    parser.add_argument("--no-transcripts", action="store_true", help="ignore every transcript (phone loop)")
    parser.add_argument("--size", type=int, default=256, help="output size (the mouth is measured on it)")
    parser.add_argument("--json", type=Path, help="write every row here")
    parser.add_argument("--head-motion", type=float, default=0.0,
                        help="head motion of the generated videos (default 0: only the mouth moves)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the head motion")
    args = parser.parse_args(argv)
    texts = {}
    if args.transcripts:
        for line in args.transcripts.read_text().splitlines():
            if "\t" in line:
                stem, text = line.split("\t", 1)
                texts[stem] = text
    base = GenerationConfig(size=args.size, blink=False, head_motion=args.head_motion, seed=args.seed)
    pipeline = TalkingHeadPipeline(base)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in args.videos:
            transcript = None if args.no_transcripts else texts.get(video.stem, grid_transcript(video.stem))
            rows += measure(pipeline, video, args.drivers, base, transcript, Path(tmp))
    pipeline.close()
    print()
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
