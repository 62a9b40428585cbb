"""The photo's own expression under speech: a smiling photo keeps smiling."""

from dataclasses import replace

import numpy as np

from talking_head.audio.visemes import audio_driven_names
from talking_head.eval.lipsync import mouth_width
from talking_head.motion.expression import keep_photo_expression

NAMES = ("jawOpen", "mouthClose", "mouthSmile_L", "mouthUpperUp", "mouthPucker", "eyeBlink_L")
DRIVEN = NAMES[:5]


def test_widening_shapes_keep_the_photo_as_a_floor():
    base = np.array([0.2, 0.0, 0.8, 0.6, 0.0, 0.1])
    coeffs = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.1], [0.5, 0.0, 0.5, 0.0, 0.3, 0.1]])
    out = keep_photo_expression(coeffs, NAMES, base, DRIVEN)
    np.testing.assert_allclose(out[:, 2], [0.8, 0.9])  # b + (1 - b) d
    np.testing.assert_allclose(out[:, 0], [0.0, 0.5])  # the jaw: speech alone, closes in silence
    np.testing.assert_allclose(out[:, 4], [0.0, 0.3])
    np.testing.assert_allclose(out[:, 5], 0.1)  # not driven: untouched


def test_lip_raisers_follow_speech_alone_so_the_lips_close_in_silence():
    base = np.array([0.0, 0.0, 0.0, 0.6, 0.0, 0.0])
    coeffs = np.zeros((2, 6))
    coeffs[1, 3] = 0.9
    out = keep_photo_expression(coeffs, NAMES, base, DRIVEN)
    np.testing.assert_allclose(out[:, 3], [0.0, 0.9])


def test_neutral_photo_is_unchanged():
    coeffs = np.random.default_rng(0).uniform(0, 1, (5, 6))
    np.testing.assert_array_equal(keep_photo_expression(coeffs, NAMES, np.zeros(6), DRIVEN), coeffs)


def test_smiling_photo_keeps_its_mouth_width_while_talking(pipeline, asset, detector):
    """The astronaut smiles with her teeth showing: talking keeps >= 0.93 of her mouth width."""
    names = tuple(pipeline.rig.names)
    driven = audio_driven_names(names)
    base = asset.reconstruction.expression
    animator = pipeline.animator(asset, replace(pipeline.config, head_motion=0.0))
    speech = np.tile(base, (4, 1))
    speech[:, [names.index(n) for n in driven]] = 0.0  # the driver's rest
    jaw = names.index("jawOpen")
    speech[:, jaw] = [0.0, 0.15, 0.3, 0.45]
    photo_width = mouth_width(detector.detect_all(animator.frame(base).rgb)[0][None])[0]

    def widths(coeffs):
        return np.array([mouth_width(detector.detect_all(animator.frame(row).rgb)[0][None])[0] for row in coeffs])

    kept = widths(keep_photo_expression(speech, names, base, driven)) / photo_width
    erased = widths(speech) / photo_width
    assert kept.mean() >= 0.93, kept
    assert kept.mean() > erased.mean() + 0.03, (kept, erased)
    # ... with the lips closed at rest (a closed-lip smile), as the mouth must be in silence.
    from talking_head.eval.metrics import mouth_opening

    rest = keep_photo_expression(speech[:1], names, base, driven)[0]
    assert mouth_opening(detector.detect_all(animator.frame(rest).rgb)[0][None])[0] < 0.03
