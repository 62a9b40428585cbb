"""Measure the phonetic front end on real recordings (prints a report).

    .venv/bin/python tools/phonetic_report.py --data /work/shared/data [--grid 40] [--lj 10]

What it prints (every number measured here, on the files named):

1. Forced alignment vs phone loop: agreement per 10 ms frame by phone and
   by viseme class, and the alignment score gap (``phonetic.score_gap``) with
   the right transcript and with another clip's transcript (what the
   fallback rule separates).
2. Speed in x real time (compute seconds per audio second) of alignment,
   phone loop and VAD.
3. Silence detection at 25 fps, VAD (``vad.speech_mask``) vs RMS
   (``train.videos.loudness_silence``), against GRID's reference word
   alignments (``sil`` segments; grid_s1_align), clean and with background
   noise mixed in at 20 and 10 dB SNR: the share of silent frames found
   (closure) and the share of speech frames wrongly called silent.
4. Non-English: the Spanish clip in mfa/ (phone loop coverage, fallback).

No test needs this tool or the data it reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from talking_head.audio import phonetic, vad  # noqa: E402
from talking_head.audio.decode import decode_audio  # noqa: E402
from talking_head.errors import AlignmentError  # noqa: E402

GRID_WORDS = {"sil", "sp"}


def frame_labels(phones, n: int) -> list[str]:
    out = ["SIL"] * n
    for p in phones:
        for i in range(max(0, int(round(p.start * 100))), min(n, int(round(p.end * 100)))):
            out[i] = p.label
    return out


def clips_with_text(data: Path, lj: int) -> list[tuple[str, Path, str]]:
    speech = data / "real_speech"
    out = []
    for wav in sorted((speech / "librivox").glob("*.wav")):
        out.append(("librivox", wav, wav.with_suffix(".txt").read_text().strip()))
    for line in (speech / "mfa" / "transcripts.tsv").read_text().splitlines():
        name, _, text = line.partition("\t")
        if name.startswith("13697_"):  # Spanish: reported separately
            continue
        if (speech / "mfa" / name).is_file():
            out.append(("mfa", speech / "mfa" / name, text))
    for line in (speech / "ljspeech" / "metadata.csv").read_text().splitlines()[:lj]:
        parts = line.split("|")
        out.append(("ljspeech", speech / "ljspeech" / (parts[0] + ".wav"), parts[-1]))
    return out


def wrong_text(clips, k: int) -> str:
    """Another clip's transcript as a wrong one: from a different corpus if
    possible, sharing under 30 % of its words, with the closest word count."""
    corpus, _, text = clips[k]
    words = set(text.lower().split())

    def fits(other):
        o = set(other[2].lower().split())
        return len(words & o) / max(1, len(words | o)) < 0.3

    pool = [c for c in clips if c[0] != corpus and fits(c)] or [c for j, c in enumerate(clips) if j != k and fits(c)]
    return min(pool, key=lambda c: abs(len(c[2].split()) - len(text.split())))[2]


def alignment_section(clips) -> None:
    print("== 1-2. alignment vs phone loop, score gap, speed ==")
    rows = []
    totals = {"align": 0.0, "loop": 0.0, "vad": 0.0, "audio": 0.0}
    for k, (corpus, path, text) in enumerate(clips):
        x = decode_audio(path, 16000).samples
        dur = len(x) / 16000
        t0 = time.perf_counter()
        loop = phonetic._loop_chunk(x, 0.0)
        t1 = time.perf_counter()
        words, _ = phonetic._prepare_words(text)
        try:
            aligned = phonetic._align_chunk(x, words, 0.0)
        except AlignmentError:
            aligned = None
        t2 = time.perf_counter()
        vad.speech_probability(x)
        t3 = time.perf_counter()
        totals["loop"] += t1 - t0
        totals["align"] += t2 - t1
        totals["vad"] += t3 - t2
        totals["audio"] += dur
        speech = vad.speech_intervals(x)
        other = wrong_text(clips, k)
        try:
            wrong = phonetic._gap(phonetic._align_chunk(x, phonetic._prepare_words(other)[0], 0.0), loop, speech, 0.0)
        except AlignmentError:
            wrong = None
        if aligned is None:
            rows.append((corpus, path.name, dur, None, wrong, None, None))
            continue
        n = int(round(dur * 100))
        a, p = frame_labels(aligned.phones, n), frame_labels(loop.phones, n)
        va = phonetic.viseme_labels(aligned.phones, n, 100.0)
        vp = phonetic.viseme_labels(loop.phones, n, 100.0)
        rows.append((corpus, path.name, dur, phonetic._gap(aligned, loop, speech, 0.0), wrong,
                     np.mean([u == v for u, v in zip(a, p)]), np.mean([u == v for u, v in zip(va, vp)])))
    print(f"{'corpus':9s} {'clip':42s} {'s':>5s} {'gap right':>9s} {'gap wrong':>9s} {'phone':>6s} {'viseme':>6s}")
    for corpus, name, dur, gap, wrong, ph, vi in rows:
        fmt = lambda v, f: "fail" if v is None else format(v, f)  # noqa: E731
        print(f"{corpus:9s} {name[:42]:42s} {dur:5.1f} {fmt(gap, '9.1f'):>9s} {fmt(wrong, '9.1f'):>9s} "
              f"{fmt(ph, '6.2f'):>6s} {fmt(vi, '6.2f'):>6s}")
    ok = [r for r in rows if r[3] is not None]
    weights = np.array([r[2] for r in ok])
    print(f"aligned {len(ok)}/{len(rows)} clips with the right transcript; "
          f"agreement (duration-weighted): phone {np.average([r[5] for r in ok], weights=weights):.3f}, "
          f"viseme {np.average([r[6] for r in ok], weights=weights):.3f}")
    gaps = np.array([r[3] for r in ok])
    wrongs = np.array([r[4] for r in rows if r[4] is not None])
    print(f"score gap, right transcript: min {gaps.min():.1f} p5 {np.percentile(gaps, 5):.1f} median "
          f"{np.median(gaps):.1f}; wrong transcript: {len(rows) - len(wrongs)} failed to align, the rest max "
          f"{wrongs.max() if len(wrongs) else float('nan'):.1f} median {np.median(wrongs) if len(wrongs) else float('nan'):.1f}; "
          f"limit -{phonetic.MAX_SCORE_GAP:.0f}")
    print(f"right transcripts rejected by the limit: {int((gaps < -phonetic.MAX_SCORE_GAP).sum())}/{len(gaps)}; "
          f"wrong ones accepted: {int((wrongs >= -phonetic.MAX_SCORE_GAP).sum())}/{len(rows)}")
    audio = totals["audio"]
    print(f"speed over {audio:.0f} s of audio (x real time): alignment {totals['align'] / audio:.3f}, "
          f"phone loop {totals['loop'] / audio:.3f}, VAD {totals['vad'] / audio:.3f}")


def grid_truth(align_path: Path, n: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(silent, speech) frame masks from a GRID .align file; frames within
    40 ms of a word edge are in neither (boundary uncertainty)."""
    centres = (np.arange(n) + 0.5) / fps
    silent = np.ones(n, bool)
    speech = np.zeros(n, bool)
    for line in align_path.read_text().split("\n"):
        parts = line.split()
        if len(parts) != 3 or parts[2] in GRID_WORDS:
            continue
        start, end = int(parts[0]) / 25000, int(parts[1]) / 25000
        silent &= ~((centres > start - 0.04) & (centres < end + 0.04))
        speech |= (centres > start + 0.04) & (centres < end - 0.04)
    return silent, speech


