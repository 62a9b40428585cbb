"""--transcript TEXT_OR_FILE: reading, limits, normalisation."""

from __future__ import annotations

import pytest

from talking_head.audio.transcript import (
    MAX_CHARS,
    has_latin,
    load_transcript,
    normalise,
    number_words,
    read_transcript,
)
from talking_head.errors import InputError


def test_text_is_normalised_for_the_dictionary():
    assert load_transcript("Hello, World!") == "hello world"
    assert normalise("It's 42 & 3.5% [noise] <laugh> don’t re-do") == (
        "it's forty two and three point five percent don't re do"
    )
    assert normalise("In 1,984 rooms") == "in one thousand nine hundred eighty four rooms"
    assert number_words(0) == "zero" and number_words(115) == "one hundred fifteen"
    assert number_words(2_000_007) == "two million seven"


def test_file_values_are_read_as_utf8(tmp_path):
    path = tmp_path / "script.txt"
    path.write_text("\ufeffHe might even have been made amiable himself.\n", encoding="utf-8")
    assert load_transcript(str(path)) == "he might even have been made amiable himself"
    assert read_transcript(str(path)).notes == ()


@pytest.mark.parametrize("value", ["", "   \n\t ", None])
def test_empty_or_whitespace_means_no_transcript(value):
    assert load_transcript(value) is None
    result = read_transcript(value)
    assert result.text is None
    if value is not None:
        assert "empty" in result.notes[0]


def test_empty_file_means_no_transcript(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n", encoding="utf-8")
    assert read_transcript(str(path)).text is None


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="not found: .*nothere.txt"):
        load_transcript(str(tmp_path / "nothere.txt"))
    with pytest.raises(InputError, match="not found"):
        load_transcript("scripts/take_3")
    # Ordinary sentences are text, even with a slash or a dot at the end.
    assert load_transcript("either/or is fine.") == "either or is fine"


def test_binary_or_non_utf8_files_are_refused(tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError, match="binary"):
        load_transcript(str(binary))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_transcript(str(latin1))


def test_too_long_transcripts_are_refused_with_the_limit(tmp_path):
    text = ("word " * 20_000)[:100_000]
    with pytest.raises(InputError, match="100,000 characters; at most 50,000"):
        load_transcript(text)
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="100,000 characters"):
        load_transcript(str(path))
    assert load_transcript("a " * (MAX_CHARS // 2 - 1)) is not None


def test_non_latin_text_is_kept_with_a_note():
    result = read_transcript("你好，世界")
    assert result.text == "你好，世界"
    assert "English model" in result.notes[0]
    assert has_latin("Привет, Wentworth") and not has_latin("Привет")
    assert has_latin("sustitución")
