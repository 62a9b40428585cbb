"""AudioNet training shards from real recordings with transcripts.

Each utterance is force-aligned (``phonetic.align`` with the score check),
its phones are capped and cut to the speech the VAD finds (as the phonetic
driver does), and the viseme model (``visemes.coefficient_track``) turns them
into per-frame targets over the rig's audio-driven shapes; the inputs are the
paper's MFCC windows (``features``). Optional augmented copies (room, band
limit, level, noise: ``synth.augment_audio``) keep the timing. Utterances
that cannot be aligned are skipped and counted.

Transcript formats (``read_transcripts``), detected per line:

- a folder (or nothing): a ``.txt`` or ``.lab`` file beside each audio file
  with the same stem (in the audio folder or, mirrored, in the given folder);
- ``file<TAB>text`` lines (e.g. Montreal Forced Aligner's transcripts.tsv);
- LJSpeech ``metadata.csv``: ``id|text|normalised text`` (the last column is used);
- ``name: text`` lines (Asterisk's core-sounds-en.txt; ``name`` may hold a
  sub-folder, ``digits/1: one``).

A line's key is matched to an audio file by its path relative to the audio
folder without extension, or else by the trailing part of that path when
only one file has it (``digits/1`` finds ``en/digits/1.g722``). Voices (speakers) come from
``--voice-regex`` (first group, applied to that relative path) or default to
the audio file's parent folder name; whole voices go to ``val`` with
``--val-voices`` or ``--val-fraction``.

CLI::

    python -m talking_head.train.speech --audio-dir D --transcripts FILE_OR_DIR --out SHARDS \\
        [--val-voices A,B] [--val-fraction 0.2] [--augment 2] [--voice-regex RE] [--fps 25] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm", ".mp4", ".aac", ".g722")
TEXT_SUFFIXES = (".txt", ".lab")


@dataclass(frozen=True)
class SpeechItem:
    """One recorded utterance and what is said in it.

    Attributes:
        audio: path of the audio file.
        text: transcript.
        voice: speaker id (``speech:<name>``).
    """

    audio: Path
    text: str
    voice: str


@dataclass
class BuildSummary:
    """What ``build_shards`` did (counts per split and per skip reason)."""

    utterances: Counter = field(default_factory=Counter)  # split -> aligned utterances
    frames: Counter = field(default_factory=Counter)  # split -> frames written (with augmented copies)
    seconds: Counter = field(default_factory=Counter)  # split -> seconds of original audio
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    voices: dict = field(default_factory=dict)  # split -> sorted voice ids
    written: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for split in ("train", "val"):
            out.append(f"{split}: {self.utterances[split]} utterances, {self.seconds[split] / 60:.1f} min, "
                       f"{self.frames[split]} frames, {len(self.voices.get(split, ()))} voices")
        skipped = sum(self.skipped.values())
        out.append(f"skipped: {skipped}" + (" (" + ", ".join(f"{k}: {v}" for k, v in self.skipped.most_common()) + ")"
                                            if skipped else ""))
        return out


# ---------------------------------------------------------------------------
# transcripts


def _parse_line(line: str) -> tuple[str, str] | None:
    """(key, text) of one transcript line in any supported format; None for blank lines."""
    line = line.rstrip("\r\n")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    if "\t" in line:
        key, _, text = line.partition("\t")
    elif "|" in line:
        parts = line.split("|")
        key, text = parts[0], parts[-1]
    elif re.match(r"^[^\s:]+:\s", line):
        key, _, text = line.partition(":")
    else:
        return None
    return key.strip(), text.strip()


def _audio_index(audio_dir: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """Audio files by relative path without suffix, and by every trailing
    part of it ("en/digits/1" is also found as "digits/1" and "1")."""
    by_rel: dict[str, Path] = {}
    by_tail: dict[str, list[Path]] = {}
    for path in sorted(audio_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            rel = path.relative_to(audio_dir).with_suffix("").as_posix()
            by_rel.setdefault(rel, path)
            parts = rel.split("/")
            for i in range(1, len(parts)):
                by_tail.setdefault("/".join(parts[i:]), []).append(path)
    return by_rel, by_tail


def _voice(path: Path, audio_dir: Path, voice_regex: str | None) -> str:
    rel = path.relative_to(audio_dir).as_posix()
    if voice_regex:
        match = re.search(voice_regex, rel)
        if match:
            return "speech:" + (match.group(1) if match.groups() else match.group(0))
    parent = path.parent.name if path.parent != audio_dir else audio_dir.name
    return "speech:" + parent


def read_transcripts(audio_dir: str | Path, transcripts: str | Path | None = None,
                     voice_regex: str | None = None) -> tuple[list[SpeechItem], Counter]:
    """Pair audio files with their transcripts.

    Args:
        audio_dir: folder searched recursively for audio files.
        transcripts: a transcript file (TSV, LJSpeech csv, ``name: text``), a
            folder of ``.txt``/``.lab`` files, or None (text files beside the audio).
        voice_regex: speaker id from the relative audio path (first group).
    Returns:
        (items in file order, problems: reason -> count).
    """
    audio_dir = Path(audio_dir)
    by_rel, by_tail = _audio_index(audio_dir)
    problems: Counter = Counter()
    items: list[SpeechItem] = []
    pairs: list[tuple[Path, str]] = []
    source = Path(transcripts) if transcripts is not None else audio_dir
    if source.is_dir():
        for rel, audio in by_rel.items():
            for suffix in TEXT_SUFFIXES:
                text_path = source / (rel + suffix)
                if not text_path.is_file():
                    text_path = audio.with_suffix(suffix)
                if text_path.is_file():
                    pairs.append((audio, text_path.read_text(encoding="utf-8", errors="replace").strip()))
                    break
            else:
                problems["no transcript"] += 1
    elif source.is_file():
        for line in source.read_text(encoding="utf-8", errors="replace").splitlines():
            parsed = _parse_line(line)
            if parsed is None:
                continue
            key, text = parsed
            key_noext = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", key) if Path(key).suffix.lower() in AUDIO_SUFFIXES else key
            audio = by_rel.get(key_noext)
            if audio is None:
                matches = by_tail.get(key_noext, [])
                audio = matches[0] if len(matches) == 1 else None
            if audio is None:
                problems["no audio file"] += 1
                continue
            pairs.append((audio, text))
    else:
        raise FileNotFoundError(f"transcripts not found: {source}")
    for audio, text in pairs:
        items.append(SpeechItem(audio, text, _voice(audio, audio_dir, voice_regex)))
    return items, problems


def split_voices(voices: Iterable[str], val_voices: Sequence[str] = (), val_fraction: float = 0.0,
                 seed: int = 0) -> set[str]:
    """Voices held out for validation: the named ones (bare names match
    ``speech:<name>``) plus a deterministic ``val_fraction`` of the rest
    (at least one when the fraction is positive and two or more voices remain)."""
    voices = sorted(set(voices))
    named = {v for v in voices if v in val_voices or v.removeprefix("speech:") in val_voices}
    rest = [v for v in voices if v not in named]
    if val_fraction > 0 and len(rest) >= 2:
        ranked = sorted(rest, key=lambda v: hashlib.sha256(f"{seed}:{v}".encode()).hexdigest())
        count = min(len(rest) - 1, max(1, int(round(val_fraction * len(rest)))))
        named |= set(ranked[:count])
    return named


# ---------------------------------------------------------------------------
# examples


def load_audio(path: Path, max_seconds: float = 600.0) -> np.ndarray:
    """(N,) float32 16 kHz mono. Raw G.722 (``.g722``, Asterisk's prompts) has
    no header to probe, so it is decoded with the bundled ffmpeg told the
    format; everything else goes through ``decode.decode_audio``.

    Raises:
        InputError: the file cannot be decoded.
    """
    from ..audio.decode import decode_audio
    from ..errors import AudioError

    if path.suffix.lower() != ".g722":
        return decode_audio(path, 16000, max_seconds=max_seconds).samples
    import subprocess

    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "g722", "-i", str(path),
               "-t", f"{max_seconds:.0f}", "-ar", "16000", "-ac", "1", "-f", "f32le", "pipe:1"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or len(result.stdout) < 4 * 3200:
        raise AudioError(f"cannot decode {path.name} as G.722")
    return np.clip(np.frombuffer(result.stdout[: len(result.stdout) // 4 * 4], "<f4"), -1, 1).astype(np.float32)


def utterance_targets(samples: np.ndarray, text: str, names: Sequence[str], fps: float):
    """Aligned viseme targets of one 16 kHz utterance.

    Returns:
        (targets (T, K) float32, silent (T,) bool, phone track).
    Raises:
        AlignmentError: the transcript cannot be aligned or does not fit.
    """
    from ..audio import phonetic, vad
    from ..audio.features import frame_count
    from ..audio.visemes import coefficient_track, silence_mask

    speech = vad.speech_intervals(samples)
    track = phonetic.align(samples, text, speech=speech, verify=True)
    phones = phonetic.restrict_to_speech(phonetic.cap_phones(track.phones), speech)
    segments = phonetic.phones_to_segments(phones)
    n = frame_count(samples.shape[0] / phonetic.SAMPLE_RATE, fps)
    return coefficient_track(segments, n, fps, names), silence_mask(segments, n, fps), track


def build_shards(items: Sequence[SpeechItem], out: str | Path, names: Sequence[str], fps: float = 25.0,
                 val: set[str] = frozenset(), augment: int = 0, seed: int = 0, tag: str = "speech",
                 max_seconds: float = 600.0, log=None) -> BuildSummary:
    """Align every item and write ``train``/``val`` shards (``dataset`` format).

    Args:
        items: utterances (``read_transcripts``).
        out: dataset folder.
        names: coefficient names (the rig's audio-driven shapes).
        val: voices written to ``val`` (never augmented).
        augment: augmented copies per training utterance (besides the clean one).
        log: optional callable(str) for progress lines.
    """
    from ..audio.features import feature_windows, mfcc
    from ..errors import AlignmentError, InputError
    from .dataset import Example, ShardWriter
    from .synth import augment_audio

    rng = np.random.default_rng(seed)
    summary = BuildSummary()
    writers = {s: ShardWriter(out, s, names, fps, tag=tag) for s in ("train", "val")}
    voices: dict[str, set[str]] = {"train": set(), "val": set()}
    try:
        for i, item in enumerate(items):
            split = "val" if item.voice in val else "train"
            try:
                samples = load_audio(item.audio, max_seconds)
            except InputError:
                summary.skipped["audio unreadable"] += 1
                continue
            try:
                targets, silent, _ = utterance_targets(samples, item.text, names, fps)
            except AlignmentError as exc:
                reason = "no English words" if "no English words" in str(exc) else (
                    "transcript does not fit" if "does not" in str(exc) else "alignment failed")
                summary.skipped[reason] += 1
                continue
            n = targets.shape[0]
            copies = [samples] + ([augment_audio(samples, 16000, rng) for _ in range(augment)]
                                       if split == "train" else [])
            for audio in copies:
                windows = feature_windows(mfcc(audio, 16000), n, fps)
                writers[split].add(Example(windows, targets, silent, item.voice))
                summary.frames[split] += n
            summary.utterances[split] += 1
            summary.seconds[split] += samples.shape[0] / 16000
            voices[split].add(item.voice)
            if log is not None and (i + 1) % 25 == 0:
                log(f"{i + 1}/{len(items)} utterances")
    finally:
        for writer in writers.values():
            writer.close()
            summary.written.extend(writer.written)
    summary.voices = {s: sorted(v) for s, v in voices.items()}
    return summary


# ---------------------------------------------------------------------------
# CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m talking_head.train.speech",
        description="Build AudioNet training shards from audio files and their transcripts (forced alignment).",
    )
    parser.add_argument("--audio-dir", required=True, type=Path, help="folder of audio files (searched recursively)")
    parser.add_argument("--transcripts", type=Path, default=None,
                        help="transcript file (file<TAB>text, LJSpeech id|text|normalised, or 'name: text' lines) "
                             "or folder of .txt/.lab files; default: .txt/.lab beside each audio file")
    parser.add_argument("--out", required=True, type=Path, help="output dataset folder")
    parser.add_argument("--voice-regex", default=None,
                        help="speaker id from the audio path relative to --audio-dir (first group), "
                             "e.g. '^\\d_([a-z]+)_' for free-spoken-digit files; default: the parent folder name")
    parser.add_argument("--val-voices", default="", help="comma-separated voice ids held out into val")
    parser.add_argument("--val-fraction", type=float, default=0.0, help="fraction of the other voices held out into val")
    parser.add_argument("--augment", type=int, default=0, help="augmented copies per training utterance")
    parser.add_argument("--fps", type=float, default=25.0, help="video frame rate of the targets")
    parser.add_argument("--seed", type=int, default=0, help="random seed (augmentation, voice split)")
    parser.add_argument("--tag", default="speech", help="shard name tag (keeps parallel writers apart)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N utterances (0: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..audio.visemes import audio_driven_names
    from ..face.rig import load_rig

    if not args.audio_dir.is_dir():
        print(f"error: audio folder not found: {args.audio_dir}", file=sys.stderr)
        return 2
    try:
        items, problems = read_transcripts(args.audio_dir, args.transcripts, args.voice_regex)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        items = items[: args.limit]
    val = split_voices((i.voice for i in items), [v for v in args.val_voices.split(",") if v],
                       args.val_fraction, args.seed)
    names = audio_driven_names(load_rig().names)
    print(f"{len(items)} utterances, {len({i.voice for i in items})} voices; val voices: {sorted(val) or 'none'}"
          + ("; " + ", ".join(f"{k}: {v}" for k, v in problems.items()) if problems else ""))
    start = time.perf_counter()
    summary = build_shards(items, args.out, names, args.fps, val, args.augment, args.seed, args.tag, log=print)
    for line in summary.lines():
        print(line)
    print(f"{time.perf_counter() - start:.0f} s; shards in {args.out}")
    return 0 if sum(summary.utterances.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
