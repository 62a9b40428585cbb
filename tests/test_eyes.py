"""Eye painter: a rendered blink reads as shut to MediaPipe, a lowering lid
covers the iris instead of squeezing it, open eyes are left untouched, and a
gaze shift moves the iris inside the opening only, without doubling it."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from talking_head.eval.headmotion import eye_opening
from talking_head.motion.blink import apply_blinks
from talking_head.render.eyes import EYES, EyePainter, iris_landmarks


@pytest.fixture(scope="module")
def animator(pipeline, asset):
    with pipeline.animator(asset, replace(pipeline.config, head_motion=0.0)) as animator:
        yield animator


def blinked(pipeline, asset, closure: float) -> np.ndarray:
    base = asset.reconstruction.expression
    return apply_blinks(base[None], pipeline.rig.names, np.array([closure]))[0]


def openings(detector, frames) -> np.ndarray:
    """Mean re-detected eye opening of each frame (static MediaPipe)."""
    return np.array([eye_opening(detector.detect_all(frame)[0][None]).mean() for frame in frames])


def test_a_rendered_blink_is_re_detected_shut(pipeline, asset, animator, detector):
    frames = [animator.frame(blinked(pipeline, asset, c)).rgb for c in (0.0, 1.0)]
    open_, shut = openings(detector, frames)
    # Issue 11: deepest closure <= 0.3 of the open eye, re-detected on the output
    # (the mesh alone, squeezing the photo's lash band, read 0.21 here and 0.3-0.47 on real clips).
    assert shut <= 0.2 * open_


def test_a_darkened_photo_blinks_shut_too(pipeline, astronaut, detector):
    from talking_head.media import load_image

    dark = (255 * (astronaut / 255.0) ** 2.2 * 0.6).astype(np.uint8)
    asset = pipeline.analyse(load_image(dark))
    with pipeline.animator(asset, replace(pipeline.config, head_motion=0.0)) as animator:
        frames = [animator.frame(blinked(pipeline, asset, c)).rgb for c in (0.0, 1.0)]
    open_, shut = openings(detector, frames)
    assert shut <= 0.3 * open_


def test_closure_follows_the_lids(pipeline, asset, animator):
    painter = animator.eyes
    np.testing.assert_allclose(painter.closure(animator.reference_vertices), 0.0, atol=1e-6)
    half = painter.closure(animator.vertices(blinked(pipeline, asset, 0.5)))
    full = painter.closure(animator.vertices(blinked(pipeline, asset, 1.0)))
    assert np.all(np.abs(half - 0.5) < 0.1) and np.all(full > 0.95)


def test_open_eyes_are_left_untouched(animator):
    frame = animator.frame(animator.asset.reconstruction.expression).rgb
    vertices = animator.reference_vertices
    assert animator.eyes.paint(frame, vertices) is frame
    assert animator.eyes.paint(frame, vertices, np.zeros(2)) is frame


def test_a_lowering_lid_covers_the_iris_instead_of_squeezing_it(pipeline, asset, animator):
    """Below a lid lowered by a third, the eye is the photo's own, pixel for pixel
    (the bare mesh squeezes it: median difference 9 there)."""
    coeffs = blinked(pipeline, asset, 0.35)
    vertices = animator.vertices(coeffs)
    frame = animator.frame(coeffs).rgb
    photo = animator.background
    for rest in animator.eyes.eyes:
        lower = vertices[list(rest.lower), :2]
        # Clear of the lash line (which hangs below the margin): 4 px under the upper lid.
        upper = vertices[list(rest.upper), :2] + [0.0, 4.0]
        mask = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(np.concatenate([upper, lower[::-1]]) - 0.5).astype(np.int32)], 1)
        inside = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
        assert inside.sum() > 20
        difference = np.abs(frame[inside].astype(int) - photo[inside].astype(int))
        assert np.median(difference) <= 2


def iris_shift(still: np.ndarray, moved: np.ndarray, centre: np.ndarray, radius: float) -> float:
    """px the iris moved along x: the shift of the luminance profile through
    its centre (3 rows, +-radius around it) that best matches, to 0.1 px."""
    rows = slice(int(round(centre[1])) - 1, int(round(centre[1])) + 2)
    xs = np.arange(centre[0] - radius, centre[0] + radius, 0.5)
    grid = np.arange(still.shape[1]) + 0.5

    def profile(frame, offset):
        luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[rows].astype(np.float64).mean(axis=0)
        return np.interp(xs - offset, grid, luma)

    target = profile(moved, 0.0)
    shifts = np.arange(-6.0, 6.01, 0.1)
    errors = [np.square(profile(still, shift) - target).mean() for shift in shifts]
    return float(shifts[int(np.argmin(errors))])


def test_gaze_moves_the_iris_inside_the_opening(animator):
    painter = animator.eyes
    assert painter.eyeballs is not None
    expression = animator.asset.reconstruction.expression
    still = animator.frame(expression).rgb
    vertices = animator.reference_vertices
    luma = cv2.cvtColor(still, cv2.COLOR_RGB2GRAY).astype(np.float32)
    outside = np.ones(still.shape[:2], bool)
    for shift in (-0.08, 0.08):
        moved = animator.frame(expression, None, np.array([shift, 0.0])).rgb
        changed = np.any(moved != still, axis=-1)
        for rest, eyeball in zip(painter.eyes, painter.eyeballs):
            outline = np.concatenate([vertices[list(rest.upper), :2], vertices[list(rest.lower)[::-1], :2]])
            mask = np.zeros(still.shape[:2], np.uint8)
            cv2.fillPoly(mask, [np.round(outline - 0.5).astype(np.int32)], 1)
            outside &= ~cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)
            # The iris moves by the asked offset (along x here: the eyes are level).
            expected = shift * rest.frame.width * rest.frame.axis[0]
            assert abs(iris_shift(still, moved, eyeball.centre, eyeball.radius) - expected) < 0.5
            # It is not doubled: about as many dark (iris) pixels inside the opening as before.
            inside = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
            threshold = float(np.mean(np.percentile(luma[inside], [10, 90])))
            dark = [np.count_nonzero(inside & (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) < threshold))
                    for f in (still, moved)]
            assert 0.75 < dark[1] / dark[0] < 1.25
        # Lids occlude the iris: nothing changes outside the eye openings.
        assert not changed[outside].any()


def test_iris_landmarks_are_assigned_to_their_eyes():
    reference = np.zeros((468, 2))
    for (corners, *_), x in zip(EYES, (100.0, 200.0)):
        reference[list(corners)] = [[x - 10, 50], [x + 10, 50]]
    right = np.array([[101.0, 50], [105, 50], [101, 46], [97, 50], [101, 54]])
    left = right + [100.0, 1.0]
    found = iris_landmarks(np.concatenate([left, right]), reference)
    np.testing.assert_allclose(found[0][0], right[0])
    np.testing.assert_allclose(found[1][0], left[0])
    assert found[0][1] == pytest.approx(4.0)


def test_without_iris_landmarks_the_gaze_stays(animator):
    painter = EyePainter(animator.background, animator.reference_vertices)
    frame = animator.frame(animator.asset.reconstruction.expression).rgb
    assert painter.paint(frame, animator.reference_vertices, np.array([0.1, 0.0])) is frame


def test_an_eye_outside_the_frame_has_no_eyeball(animator):
    from talking_head.render.eyes import cut_eyeball

    rest = animator.eyes.eyes[0]
    away = animator.reference_vertices[:, :2] + [-2000.0, 0.0]
    assert cut_eyeball(animator.background, rest, away, np.array([-1900.0, 200.0]), 5.0) is None