def aligned_truth(x: np.ndarray, text: str, n: int, fps: float):
    """(silent, speech) frame masks from forced alignment (phones capped at
    0.3 s), 40 ms of boundary margin as for GRID; None if alignment fails."""
    try:
        track = phonetic.align(x, text)
    except AlignmentError:
        return None
    centres = (np.arange(n) + 0.5) / fps
    silent = np.ones(n, bool)
    speech = np.zeros(n, bool)
    for p in phonetic.cap_phones(track.phones, 0.3):
        if p.label == "SIL":
            continue
        silent &= ~((centres > p.start - 0.04) & (centres < p.end + 0.04))
        speech |= (centres > p.start + 0.04) & (centres < p.end - 0.04)
    return silent, speech


def silence_section(data: Path, count: int, clips) -> None:
    from talking_head.audio.features import frame_count
    from talking_head.train.synth import _room_noise
    from talking_head.train.videos import loudness_silence

    fps = 25.0
    sets: dict[str, list] = {"grid_s1 (reference alignments)": [], "librivox+mfa+lj (forced alignment)": []}
    aligns = sorted((data / "real_talking" / "grid_s1_align").glob("*.align"))[:count]
    videos = {p.stem: p for p in (data / "real_talking" / "grid_s1").glob("*.*")}
    for path in aligns:
        if path.stem in videos:
            x = decode_audio(videos[path.stem], 16000).samples
            n = frame_count(len(x) / 16000, fps)
            sets["grid_s1 (reference alignments)"].append((x, *grid_truth(path, n, fps)))
    for _, path, text in clips:
        x = decode_audio(path, 16000).samples
        n = frame_count(len(x) / 16000, fps)
        truth = aligned_truth(x, text, n, fps)
        if truth is not None:
            sets["librivox+mfa+lj (forced alignment)"].append((x, *truth))
    rng = np.random.default_rng(0)
    detectors = {
        "vad": lambda y, n: ~vad.speech_mask(y, n, fps),
        "rms-40": lambda y, n: loudness_silence(y, 16000, n, fps),
        "rms-30": lambda y, n: loudness_silence(y, 16000, n, fps, threshold_db=-30.0),
    }
    t_vad, t_audio = 0.0, 0.0
    for title, items in sets.items():
        print(f"\n== 3. silence at 25 fps: {title}, {len(items)} clips; noise mixed in at the SNR given ==")
        print(f"{'detector':8s} {'audio':7s} {'silent frames closed':>21s} {'speech frames closed':>21s}")
        stats: dict[str, list[float]] = {}
        for x, silent, speech in items:
            n = silent.shape[0]
            rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
            for snr in (None, 20.0, 10.0):
                noise = _room_noise(len(x), 16000, rng) * rms * 10 ** (-(snr or 0) / 20)
                y = x if snr is None else np.clip(x + noise, -1, 1).astype(np.float32)
                key = "clean" if snr is None else f"{snr:.0f} dB"
                for name, fn in detectors.items():
                    t = time.perf_counter()
                    mask = fn(y, n)
                    if name == "vad":
                        t_vad += time.perf_counter() - t
                        t_audio += len(y) / 16000
                    if silent.any():
                        stats.setdefault((name, key, "closed"), []).append(mask[silent].mean())
                    if speech.any():
                        stats.setdefault((name, key, "false"), []).append(mask[speech].mean())
        for name in detectors:
            for key in ("clean", "20 dB", "10 dB"):
                print(f"{name:8s} {key:7s} {np.mean(stats[(name, key, 'closed')]):21.3f} "
                      f"{np.mean(stats[(name, key, 'false')]):21.3f}")
    print(f"VAD speed: {t_vad / t_audio:.3f} x real time")
    obama = data / "real_talking" / "obama_20s.mp4"
    if obama.is_file():
        x = decode_audio(obama, 16000).samples
        n = frame_count(len(x) / 16000, fps)
        masks = {name: fn(x, n) for name, fn in detectors.items()}
        print(f"obama_20s (broadcast, no reference): silent share vad {masks['vad'].mean():.3f}, "
              f"rms-40 {masks['rms-40'].mean():.3f}, rms-30 {masks['rms-30'].mean():.3f}; "
              f"vad/rms-30 agree on {np.mean(masks['vad'] == masks['rms-30']):.3f} of frames")


