"""Timed phones from speech on a real acoustic model (pocketsphinx, en-us).

Two ways to get phones (ARPAbet, 10 ms resolution):

- ``align(samples, transcript)``: forced alignment of a known text. The words
  are looked up in the bundled CMU dictionary (words it lacks get a guessed
  pronunciation, see ``pronounce``), then the decoder finds the best timing
  of that phone sequence (``set_align_text``, decode, ``set_alignment``,
  decode again: words -> phones with start and duration in frames). Raises
  ``AlignmentError`` when it cannot.
- ``phone_loop(samples)``: phone recognition without text, over the bundled
  phone bigram (``en-us-phone.lm.bin``, ``lw`` 2.0, ``pip`` 0.3, beams 1e-20:
  the settings in ../shared/data/README.md). Any language goes in; the phones
  are English ones.

``recognise(samples, transcript)`` is what a driver calls: it aligns when a
transcript is given and otherwise, or when alignment fails or scores badly,
runs the phone loop and says why in a note. It then caps every phone at
``MAX_PHONE`` seconds (forced alignment lets a final vowel run half a second
into silence) and, with ``vad=True``, turns what the voice-activity detector
calls silence into ``SIL``.

Alignment score rule (``score_gap``): the phone loop's path is the best
unconstrained phone sequence, so its acoustic log score per 10 ms frame is an
upper reference for any alignment of the same audio. Measured on real clips
(tools/phonetic_report.py), the right transcript scores 0-7 units per frame
below the phone loop and another clip's transcript 40-60 below;
``MAX_SCORE_GAP`` sits between.

Long audio: both searches run on chunks of at most ``CHUNK_SECONDS`` cut in
pauses found by the VAD (or at the quietest 10 ms when someone speaks without
a pause), so memory stays flat in the audio length. Alignment of audio longer
than one chunk gives each chunk its share of the words: it starts from the
share of speech time in the chunk and tries neighbouring word counts, keeping
the best-scoring one; a chunk whose best alignment still scores badly falls
back to the phone loop (with a note), and the next chunk continues from the
words the previous one took.

Decoders load once per process (``_Engines``) and one lock serialises their
use: pocketsphinx decoders are not thread-safe.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import AlignmentError
from .visemes import Segment

SAMPLE_RATE = 16000
FRAME = 0.01  # s, pocketsphinx frame (100 frames per second)
MAX_PHONE = 0.25  # s, longest phone kept; the rest becomes SIL
MAX_SCORE_GAP = 25.0  # alignment's score per frame may be this far below the phone loop's
CHUNK_SECONDS = 20.0  # longest stretch decoded at once
MIN_CHUNK_SECONDS = 5.0  # a cut is not made closer than this to the chunk start
SILENCE = "SIL"

# ARPAbet (pocketsphinx's en-us phones, no stress) -> IPA as visemes.py reads it.
# Diphthongs and affricates are two symbols, so visemes.expand_segments splits them.
ARPABET_IPA: dict[str, str] = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "g", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ", SILENCE: "",
}


@dataclass(frozen=True)
class Phone:
    """One phone on the time axis.

    Attributes:
        label: ARPAbet without stress digits ("AA", "M"); "SIL" for silence,
            breath and noise.
        start: seconds from the start of the audio.
        end: seconds, > start.
    """

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class PhoneTrack:
    """Timed phones of a clip.

    Attributes:
        phones: in time order, not overlapping (gaps are silence).
        mode: "alignment" (every phone from the transcript), "phone_loop"
            (recognised without text) or "mixed" (long audio where some
            chunks fell back to the phone loop).
        notes: what happened, one line each, for the user.
        words: (word, start, end) of aligned words (empty for the phone loop).
    """

    phones: tuple[Phone, ...]
    mode: str
    notes: tuple[str, ...]
    words: tuple[tuple[str, float, float], ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.phones)


# ---------------------------------------------------------------------------
# decoders


class _Engines:
    """The two pocketsphinx decoders, created on first use, and their lock."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder, get_model_path

        # Errors surface as exceptions; the C library's log would only print.
        self.align = Decoder(lm=None, bestpath=False, loglevel="FATAL")
        self.loop = Decoder(
            allphone=get_model_path("en-us/en-us-phone.lm.bin"), lm=None, lw=2.0, pip=0.3,
            beam=1e-20, pbeam=1e-20, loglevel="FATAL",
        )
        self.lock = threading.RLock()
        self.guessed: dict[str, str] = {}


