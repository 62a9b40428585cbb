"""The phonetic driver on a real recording (tests/data, public domain LibriVox clip)."""

from pathlib import Path

import numpy as np
import pytest

from talking_head.audio.decode import AudioClip, decode_audio
from talking_head.audio.features import frame_count
from talking_head.audio.visemes import audio_driven_names
from talking_head.config import GenerationConfig
from talking_head.drivers import DriveRequest, make_driver
from talking_head.face.rig import closed_mouth, inner_lip_gap, load_rig
from talking_head.face.topology import load_topology

CLIP = Path(__file__).parent / "data" / "librivox_0930.flac"
TEXT = "he might even have been made amiable himself"
FPS = 25.0
PAD = 0.8  # s of silence added on both sides


@pytest.fixture(scope="module")
def padded() -> AudioClip:
    clip = decode_audio(CLIP)
    pad = np.zeros(int(PAD * clip.sample_rate), np.float32)
    return AudioClip(np.concatenate([pad, clip.samples, pad]), clip.sample_rate, "<padded>")


def drive(clip, transcript=None, intensity=1.0):
    rig = load_rig()
    request = DriveRequest(clip, frame_count(clip.duration, FPS), FPS, tuple(rig.names),
                           audio_driven_names(rig.names), np.zeros(len(rig.names)), transcript, intensity)
    return make_driver("phonetic", None, GenerationConfig(driver="phonetic")).drive(request, lambda f: None)


def lip_gap(coeffs):
    """(T,) inner-lip gap in cm of the rig's closed-mouth face for (T, K) coefficients."""
    rig, neutral = load_rig(), closed_mouth(load_topology())
    return np.array([inner_lip_gap(rig.apply(neutral, row)) for row in coeffs]) - inner_lip_gap(neutral)


@pytest.fixture(scope="module")
def aligned(padded):
    return drive(padded, TEXT)


def test_mouth_opens_in_speech_and_closes_in_silence(aligned):
    gap = lip_gap(aligned.coeffs)
    lead = int(PAD * FPS)
    assert gap[: lead - 3].max() < 0.05 and gap[-(lead - 3):].max() < 0.05  # shut in the padding (cm)
    assert gap[lead:-lead].max() > 0.6  # open at least 6 mm on the vowels
    assert (gap[lead:-lead] > 0.2).mean() > 0.3
    assert not aligned.speech[: lead - 3].any() and aligned.speech[lead:-lead].mean() > 0.6


def test_lips_seal_on_bilabials(aligned):
    gap = lip_gap(aligned.coeffs)
    bilabials = [p for p in aligned.phones if p.label in ("M", "B", "P") and p.end - p.start >= 0.04]
    assert len(bilabials) >= 4  # might, been, made, amiable, himself
    for phone in bilabials:
        middle = int((phone.start + phone.end) / 2 * FPS)
        window = gap[max(middle - 1, 0) : middle + 2]
        assert window.min() < 0.12, (phone, window)  # sealed, or nearly, around the bilabial


def test_transcript_phones_follow_the_words_and_a_wrong_one_falls_back(padded, aligned):
    assert aligned.notes == ()
    labels = [p.label for p in aligned.phones if p.label != "SIL"]
    assert labels[:2] == ["HH", "IY"] and labels[-1] == "F"  # "he ... himself"
    wrong = drive(padded, "the quick brown fox jumps over the lazy dog while seven wizards judge boxing")
    assert any("recognised from the audio alone" in note for note in wrong.notes)
    assert lip_gap(wrong.coeffs)[int(PAD * FPS) : -int(PAD * FPS)].max() > 0.4  # still talks


def test_intensity_scales_the_motion(padded, aligned):
    rig = load_rig()
    jaw = rig.index("jawOpen")
    softer = drive(padded, TEXT, intensity=0.5)
    np.testing.assert_allclose(softer.coeffs[:, jaw], 0.5 * aligned.coeffs[:, jaw], atol=1e-9)


def test_shipped_audionet_also_opens_in_speech_and_closes_in_silence(padded):
    """The paper's driver on the same real recording (it stays selectable)."""
    from talking_head.audio.audionet import load_audionet

    class Models:
        def audionet(self, config):
            return load_audionet(None)

    rig = load_rig()
    request = DriveRequest(padded, frame_count(padded.duration, FPS), FPS, tuple(rig.names),
                           audio_driven_names(rig.names), np.zeros(len(rig.names)))
    out = make_driver("audionet", Models(), GenerationConfig(driver="audionet")).drive(request, lambda f: None)
    gap = lip_gap(out.coeffs)
    lead = int(PAD * FPS)
    assert gap[: lead - 3].max() < 0.1 and gap[-(lead - 3):].max() < 0.1
    assert gap[lead:-lead].max() > 0.3
