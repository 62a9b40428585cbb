"""Timed phones from real speech: forced alignment, phone loop, fallback, visemes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talking_head.audio import phonetic
from talking_head.audio.decode import decode_audio
from talking_head.audio.phonetic import Phone, PhoneTrack, align, phone_loop, phones_to_segments, recognise
from talking_head.audio.visemes import audio_driven_names, coefficient_track, phoneme_visemes
from talking_head.errors import AlignmentError
from talking_head.face.rig import load_rig

CLIP = Path(__file__).parent / "data" / "librivox_0930.flac"
TEXT = "he might even have been made amiable himself"
OTHER = "the quick brown fox jumps over the lazy dog while seven wizards quietly judge boxing"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    clip = decode_audio(CLIP)
    assert clip.sample_rate == 16000
    return clip.samples


@pytest.fixture(scope="module")
def aligned(speech) -> PhoneTrack:
    return align(speech, TEXT)


def speech_phones(track: PhoneTrack) -> list[Phone]:
    return [p for p in track.phones if p.label != "SIL"]


def test_alignment_gives_the_transcript_in_order_with_plausible_times(speech, aligned):
    duration = len(speech) / 16000
    assert aligned.mode == "alignment" and aligned.notes == ()
    assert [w for w, _, _ in aligned.words] == TEXT.split()
    starts = [p.start for p in aligned.phones]
    assert starts == sorted(starts)
    assert all(0.0 <= p.start < p.end <= duration + 0.011 for p in aligned.phones)
    for a, b in zip(aligned.phones, aligned.phones[1:]):
        assert b.start >= a.end - 1e-6
    phones = speech_phones(aligned)
    # pocketsphinx's HMMs take at least 3 frames (30 ms) per phone.
    assert all(0.029 <= p.end - p.start <= 0.6 for p in phones)
    # Phones in the order of the dictionary pronunciations of the words.
    expected = " ".join(phonetic.pronounce(w)[0] for w in TEXT.split()).split()
    assert [p.label for p in phones] == expected
    # Words sit inside the audio, in order, and speech starts after the leading silence.
    ends = [end for _, _, end in aligned.words]
    assert ends == sorted(ends) and aligned.words[0][1] > 0.05 and ends[-1] < duration


def test_phone_loop_finds_speech_and_silence_in_padding(speech):
    pad = np.zeros(16000, np.float32)
    rng = np.random.default_rng(0)
    padded = np.concatenate([pad, speech, pad]) + rng.standard_normal(len(speech) + 32000).astype(np.float32) * 1e-4
    track = phone_loop(padded)
    assert track.mode == "phone_loop" and track.words == ()
    assert track.phones[0].label == "SIL" and track.phones[0].end > 0.9
    assert track.phones[-1].label == "SIL" and track.phones[-1].start < len(padded) / 16000 - 0.9
    voiced = sum(p.end - p.start for p in speech_phones(track) if 1.0 <= p.start < 1.0 + len(speech) / 16000)
    assert voiced > 0.6 * (len(speech) / 16000 - 0.6)  # the clip has ~0.3 s of silence at each end
    assert {"M", "B"} & {p.label for p in track.phones}


def test_bilabials_close_the_mouth(aligned):
    names = audio_driven_names(load_rig().names)
    jaw, close = names.index("jawOpen"), names.index("mouthClose")
    segments = phones_to_segments(aligned.phones)
    bilabials = [s for s, p in zip(segments, aligned.phones) if p.label in ("M", "B", "P")]
    assert len(bilabials) >= 5  # might, been, made, amiable, himself
    assert all(phoneme_visemes(s.phoneme) == ("PBM",) for s in bilabials)
    fps = 100.0
    track = coefficient_track(segments, int(aligned.phones[-1].end * fps), fps, names)
    # Lips sealed: mouthClose cancels jawOpen in the middle of each bilabial.
    for seg in bilabials:
        row = track[int((seg.start + seg.end) / 2 * fps)]
        assert row[close] >= 0.8 * row[jaw]
    # Open vowels open the mouth well past a bilabial.
    vowels = [p for p in aligned.phones if p.label in ("EY", "AY", "AE")]
    # (0.25: the table fitted to real mouths opens vowels with the lips as well as the jaw)
    assert max(track[int((p.start + p.end) / 2 * fps), jaw] for p in vowels) > 0.25


def test_segments_map_every_arpabet_phone_to_the_viseme_table():
    for label, ipa in phonetic.ARPABET_IPA.items():
        visemes = phoneme_visemes(ipa)
        if label == "SIL":
            assert visemes == ("sil",)
        else:
            assert "sil" not in visemes and "SCHWA" not in visemes, label
    assert phoneme_visemes(phonetic.ARPABET_IPA["AY"]) == ("AA", "IH")
    assert phoneme_visemes(phonetic.ARPABET_IPA["OW"]) == ("OW", "UH")
    assert phoneme_visemes(phonetic.ARPABET_IPA["M"]) == ("PBM",)
    assert phones_to_segments([Phone("SIL", 0.0, 0.5), Phone("M", 0.5, 0.6)])[0].phoneme == ""


def test_recognise_aligns_a_matching_transcript(speech):
    track = recognise(speech, TEXT)
    assert track.mode == "alignment"
    assert all(p.end - p.start <= phonetic.MAX_PHONE + 1e-9 for p in speech_phones(track))


def test_wrong_transcript_falls_back_to_the_phone_loop_with_a_note(speech):
    track = recognise(speech, OTHER)
    assert track.mode == "phone_loop" and track.words == ()
    assert len(track.notes) == 1 and "phone" in track.notes[0]
    assert len(speech_phones(track)) > 10
    # Either the decoder finds no alignment, or the one it finds scores far below free recognition.
    try:
        decoded = phonetic._align_chunk(speech, phonetic._prepare_words(OTHER)[0], 0.0)
    except AlignmentError:
        return
    assert phonetic.score_gap(speech, decoded) < -phonetic.MAX_SCORE_GAP


def test_non_english_or_empty_transcripts_fall_back(speech):
    for text in ("他可能会变得和蔼可亲", "   ", None):
        track = recognise(speech, text)
        assert track.mode == "phone_loop"
    assert "English" in recognise(speech, "他可能会变得和蔼可亲").notes[0]
    with pytest.raises(AlignmentError, match="no English words"):
        align(speech, "他可能会变得和蔼可亲")


def test_words_missing_from_the_dictionary_are_spelled_and_noted(speech):
    track = align(speech, "he might even have been made amiablish himself")
    assert any("amiablish" in note for note in track.notes)
    assert [w for w, _, _ in track.words][6] == "amiablish"
    assert phonetic.letters_to_sounds("knight").startswith("N")
    assert phonetic.letters_to_sounds("чай") == ""


def test_vad_turns_silence_into_sil_and_caps_phones(speech):
    pad = np.zeros(8000, np.float32)
    track = recognise(np.concatenate([pad, speech, pad]), TEXT)
    assert track.mode == "alignment"
    first = speech_phones(track)[0]
    assert first.start > 0.5  # nothing spoken in the padding
    capped = phonetic.cap_phones([Phone("AA", 0.0, 0.8)], 0.25)
    assert capped == [Phone("AA", 0.0, 0.25), Phone("SIL", 0.25, 0.8)]
    cut = phonetic.restrict_to_speech([Phone("AA", 0.0, 1.0)], [(0.2, 0.5)])
    assert cut == [Phone("SIL", 0.0, 0.2), Phone("AA", 0.2, 0.5), Phone("SIL", 0.5, 1.0)]


def test_long_audio_is_decoded_in_chunks_cut_at_pauses(speech, monkeypatch):
    # Two copies with a pause, decoded with 5 s chunks (the real limit is 20 s).
    gap = np.zeros(8000, np.float32)
    audio = np.concatenate([speech, gap, speech])
    monkeypatch.setattr(phonetic, "CHUNK_SECONDS", 5.0)
    monkeypatch.setattr(phonetic, "MIN_CHUNK_SECONDS", 2.0)
    from talking_head.audio.vad import speech_intervals

    intervals = speech_intervals(audio)
    bounds = phonetic.chunk_bounds(audio, intervals)
    assert len(bounds) == 2 and bounds[0][0] == 0 and bounds[-1][1] == len(audio)
    # The cut falls in the pause between the copies, not inside a word.
    cut = bounds[0][1] / 16000
    assert not any(s < cut < e for s, e in intervals) and 3.3 < cut < 3.8
    track = align(audio, " ".join([TEXT] * 2), speech=intervals)
    assert [w for w, _, _ in track.words] == (TEXT.split() * 2)
    assert "long audio aligned in 2 chunks of at most 5 s" in track.notes
    assert track.mode == "alignment"
    # The second copy's words sit in the second chunk.
    second = track.words[len(TEXT.split())]
    assert second[0] == "he" and second[1] > cut
    loop = phone_loop(audio, intervals)
    assert loop.phones[-1].end == pytest.approx(len(audio) / 16000, abs=0.02)
    assert {"M", "B"} & {p.label for p in loop.phones if p.start > cut}  # the second copy is decoded too


def test_a_deaf_vad_does_not_silence_recognised_speech(speech, monkeypatch):
    """Whisper and creaky voice can get no speech from the VAD (measured on real
    clips); then the recogniser's own pauses are used, with a note."""
    from talking_head.audio import vad

    monkeypatch.setattr(vad, "speech_probability", lambda x, sample_rate=16000: np.zeros(-(-len(x) // 512), np.float32))
    track = recognise(speech, TEXT)
    assert track.mode == "alignment" and "voice-activity" in track.notes[-1]
    assert sum(p.end - p.start for p in speech_phones(track)) > 2.0


def test_given_speech_intervals_are_used_unless_deaf(speech):
    pad = np.zeros(8000, np.float32)
    audio = np.concatenate([pad, speech, pad])
    track = recognise(audio, TEXT, speech=[(0.8, 4.0)])
    assert speech_phones(track)[0].start >= 0.8 and speech_phones(track)[-1].end <= 4.0
    deaf = recognise(audio, TEXT, speech=[])
    assert "voice-activity" in deaf.notes[-1] and len(speech_phones(deaf)) > 20
    mask = phonetic.speech_mask_from_phones(track.phones, 125, 25.0)
    assert not mask[:15].any() and mask[25:85].all() and not mask[-20:].any()
