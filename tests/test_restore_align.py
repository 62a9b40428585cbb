"""Five-point alignment, soft paste-back and colour matching."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from talking_head.restore import align
from talking_head.types import Photo


def random_similarity(rng, scale_range=(0.5, 2.0)):
    angle = rng.uniform(-np.pi, np.pi)
    scale = rng.uniform(*scale_range)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.c_[scale * rotation, rng.uniform(-100, 100, 2)]


def test_similarity_transform_recovers_a_similarity():
    rng = np.random.default_rng(0)
    for _ in range(5):
        truth = random_similarity(rng)
        src = rng.uniform(0, 500, (5, 2))
        dst = src @ truth[:, :2].T + truth[:, 2]
        np.testing.assert_allclose(align.similarity_transform(src, dst), truth, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    mirrored = src * [-1.0, 1.0]  # only a reflection fits exactly
    matrix = align.similarity_transform(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0
    np.testing.assert_allclose(matrix[:, :2], 0.8 * np.diag([-1.0, -1.0]), atol=1e-9)  # (9-1)/(9+1)


def test_template_points_map_to_themselves():
    # Image-space points sit half a pixel right/below OpenCV's convention.
    matrix = align.alignment_matrix(align.TEMPLATE_512 + 0.5)
    np.testing.assert_allclose(matrix, np.c_[np.eye(2), np.zeros(2)], atol=1e-9)
    half = align.alignment_matrix(align.TEMPLATE_512 + 0.5, size=256)
    np.testing.assert_allclose(half[:, :2], 0.5 * np.eye(2), atol=1e-9)


def test_five_points_from_real_landmarks(astronaut, detector):
    landmarks = detector.detect(Photo(astronaut))
    five = align.five_points(landmarks.points)
    assert five.shape == (5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = five
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    # The mesh-only points give the same five (no iris needed).
    np.testing.assert_array_equal(align.five_points(landmarks.mesh_points), five)
    # Aligned, the face lands on the template within a few percent of its size.
    matrix = align.alignment_matrix(five)
    mapped = np.c_[five - 0.5, np.ones(5)] @ matrix.T
    assert np.abs(mapped - align.TEMPLATE_512).max() < 0.05 * 512
    with pytest.raises(ValueError):
        align.five_points(np.zeros((5, 2)))


def test_face_mask_is_soft_and_inside_the_crop():
    mask = align.face_mask()
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    assert mask[285, 256] == 1.0 and mask.min() == 0.0
    assert mask[0].max() == mask[-1].max() == mask[:, 0].max() == mask[:, -1].max() == 0.0
    row = mask[285, :256]
    ramp = row[(row > 0) & (row < 1)]
    assert len(ramp) >= 15 and np.all(np.diff(row) >= 0)  # a gradual edge, rising inwards
    # Eyes and mouth corners are fully inside.
    for x, y in align.TEMPLATE_512:
        assert mask[int(y), int(x)] == 1.0


def test_identity_restoration_pastes_back_what_was_there(astronaut):
    rng = np.random.default_rng(3)
    five = align.TEMPLATE_512 * 0.3 + [150.0, 60.0] + rng.normal(0, 2, (5, 2))
    matrix = align.alignment_matrix(five)
    crop, inside = align.align_face(astronaut, matrix)
    assert crop.shape == (512, 512, 3) and crop.dtype == np.uint8 and inside.min() > 0.99
    mask = align.face_mask()
    out = align.paste_back(astronaut, crop, mask, matrix)
    diff = np.abs(out.astype(int) - astronaut)
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 12  # only resampling blur


def test_paste_back_touches_only_the_masked_footprint(astronaut):
    matrix = align.alignment_matrix(align.TEMPLATE_512 * 0.25 + [200.0, 80.0])
    white = np.full((512, 512, 3), 255, np.uint8)
    out = align.paste_back(astronaut, white, align.face_mask(), matrix)
    changed = np.any(out != astronaut, axis=2)
    ys, xs = np.nonzero(changed)
    # The mask ellipse spans template x 106..406, y 100..470; at scale 0.25 + offset:
    assert xs.min() >= 200 + 0.25 * 100 and xs.max() <= 200 + 0.25 * 412
    assert ys.min() >= 80 + 0.25 * 95 and ys.max() <= 80 + 0.25 * 475
    centre = (int(80 + 0.25 * 285), int(200 + 0.25 * 256))
    assert np.all(out[centre] == 255)
    # A zero mask changes nothing.
    np.testing.assert_array_equal(align.paste_back(astronaut, white, np.zeros((512, 512), np.float32), matrix), astronaut)


def test_face_partly_outside_the_frame(astronaut):
    matrix = align.alignment_matrix(align.TEMPLATE_512 * 0.5 + [-150.0, 300.0])
    crop, inside = align.align_face(astronaut, matrix)
    assert 0.2 < inside.mean() < 0.9
    assert np.all(crop[inside == 0] == align.BORDER_RGB)
    out = align.paste_back(astronaut, 255 - crop, align.face_mask() * inside, matrix)
    assert out.shape == astronaut.shape and np.any(out != astronaut)


def test_match_colour_restores_mean_and_spread(astronaut):
    original = cv2.resize(astronaut[40:240, 130:330], (512, 512))
    lab = cv2.cvtColor(original.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    shifted = lab * [0.8, 1.3, 1.0] + [6.0, -5.0, 8.0]
    tinted = np.clip(cv2.cvtColor(shifted.astype(np.float32), cv2.COLOR_LAB2RGB) * 255, 0, 255).astype(np.uint8)
    mask = align.face_mask()
    matched = align.match_colour(tinted, original, mask)
    assert matched.dtype == np.uint8 and matched.shape == original.shape
    inner = mask > 0.5
    before = np.abs(tinted.astype(int) - original)[inner].mean()
    after = np.abs(matched.astype(int) - original)[inner].mean()
    assert after < 0.25 * before
    np.testing.assert_array_equal(align.match_colour(tinted, original, np.zeros_like(mask)), tinted)
