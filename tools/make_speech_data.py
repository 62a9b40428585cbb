"""Make AudioNet training data: synthetic speech (espeak-ng, festival) or
talking videos, written as sharded frames (``talking_head/train/dataset.py``).

Synthetic speech (needs the Debian packages espeak-ng + libespeak-ng1;
festival + festvox-kallpc16k + festvox-kdlpc16k + festvox-rablpc16k +
festvox-us-slt-hts for ``--festival-share``)::

    python tools/make_speech_data.py synth --out data/speech --train 1000 --val 80 --seed 0 --workers 2

Every utterance is 1-3 random sentences (``synth.make_text``), a random voice
of its split (espeak-ng accent x variant, see ``synth.voice_split``; festival:
``rab_diphone`` is held out), random rate/pitch/range/word gap, speed
perturbation, padding, room, band limit, level and noise
(``synth.Augmentation``). Utterance ``i`` of a split draws everything from
``numpy.random.default_rng([seed, split, i])``, so the data do not depend on
the number of workers.

Talking videos (a folder of videos with their audio; the rig is fitted to
every frame's landmarks)::

    python tools/make_speech_data.py videos --videos DIR --out data/videos --split train
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from talking_head.audio.visemes import audio_driven_names
from talking_head.face.rig import load_rig
from talking_head.train import synth
from talking_head.train.dataset import ShardWriter

FESTIVAL_SPLIT = {"kal_diphone": "train", "ked_diphone": "train", "cmu_us_slt_arctic_hts": "train",
                  "rab_diphone": "val"}


def _voices(split: str) -> list[str]:
    return [synth.espeak_voice(b, v) for b in synth.ESPEAK_BASES for v in synth.ESPEAK_VARIANTS
            if synth.voice_split(b, v) == split]


def _festival_voices(split: str) -> list[str]:
    return [v for v, s in FESTIVAL_SPLIT.items() if s == split]


def _work(job: tuple) -> tuple[int, float]:
    """Write the utterances ``indices`` of one split; returns (frames, seconds of audio)."""
    out, split, indices, seed, fps, tag, festival_share = job
    names = audio_driven_names(load_rig().names)
    engine = synth.EspeakSynth()
    voices = _voices(split)
    fvoices = _festival_voices(split) if festival_share > 0 and synth.festival_available() else []
    frames = 0
    seconds = 0.0
    split_id = {"train": 0, "val": 1}[split]
    with ShardWriter(out, split, names, fps, tag=tag) as writer:
        for i in indices:
            rng = np.random.default_rng([seed, split_id, i])
            text = synth.make_text(rng)
            if fvoices and rng.random() < festival_share:
                voice = fvoices[int(rng.integers(len(fvoices)))]
                utt = synth.festival_say(text, voice, stretch=float(rng.uniform(0.8, 1.3)))
            else:
                voice = voices[int(rng.integers(len(voices)))]
                utt = engine.say(text, voice, synth.random_prosody(rng))
            example = synth.utterance_example(utt, names, fps, rng)
            writer.add(example)
            frames += len(example.targets)
            seconds += len(example.targets) / fps
    return frames, seconds


def run_synth(args: argparse.Namespace) -> int:
    if not synth.espeak_available():
        print("libespeak-ng is not installed: apt-get install espeak-ng libespeak-ng1", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for split, count in (("train", args.train), ("val", args.val)):
        for w in range(args.workers):
            jobs.append((args.out, split, list(range(w, count, args.workers)), args.seed, args.fps, f"w{w}",
                         args.festival_share))
    started = time.perf_counter()
    with get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(_work, jobs)
    frames = sum(r[0] for r in results)
    hours = sum(r[1] for r in results) / 3600
    print(f"wrote {frames} frames ({hours:.2f} h) to {args.out} in {time.perf_counter() - started:.0f} s; "
          f"voices: train {len(_voices('train'))} espeak-ng, val {len(_voices('val'))} espeak-ng")
    return 0


def run_videos(args: argparse.Namespace) -> int:
    from talking_head.train.videos import VIDEO_SUFFIXES, video_example

    names = audio_driven_names(load_rig().names)
    paths = sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not paths:
        print(f"no videos in {args.videos}", file=sys.stderr)
        return 2
    with ShardWriter(args.out, args.split, names, args.fps, tag="video") as writer:
        for path in paths:
            example = video_example(path, names, args.fps)
            writer.add(example)
            print(f"{path.name}: {len(example.targets)} frames")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("synth", help="synthetic speech with known phoneme timing")
    s.add_argument("--out", type=Path, required=True, help="output folder")
    s.add_argument("--train", type=int, default=1000, help="training utterances")
    s.add_argument("--val", type=int, default=80, help="validation utterances (held-out voices)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--fps", type=float, default=25.0)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--festival-share", type=float, default=0.0, help="share of utterances spoken by festival")
    v = commands.add_parser("videos", help="talking videos: rig fitted to every frame")
    v.add_argument("--videos", type=Path, required=True, help="folder of videos with audio")
    v.add_argument("--out", type=Path, required=True)
    v.add_argument("--split", choices=("train", "val"), default="train")
    v.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args(argv)
    return run_synth(args) if args.command == "synth" else run_videos(args)


if __name__ == "__main__":
    sys.exit(main())