def non_english_section(data: Path) -> None:
    print("\n== 4. non-English speech ==")
    path = data / "real_speech" / "mfa" / "13697_11991_000000.opus"
    text = [l.split("\t", 1)[1] for l in (data / "real_speech" / "mfa" / "transcripts.tsv").read_text().splitlines()
            if l.startswith("13697_")][0]
    x = decode_audio(path, 16000).samples
    dur = len(x) / 16000
    speech = vad.speech_intervals(x)
    track = phonetic.recognise(x, text)
    covered = sum(p.end - p.start for p in track.phones if p.label != "SIL")
    in_speech = sum(e - s for s, e in speech)
    labels = {p.label for p in track.phones if p.label != "SIL"}
    print(f"Spanish LibriVox clip ({dur:.1f} s, VAD speech {in_speech:.1f} s) with its Spanish transcript: "
          f"mode {track.mode}; notes: {list(track.notes)}")
    print(f"  non-SIL phones cover {covered:.1f} s ({covered / max(in_speech, 1e-9):.0%} of VAD speech), "
          f"{len(labels)} distinct phones, {sum(p.label in ('M', 'B', 'P') for p in track.phones)} bilabials")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--grid", type=int, default=40, help="grid_s1 clips for the silence section")
    parser.add_argument("--lj", type=int, default=10, help="LJSpeech utterances")
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: align,silence,nonenglish")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    phonetic.engines()
    vad.speech_probability(np.zeros(16000, np.float32))  # load the model before timing
    if "align" not in skip:
        alignment_section(clips_with_text(args.data, args.lj))
    if "silence" not in skip:
        silence_section(args.data, args.grid, clips_with_text(args.data, args.lj))
    if "nonenglish" not in skip:
        non_english_section(args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
