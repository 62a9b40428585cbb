"""The driver interface: the shared helpers and every driver through the table."""

import numpy as np
import pytest

from talking_head.audio.decode import AudioClip
from talking_head.audio.features import frame_count
from talking_head.audio.visemes import audio_driven_names
from talking_head.config import GenerationConfig
from talking_head.drivers import DriveRequest, make_driver, scale_motion, shift_frames
from talking_head.face.rig import load_rig

RATE, FPS = 16000, 25.0


def test_scale_motion_scales_only_driven_columns_and_clips():
    coeffs = np.array([[0.2, 0.4, 0.9], [0.0, 0.8, 0.5]])
    out = scale_motion(coeffs, [1, 2], 1.5)
    np.testing.assert_allclose(out[:, 0], coeffs[:, 0])
    np.testing.assert_allclose(out[:, 1], [0.6, 1.0])
    np.testing.assert_allclose(out[:, 2], [1.0, 0.75])
    np.testing.assert_allclose(scale_motion(coeffs, [1, 2], 1.0), coeffs)


def test_shift_frames_moves_earlier_and_holds_the_ends():
    track = np.arange(6.0)
    np.testing.assert_array_equal(shift_frames(track, 2), [2, 3, 4, 5, 5, 5])
    np.testing.assert_array_equal(shift_frames(track, -1), [0, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(shift_frames(track, 0), track)


class Models:
    """The pipeline's model cache, as the table's factories see it."""

    def audionet(self, config):
        from talking_head.audio.audionet import load_audionet

        return load_audionet(config.audionet)


def request(samples, intensity=1.0, transcript=None):
    rig = load_rig()
    clip = AudioClip(samples.astype(np.float32), RATE, "<test>")
    base = np.zeros(len(rig.names))
    base[rig.index("eyeBlink_L")] = 0.3  # the photo's half-closed left eye stays
    return DriveRequest(clip, frame_count(clip.duration, FPS), FPS, tuple(rig.names), audio_driven_names(rig.names),
                        base, transcript, intensity)


def tone_bursts(seconds=3.0):
    """A voiced-like buzz in the middle second, silence around it."""
    t = np.arange(int(seconds * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 700, 1100), 1))
    return 0.2 * buzz * ((t > 1.0) & (t < 2.0))


@pytest.mark.parametrize("name", ["audionet", "loudness"])
def test_drivers_fill_every_frame_keep_the_photo_and_scale_with_intensity(name):
    driver = make_driver(name, Models(), GenerationConfig(driver=name))
    req = request(tone_bursts())
    out = driver.drive(req, lambda fraction: None)
    rig = load_rig()
    assert out.coeffs.shape == (req.frames, len(rig.names)) == (75, len(rig.names))
    assert np.isfinite(out.coeffs).all()
    np.testing.assert_allclose(out.coeffs[:, rig.index("eyeBlink_L")], 0.3)  # not a driven column
    columns = req.columns()
    assert out.coeffs[30:45, columns].max() > 0.05  # the mouth moves in the buzz
    louder = driver.drive(request(tone_bursts(), intensity=1.5), lambda fraction: None)
    moving = out.coeffs[:, columns] < 0.6
    np.testing.assert_allclose(louder.coeffs[:, columns][moving], 1.5 * out.coeffs[:, columns][moving], atol=1e-6)


def test_speech_gate_keeps_the_mouth_free_near_speech_and_closes_it_in_pauses():
    from talking_head.drivers.phonetic import speech_gate

    speech = np.zeros(30, bool)
    speech[10:15] = True
    gate = speech_gate(speech, reach=2, ramp=0)
    np.testing.assert_array_equal(gate, (np.arange(30) >= 8) & (np.arange(30) < 17))
    soft = speech_gate(speech, reach=2, ramp=1)
    assert soft[10:15].min() == 1.0 and soft[:6].max() == 0.0 and soft[20:].max() == 0.0
    assert 0.0 < soft[7] < 1.0  # a ramp, not a step
    assert speech_gate(np.zeros(0, bool)).shape == (0,)
