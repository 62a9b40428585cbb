import numpy as np

from talking_head.audio.loudness import frame_rms_db, loudness_coefficients, loudness_track
from talking_head.face.rig import load_rig


def test_rms_db_hand_values():
    rate, fps = 16000, 25
    tone = np.sin(2 * np.pi * 200 * np.arange(rate) / rate)  # RMS 1/sqrt(2) -> -3.01 dB
    db = frame_rms_db(tone, rate, 25, fps)
    assert np.allclose(db[2:-2], 20 * np.log10(1 / np.sqrt(2)), atol=0.05)
    assert frame_rms_db(np.zeros(rate), rate, 25, fps).max() < -90


def test_track_follows_loudness_and_drives_jaw():
    rate, fps = 16000, 25
    t = np.arange(2 * rate) / rate
    audio = np.sin(2 * np.pi * 150 * t) * np.where(t < 1.0, 0.0, 0.3)
    opening = loudness_track(audio, rate, 50, fps)
    assert opening[:20].max() == 0.0 and opening[30:].min() > 0.5
    rig = load_rig()
    base = np.full(len(rig.names), 0.2)
    from talking_head.audio.visemes import audio_driven_names

    coeffs = loudness_coefficients(opening, rig.names, base, audio_driven_names(rig.names))
    jaw = rig.index("jawOpen")
    assert np.allclose(coeffs[:, jaw], 0.5 * opening)
    assert np.allclose(coeffs[:, rig.index("eyeBlink_L")], 0.2)  # eyes keep the photo's value
    assert coeffs[:, rig.index("mouthSmile_L")].max() == 0.0  # other mouth shapes rest
