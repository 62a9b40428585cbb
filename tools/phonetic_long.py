"""Long audio through the phonetic front end: word placement, speed, memory.

    .venv/bin/python tools/phonetic_long.py --data /work/shared/data --reps 4 --mode align
    .venv/bin/python tools/phonetic_long.py --data /work/shared/data --reps 12 --mode loop

Concatenates the LJSpeech utterances of ``real_speech/ljspeech`` (those with
a transcript in metadata.csv, 0.25 s apart) ``--reps`` times and runs
``phonetic.recognise`` on the whole, with the joined transcript (``align``)
or without (``loop``). Prints the mode and notes, CPU seconds per audio
second and the growth of the process's peak memory during the call. With
``--check`` (align mode) it also aligns every utterance on its own and
reports how far the chunked alignment's word starts are from those.
Run one mode per process: the peak-memory figure is per process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talking_head.audio import phonetic, vad  # noqa: E402
from talking_head.audio.decode import decode_audio  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--mode", choices=("align", "loop"), default="align")
    parser.add_argument("--check", action="store_true", help="compare word starts with per-utterance alignment")
    args = parser.parse_args()
    folder = args.data / "real_speech" / "ljspeech"
    clips, texts = [], []
    for line in (folder / "metadata.csv").read_text().splitlines():
        parts = line.split("|")
        clips.append(decode_audio(folder / (parts[0] + ".wav"), 16000).samples)
        texts.append(parts[-1])
    gap = np.zeros(4000, np.float32)
    audio = np.concatenate([np.concatenate([c, gap]) for c in clips] * args.reps)
    text = " ".join(texts * args.reps)
    seconds = len(audio) / 16000
    phonetic.engines()
    vad.speech_probability(audio[:16000])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    track = phonetic.recognise(audio, text if args.mode == "align" else None)
    cpu = time.process_time() - start
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{args.mode}: {seconds:.0f} s of audio; mode {track.mode}; {len(track.words)} words; notes {list(track.notes)}")
    print(f"CPU {cpu / seconds:.3f} s per audio second; peak memory grew {growth:.0f} MB")
    if args.check and args.mode == "align":
        ref, offset = [], 0.0
        for clip, sentence in zip(clips * args.reps, texts * args.reps):
            ref.extend((w, s + offset) for w, s, _ in phonetic.align(clip, sentence).words)
            offset += (len(clip) + len(gap)) / 16000
        same = [abs(r[1] - g[1]) for r, g in zip(ref, track.words) if r[0] == g[0]]
        print(f"words in place {len(same)}/{len(ref)}; start difference median {np.median(same):.3f} s, "
              f"p95 {np.percentile(same, 95):.3f} s, max {max(same):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