_engines: _Engines | None = None
_engines_lock = threading.Lock()


def engines() -> _Engines:
    """The process-wide decoders (loaded once, ~0.3 s)."""
    global _engines
    with _engines_lock:
        if _engines is None:
            try:
                _engines = _Engines()
            except ImportError as exc:
                raise AlignmentError("pocketsphinx is not installed (pip install pocketsphinx==5.1.1 --no-deps)") from exc
        return _engines


def _pcm(samples: np.ndarray) -> bytes:
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _label(name: str) -> str:
    name = re.sub(r"\d", "", name).upper()
    return name if name in ARPABET_IPA else SILENCE


# ---------------------------------------------------------------------------
# pronunciations


_LTS_MULTI = (
    ("tch", "CH"), ("sch", "S K"), ("igh", "AY"), ("ough", "AO"), ("augh", "AO"), ("eigh", "EY"),
    ("th", "TH"), ("sh", "SH"), ("ch", "CH"), ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"),
    ("qu", "K W"), ("gh", ""), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"),
    ("oi", "OY"), ("oy", "OY"), ("ai", "EY"), ("ay", "EY"), ("au", "AO"), ("aw", "AO"), ("ie", "IY"),
    ("ei", "EY"), ("ey", "IY"), ("ue", "UW"), ("ew", "UW"), ("oa", "OW"), ("er", "ER"), ("ir", "ER"),
    ("ur", "ER"), ("ar", "AA R"), ("or", "AO R"),
)
_LTS_ONE = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH", "j": "JH",
    "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R", "s": "S", "t": "T",
    "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "IY", "z": "Z",
}


def letters_to_sounds(word: str) -> str:
    """A rough English pronunciation from spelling (ARPAbet, space-separated):
    common digraphs, soft c/g, silent final e, doubled consonants once.
    Good enough for mouth shapes, not for speech recognition. "" if the word
    has no Latin letters."""
    text = "".join(ch for ch in unicodedata.normalize("NFD", word.lower()) if "a" <= ch <= "z")
    if text.startswith(("kn", "wr", "gn")):
        text = text[1:]
    if len(text) > 2 and text.endswith("e") and text[-2] not in "aeiouy":
        text = text[:-1]
    phones: list[str] = []
    i = 0
    while i < len(text):
        for graph, sound in _LTS_MULTI:
            if text.startswith(graph, i):
                phones.extend(sound.split())
                i += len(graph)
                break
        else:
            ch = text[i]
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if ch == nxt and ch not in "aeiou":
                i += 1
                continue
            if ch == "c" and nxt in ("e", "i", "y"):
                phones.append("S")
            elif ch == "g" and nxt in ("e", "i", "y"):
                phones.append("JH")
            elif ch == "y" and i == 0:
                phones.append("Y")
            else:
                phones.extend(_LTS_ONE[ch].split())
            i += 1
    return " ".join(phones)


