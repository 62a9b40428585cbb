"""What is said: the ``--transcript TEXT_OR_FILE`` input, read and normalised.

A transcript lets forced alignment time every phone (``phonetic.align``).
The value is either the text itself or the path of a UTF-8 text file.
Decisions (each gives a one-line message or a note, never a traceback):

- ``None``, empty or whitespace-only: no transcript (the phone loop runs),
  with a note when a value was given.
- A value that looks like a path (ends in ``.txt``/``.lab``/``.srt``... or
  contains a path separator and no spaces) but is not a file: ``InputError``.
- A file that is not UTF-8 text (NUL bytes, invalid UTF-8, over
  ``MAX_FILE_BYTES``): ``InputError``.
- More than ``MAX_CHARS`` characters (about an hour of speech; the longest
  audio the app accepts is ten minutes): ``InputError``.
- Text without Latin letters (Chinese, Russian...): kept as given, with a note;
  the English model cannot align it and ``phonetic.recognise`` falls back to
  the phone loop.

``normalise`` turns text into the lower-case words the pronouncing dictionary
knows: numbers become words ("42" -> "forty two", "3.5" -> "three point
five"), "&" -> "and", "%" -> "percent", annotations in brackets
(``[noise]``, ``<laugh>``) and punctuation are dropped, hyphens split words,
apostrophes inside words stay ("don't").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

MAX_CHARS = 50_000  # ~ 55 min of speech at 150 words per minute
MAX_FILE_BYTES = 4 * MAX_CHARS  # UTF-8 takes at most 4 bytes a character
_PATH_SUFFIXES = (".txt", ".lab", ".text", ".srt", ".vtt", ".md", ".csv", ".tsv")

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))


@dataclass(frozen=True)
class Transcript:
    """A transcript as read from the user's value.

    Attributes:
        text: the text as given (``None``: no transcript).
        notes: what happened to it, one line each.
    """

    text: str | None
    notes: tuple[str, ...] = ()


def number_words(n: int) -> str:
    """Non-negative integer -> English words: 1984 -> "one thousand nine hundred eighty four"."""
    if n < 0:
        raise ValueError(f"negative number {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{number_words(head)} {name}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError("unreachable")


def _number_text(match: re.Match) -> str:
    whole, frac = match.group(1).replace(",", ""), match.group(2)
    if len(whole) > 15:  # an id or a phone number: read digit by digit
        words = " ".join(_ONES[int(d)] for d in whole)
    else:
        words = number_words(int(whole))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {words} "


def normalise(text: str) -> str:
    """Text -> space-separated lower-case words for the pronouncing dictionary.

    Letters of any script are kept (a word the dictionary lacks is handled by
    the aligner); only Latin words can be aligned by the English model.
    """
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}", " ", text)  # [noise], <laugh>, {comment}
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("&", " and ").replace("%", " percent ").replace("+", " plus ").replace("@", " at ")
    text = re.sub(r"(\d[\d,]*\d|\d)(?:\.(\d+))?", _number_text, text)
    text = text.lower()
    # Keep letters (any script) and word-internal apostrophes; everything else separates words.
    text = "".join(ch if ch.isalpha() or ch == "'" else " " for ch in text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def has_latin(text: str) -> bool:
    """True if the text has at least one Latin letter (a-z with or without accents)."""
    return any(ch.isalpha() and "LATIN" in unicodedata.name(ch, "") for ch in text)


def _looks_like_path(value: str) -> bool:
    stripped = value.strip()
    if "\n" in stripped or len(stripped) > 4096:
        return False
    if stripped.lower().endswith(_PATH_SUFFIXES) and " " not in Path(stripped).name:
        return True
    return (("/" in stripped or "\\" in stripped) and " " not in stripped)


def _read_file(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"Transcript file {path.name} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are accepted"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read transcript file {path.name}: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise InputError(f"Transcript file {path.name} is not a text file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"Transcript file {path.name} is not UTF-8 text; save it as UTF-8") from None


def read_transcript(value: str | None) -> Transcript:
    """Read ``--transcript TEXT_OR_FILE``: the text (or None) and notes.

    Raises:
        InputError: a missing or unreadable file, binary data, or more than
            ``MAX_CHARS`` characters.
    """
    if value is None:
        return Transcript(None)
    text = value
    notes: list[str] = []
    path = Path(value.strip()) if value.strip() and "\n" not in value.strip() and len(value) < 4096 else None
    if path is not None and path.is_file():
        text = _read_file(path)
    elif path is not None and _looks_like_path(value):
        raise InputError(f"Transcript file not found: {value.strip()}")
    if not text.strip():
        return Transcript(None, ("the transcript is empty: phones are recognised from the audio alone",))
    if len(text) > MAX_CHARS:
        raise InputError(
            f"The transcript has {len(text):,} characters; at most {MAX_CHARS:,} (about an hour of speech) are accepted"
        )
    if not has_latin(text):
        notes.append("the transcript has no Latin letters: the English model cannot align it, "
                     "so phones are recognised from the audio alone")
    return Transcript(text.strip(), tuple(notes))


def load_transcript(value: str | None) -> str | None:
    """``--transcript TEXT_OR_FILE`` -> normalised text (``normalise``), or
    None when there is none.

    See ``read_transcript`` for the notes and the errors.
    """
    text = read_transcript(value).text
    return None if text is None else (normalise(text) or None)