def _split_known(word: str, lookup) -> list[str] | None:
    """Cover a word with as few dictionary words as possible ("wentworth" ->
    "went worth"); pieces of one letter only for "a" and "i". None if impossible."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = word[start:end]
            if best[start] is None or (len(piece) == 1 and piece not in ("a", "i")):
                continue
            if lookup(piece) and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                best[end] = best[start] + [piece]
    found = best[n]
    return found if found and len(found) <= max(2, n // 4) else None


def pronounce(word: str) -> tuple[str, str]:
    """Pronunciation of one normalised word: (ARPAbet phones, how: "dictionary",
    "compound" or "spelling"); phones are "" for a word without Latin letters."""
    eng = engines()
    with eng.lock:
        known = eng.align.lookup_word(word)
        if known:
            return known, "dictionary"
        if word in eng.guessed:
            return eng.guessed[word], "spelling"
        parts = _split_known(word, eng.align.lookup_word)
        if parts:
            return " ".join(eng.align.lookup_word(p) for p in parts), "compound"
        return letters_to_sounds(word), "spelling"


def _prepare_words(transcript: str) -> tuple[list[str], list[str]]:
    """Normalised words the decoder can align (unknown ones added to its
    dictionary) and notes on what was guessed or dropped."""
    from .transcript import normalise

    eng = engines()
    words: list[str] = []
    guessed: list[str] = []
    dropped: list[str] = []
    for word in normalise(transcript).split():
        phones, how = pronounce(word)
        if not phones:
            dropped.append(word)
            continue
        if how != "dictionary":
            with eng.lock:
                if word not in eng.guessed:
                    eng.align.add_word(word, phones, True)
                    eng.guessed[word] = phones
            guessed.append(word)
        words.append(word)
    notes = []
    if guessed:
        notes.append(f"{len(guessed)} word(s) not in the dictionary, pronounced from spelling: "
                     + ", ".join(sorted(set(guessed))[:8]) + (" ..." if len(set(guessed)) > 8 else ""))
    if dropped:
        notes.append(f"{len(dropped)} word(s) without Latin letters skipped (the model is English)")
    return words, notes


# ---------------------------------------------------------------------------
# decoding one chunk


@dataclass(frozen=True)
class _Decoded:
    phones: list[Phone]
    words: list[tuple[str, float, float]]
    score: float  # acoustic log score per frame (pocketsphinx's scaled log units)
    frames: int


def _loop_chunk(samples: np.ndarray, offset: float) -> _Decoded:
    eng = engines()
    with eng.lock:
        dec = eng.loop
        dec.start_utt()
        dec.process_raw(_pcm(samples), full_utt=True)
        dec.end_utt()
        logmath = dec.get_logmath()
        frames = max(1, dec.n_frames())
        phones, total = [], 0.0
        for seg in dec.seg():
            total += logmath.log(max(seg.ascore, 1e-300))
            start, end = offset + seg.start_frame * FRAME, offset + (seg.end_frame + 1) * FRAME
            if end > start:
                phones.append(Phone(_label(seg.word), start, end))
    return _Decoded(phones, [], total / frames, frames)


def _align_chunk(samples: np.ndarray, words: Sequence[str], offset: float) -> _Decoded:
    if not words:
        raise AlignmentError("nothing to align")
    pcm = _pcm(samples)
    eng = engines()
    with eng.lock:
        dec = eng.align
        try:
            dec.set_align_text(" ".join(words))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            dec.set_alignment()
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            alignment = dec.get_alignment()
            frames = max(1, dec.n_frames())
            phones, out_words, total = [], [], 0.0
            for word in alignment:
                total += word.score
                name = re.sub(r"\(\d+\)$", "", word.name)
                if not (name.startswith(("<", "[", "+"))):
                    out_words.append((name, offset + word.start * FRAME, offset + (word.start + word.duration) * FRAME))
                for ph in word:
                    if ph.duration > 0:
                        start = offset + ph.start * FRAME
                        phones.append(Phone(_label(ph.name), start, start + ph.duration * FRAME))
        except AlignmentError:
            raise
        except Exception as exc:  # pocketsphinx raises RuntimeError/ValueError with its own text
            raise AlignmentError(f"the transcript could not be aligned to the audio ({exc})") from None
    if len(out_words) < len(words):
        raise AlignmentError(f"only {len(out_words)} of {len(words)} words were aligned")
    return _Decoded(phones, out_words, total / frames, frames)


# ---------------------------------------------------------------------------
# chunking


def chunk_bounds(
    samples: np.ndarray,
    speech: Sequence[tuple[float, float]] | None = None,
    max_seconds: float = CHUNK_SECONDS,
    min_seconds: float = MIN_CHUNK_SECONDS,
) -> list[tuple[int, int]]:
    """Split a clip into chunks of at most ``max_seconds`` at pauses.

    Args:
        samples: (N,) 16 kHz audio.
        speech: speech intervals in seconds (``vad.speech_intervals``); cuts go
            in the middle of the longest pause that fits, else at the quietest
            10 ms in the last third of the chunk.
    Returns:
        [(first sample, end sample)], covering [0, N) in order.
    """
    n = int(samples.shape[0])
    limit, least = int(max_seconds * SAMPLE_RATE), int(min_seconds * SAMPLE_RATE)
    if n <= limit:
        return [(0, n)]
    pauses: list[tuple[int, int]] = []  # (length, mid sample)
    if speech:
        edges = [0.0] + [t for iv in speech for t in iv] + [n / SAMPLE_RATE]
        for lo, hi in zip(edges[0::2], edges[1::2]):
            if hi > lo:
                pauses.append((int((hi - lo) * SAMPLE_RATE), int((lo + hi) / 2 * SAMPLE_RATE)))
    out: list[tuple[int, int]] = []
    start = 0
    while n - start > limit:
        fits = [(length, mid) for length, mid in pauses if start + least <= mid <= start + limit]
        if fits:
            cut = max(fits)[1]
        else:
            lo, hi = start + 2 * limit // 3, start + limit
            hop = int(FRAME * SAMPLE_RATE)
            frames = samples[lo:hi][: (hi - lo) // hop * hop].astype(np.float64).reshape(-1, hop)
            cut = lo + int(np.argmin((frames**2).mean(axis=1))) * hop + hop // 2
        out.append((start, cut))
        start = cut
    out.append((start, n))
    return out


# ---------------------------------------------------------------------------
# public API


def _check(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {x.shape}")
    return x


def phone_loop(samples: np.ndarray, speech: Sequence[tuple[float, float]] | None = None) -> PhoneTrack:
    """Phones recognised without a transcript.

    Args:
        samples: (N,) float32 mono 16 kHz in [-1, 1].
        speech: optional speech intervals (s) used to cut long audio at pauses.
    Returns:
        ``PhoneTrack`` with mode "phone_loop".
    """
    x = _check(samples)
    if x.shape[0] < int(0.05 * SAMPLE_RATE):
        return PhoneTrack((), "phone_loop", ())
    if speech is None and x.shape[0] > CHUNK_SECONDS * SAMPLE_RATE:
        from . import vad

        speech = vad.speech_intervals(x)
    phones: list[Phone] = []
    for lo, hi in chunk_bounds(x, speech):
        phones.extend(_loop_chunk(x[lo:hi], lo / SAMPLE_RATE).phones)
    return PhoneTrack(tuple(_merge_silence(phones)), "phone_loop", ())


def align(
    samples: np.ndarray,
    transcript: str,
    speech: Sequence[tuple[float, float]] | None = None,
    verify: bool = False,
) -> PhoneTrack:
    """Forced alignment of a transcript.

    Args:
        samples: (N,) float32 mono 16 kHz in [-1, 1].
        transcript: what is said (any text; normalised here).
        speech: optional speech intervals (s) used to cut long audio at pauses.
        verify: also reject an alignment that scores more than
            ``MAX_SCORE_GAP`` per frame below the phone loop (costs one phone
            loop pass; long audio is always checked chunk by chunk).
    Returns:
        ``PhoneTrack`` with mode "alignment" and the words' times.
    Raises:
        AlignmentError: no alignable words, the decoder found no alignment,
            or (with ``verify``) the transcript does not fit the audio.
    """
    x = _check(samples)
    words, notes = _prepare_words(transcript)
    if not words:
        raise AlignmentError("the transcript has no English words to align")
    if x.shape[0] < int(0.1 * SAMPLE_RATE):
        raise AlignmentError("the audio is too short to align")
    if x.shape[0] <= CHUNK_SECONDS * SAMPLE_RATE:
        decoded = _align_chunk(x, words, 0.0)
        if verify:
            if speech is None:
                from . import vad

                speech = vad.speech_intervals(x)
            _check_gap(score_gap(x, decoded, speech))
        return PhoneTrack(tuple(_merge_silence(decoded.phones)), "alignment", tuple(notes), tuple(decoded.words))
    track = _align_long(x, words, speech, strict=True)
    return PhoneTrack(track.phones, track.mode, tuple(notes) + track.notes, track.words)


def score_gap(samples: np.ndarray, aligned: _Decoded, speech: Sequence[tuple[float, float]] | None = None) -> float:
    """How much worse the alignment scores than free phone recognition on the
    same audio, per 10 ms frame of speech (~0 for a fitting transcript; the
    more negative, the worse it fits).

    Args:
        samples: the audio that was aligned (starting at 0 s).
        aligned: its alignment.
        speech: speech intervals (s); None counts every frame as speech.
    """
    return _gap(aligned, _loop_chunk(samples, 0.0), speech, 0.0)


def _gap(aligned: _Decoded, loop: _Decoded, speech, offset: float) -> float:
    """Score difference per speech frame. Both searches put SIL in pauses at
    about the same cost, so dividing by all frames would dilute the
    difference in clips with long silences."""
    frames = aligned.frames
    voiced = frames if speech is None else _overlap(speech, offset, offset + frames * FRAME) / FRAME
    return (aligned.score - loop.score) * frames / max(voiced, 0.1 * frames, 1.0)


def _check_gap(gap: float) -> None:
    if gap < -MAX_SCORE_GAP:
        raise AlignmentError(f"the transcript does not match the audio (score {-gap:.0f} per frame below "
                             f"free recognition; limit {MAX_SCORE_GAP:.0f})")


def _align_long(x: np.ndarray, words: list[str], speech, strict: bool) -> PhoneTrack:
    """Chunked alignment (see the module docstring). With ``strict`` a chunk
    that cannot be aligned raises; otherwise it falls back to the phone loop."""
    if speech is None:
        from . import vad

        speech = vad.speech_intervals(x)
    bounds = chunk_bounds(x, speech)
    speech_time = np.array([_overlap(speech, lo / SAMPLE_RATE, hi / SAMPLE_RATE) for lo, hi in bounds])
    speech_time = np.maximum(speech_time, 1e-3)
    phones: list[Phone] = []
    out_words: list[tuple[str, float, float]] = []
    fallbacks = 0
    taken = 0
    for c, (lo, hi) in enumerate(bounds):
        chunk = x[lo:hi]
        offset = lo / SAMPLE_RATE
        left = len(words) - taken
        share = speech_time[c] / speech_time[c:].sum()
        guess = left if c == len(bounds) - 1 else int(round(left * share))
        counts = [guess]
        loop = _loop_chunk(chunk, offset)
        best: tuple[float, int, _Decoded] | None = None
        tried: set[int] = set()
        # Hill-climb over the word count: keep stepping while the score improves.
        while counts:
            k = counts.pop(0)
            if k in tried or not 1 <= k <= left:
                continue
            tried.add(k)
            try:
                dec = _align_chunk(chunk, words[taken : taken + k], offset)
            except AlignmentError:
                continue
            gap = _gap(dec, loop, speech, offset)
            if best is None or gap > best[0]:
                best = (gap, k, dec)
                if c < len(bounds) - 1:
                    counts.extend([k - 1, k + 1, k - 2, k + 2])
        if best is None or best[0] < -MAX_SCORE_GAP:
            if strict:
                raise AlignmentError(f"the transcript does not fit the audio at {offset:.1f} s")
            fallbacks += 1
            phones.extend(loop.phones)
            taken += best[1] if best is not None else min(left, guess)
            continue
        phones.extend(best[2].phones)
        out_words.extend(best[2].words)
        taken += best[1]
    notes = [f"long audio aligned in {len(bounds)} chunks of at most {CHUNK_SECONDS:.0f} s"]
    mode = "alignment"
    if fallbacks:
        mode = "mixed"
        notes.append(f"{fallbacks} of {len(bounds)} chunks did not match the transcript: "
                     "phones recognised from the audio there")
    return PhoneTrack(tuple(_merge_silence(phones)), mode, tuple(notes), tuple(out_words))


def _overlap(speech: Sequence[tuple[float, float]], lo: float, hi: float) -> float:
    return float(sum(max(0.0, min(hi, e) - max(lo, s)) for s, e in speech))


def recognise(
    samples: np.ndarray,
    transcript: str | None = None,
    vad: bool = True,
    max_phone: float = MAX_PHONE,
) -> PhoneTrack:
    """Phones for a driver: alignment when a transcript fits, else the phone loop.

    Never raises for a bad transcript: it falls back to the phone loop with a
    note. Then caps phones at ``max_phone`` s and, with ``vad``, marks what the
    voice-activity detector calls silence as ``SIL``.

    Args:
        samples: (N,) float32 mono 16 kHz in [-1, 1].
        transcript: what is said, or None.
        vad: use silero-vad for pauses (and to cut long audio).
        max_phone: longest phone in seconds; the remainder becomes SIL.
    Returns:
        ``PhoneTrack`` (mode "alignment", "phone_loop" or "mixed").
    """
    x = _check(samples)
    speech = None
    if vad:
        from . import vad as vad_module

        speech = vad_module.speech_intervals(x)
    track = _recognise(x, transcript, speech)
    phones = cap_phones(track.phones, max_phone)
    if speech is not None:
        phones = restrict_to_speech(phones, speech)
    return PhoneTrack(tuple(phones), track.mode, track.notes, track.words)


def _recognise(x: np.ndarray, transcript: str | None, speech) -> PhoneTrack:
    if transcript is None or not transcript.strip():
        return phone_loop(x, speech)
    try:
        words, notes = _prepare_words(transcript)
        if not words:
            raise AlignmentError("the transcript has no English words to align")
        if x.shape[0] > CHUNK_SECONDS * SAMPLE_RATE:
            track = _align_long(x, words, speech, strict=False)
            return PhoneTrack(track.phones, track.mode, tuple(notes) + track.notes, track.words)
        decoded = _align_chunk(x, words, 0.0)
        _check_gap(score_gap(x, decoded, speech))
        return PhoneTrack(tuple(_merge_silence(decoded.phones)), "alignment", tuple(notes), tuple(decoded.words))
    except AlignmentError as exc:
        loop = phone_loop(x, speech)
        return PhoneTrack(loop.phones, "phone_loop", (f"{exc}: phones recognised from the audio alone",))


# ---------------------------------------------------------------------------
# post-processing and visemes


def _merge_silence(phones: Sequence[Phone]) -> list[Phone]:
    """Sort, and join neighbouring SIL phones."""
    out: list[Phone] = []
    for ph in sorted(phones, key=lambda p: p.start):
        if out and ph.label == SILENCE and out[-1].label == SILENCE and ph.start <= out[-1].end + 1e-6:
            out[-1] = Phone(SILENCE, out[-1].start, max(out[-1].end, ph.end))
        else:
            out.append(ph)
    return out


def cap_phones(phones: Sequence[Phone], max_phone: float = MAX_PHONE) -> list[Phone]:
    """Phones longer than ``max_phone`` keep their first ``max_phone`` s; the
    rest becomes SIL (a held vowel at the end of a phrase is usually silence
    that alignment gave to the vowel)."""
    out: list[Phone] = []
    for ph in phones:
        if ph.label != SILENCE and ph.end - ph.start > max_phone:
            out.append(Phone(ph.label, ph.start, ph.start + max_phone))
            out.append(Phone(SILENCE, ph.start + max_phone, ph.end))
        else:
            out.append(ph)
    return _merge_silence(out)


def restrict_to_speech(phones: Sequence[Phone], speech: Sequence[tuple[float, float]]) -> list[Phone]:
    """Cut phones to the speech intervals: what lies outside them becomes SIL."""
    out: list[Phone] = []
    for ph in phones:
        if ph.label == SILENCE:
            out.append(ph)
            continue
        cursor = ph.start
        for s, e in speech:
            lo, hi = max(ph.start, s), min(ph.end, e)
            if hi <= lo:
                continue
            if lo > cursor:
                out.append(Phone(SILENCE, cursor, lo))
            out.append(Phone(ph.label, lo, hi))
            cursor = hi
        if cursor < ph.end:
            out.append(Phone(SILENCE, cursor, ph.end))
    return _merge_silence(out)


def phones_to_segments(phones: Sequence[Phone]) -> tuple[Segment, ...]:
    """Phones -> ``visemes.Segment`` (IPA as the viseme table reads it; SIL -> "" pause)."""
    return tuple(Segment(ARPABET_IPA.get(ph.label, ""), ph.start, ph.end) for ph in phones if ph.end > ph.start)


def viseme_labels(phones: Sequence[Phone], n_frames: int, fps: float) -> list[str]:
    """The viseme at each frame centre (first viseme of a diphthong's first
    part, after the split), "sil" where no phone is; for comparing tracks."""
    from .visemes import expand_segments

    parts = expand_segments(phones_to_segments(phones))
    centres = (np.arange(n_frames) + 0.5) / fps
    out = ["sil"] * n_frames
    for vis, start, end in parts:
        lo, hi = int(math.ceil(start * fps - 0.5)), int(math.ceil(end * fps - 0.5))
        for i in range(max(0, lo), min(n_frames, hi)):
            if start <= centres[i] < end:
                out[i] = vis
    return out
