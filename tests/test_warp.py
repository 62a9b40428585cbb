"""Rendering a moving head: the warp pins frame edges and torso, the face lands
where the mesh puts it, nothing folds, still mode is today's render."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from talking_head.eval.headmotion import landmark_poses
from talking_head.eval.metrics import interocular
from talking_head.render.compose import displacement_operator
from talking_head.render.warp import pinned_nodes

HEAD = np.array([10.0, -6.0, 5.0, 0.05, 0.04])


@pytest.fixture(scope="module")
def moving(pipeline, asset):
    return pipeline.animator(asset, replace(pipeline.config, head_motion=1.0))


@pytest.fixture(scope="module")
def still(pipeline, asset):
    return pipeline.animator(asset, replace(pipeline.config, head_motion=0.0))


def test_still_mode_renders_exactly_as_without_a_pose(still, asset):
    coeffs = asset.reconstruction.expression
    np.testing.assert_array_equal(still.frame(coeffs, np.zeros(5)).rgb, still.frame(coeffs).rgb)


def test_still_animator_keeps_the_jaw_only_field(pipeline, still):
    from talking_head.face.topology import load_topology

    expected = displacement_operator(still.reference_vertices, load_topology().triangles, still.compositor._grid,
                                     still.size, edges=still.compositor.surround.pinned(still.size))
    np.testing.assert_array_equal(still.compositor._operator, expected)


def test_frame_edges_and_torso_stay_put(moving, asset):
    coeffs = asset.reconstruction.expression
    vertices = moving.vertices(coeffs, HEAD)
    field = moving.compositor.displacement(vertices)
    assert np.abs(field).max() > 5.0  # the head did move the photo
    border = np.concatenate([field[:2].reshape(-1, 2), field[-2:].reshape(-1, 2), field[:, :2].reshape(-1, 2),
                             field[:, -2:].reshape(-1, 2)])
    assert np.abs(border).max() < 1e-4
    height, width = moving.size
    pinned = cv2.resize(pinned_nodes(moving.reference_vertices, moving.compositor._grid, moving.size)
                        .astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    # Pixels a full grid step inside the pinned (torso) region do not move.
    step = int(np.ceil(height / moving.compositor._grid[0]))
    inner = cv2.erode(pinned.astype(np.uint8), np.ones((2 * step + 1, 2 * step + 1), np.uint8)).astype(bool)
    chin_y = moving.reference_vertices[152, 1]
    torso = inner & (np.arange(height)[:, None] > chin_y)
    assert torso.sum() > 0.02 * height * width  # the crop shows the shoulders (issue 10's framing)
    assert np.abs(field[torso]).max() < 1e-3


def test_the_warp_does_not_fold(moving, asset):
    """Backward map p -> p - d(p): a positive Jacobian everywhere means no tearing, holes or doubled edges.

    Measured around the face: under it the rendered mesh replaces the warped
    photo (and the lips' own squeeze is the mesh's)."""
    vertices = moving.vertices(asset.reconstruction.expression, 1.4 * HEAD)
    field = moving.compositor.displacement(vertices)
    dy_dy, dy_dx = np.gradient(field[..., 1])
    dx_dy, dx_dx = np.gradient(field[..., 0])
    jacobian = (1 - dx_dx) * (1 - dy_dy) - dx_dy * dy_dx
    face = np.zeros(moving.size, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(vertices[:, :2].astype(np.int32)), 1)
    assert jacobian[face == 0].min() > 0.2


def test_face_lands_where_the_mesh_puts_it(moving, asset, detector):
    coeffs = asset.reconstruction.expression
    frame = moving.frame(coeffs, HEAD).rgb
    found = detector.detect_all(frame)
    assert found, "no face re-detected on the posed frame"
    points = found[0][:468]
    vertices = moving.vertices(coeffs, HEAD)
    iod = float(interocular(vertices[None])[0])
    error = np.linalg.norm(points[:, :2] - vertices[:, :2], axis=1) / iod
    assert np.median(error) < 0.06
    # The re-detected pose turns the way asked. MediaPipe reads out-of-plane
    # turns of a rendered single-photo face short (10 deg of yaw as ~6: the
    # texture's shading does not turn with it), so only within half of it.
    base = detector.detect_all(moving.frame(coeffs).rgb)[0]
    poses = landmark_poses(np.stack([base, found[0]]))
    turned = poses[1, :3] - poses[0, :3]
    assert (np.sign(turned) == np.sign(HEAD[:3])).all()
    assert (np.abs(turned - HEAD[:3]) < 0.5 * np.abs(HEAD[:3]) + 1.0).all(), turned


def test_no_hole_pixels(moving, asset):
    """Every output pixel comes from the photo or the rendered face: none is left at a fill colour."""
    coeffs = asset.reconstruction.expression
    warped = moving.compositor.warp_photo(moving.vertices(coeffs, 1.4 * HEAD))
    photo = moving.compositor.photo
    # Backward mapping with replicated borders reads photo pixels only: the
    # warped image's colours lie within the photo's range per channel, and no
    # large uniform (hole-filled) patch appears that the photo does not have.
    assert warped.shape == photo.shape
    flat = (cv2.Laplacian(cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY), cv2.CV_32F) == 0)
    flat_photo = (cv2.Laplacian(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), cv2.CV_32F) == 0)
    assert flat.mean() < flat_photo.mean() + 0.01


@pytest.mark.parametrize("head", [np.array([2.0, -1.5, 1.0, 0.007, 0.005]), HEAD / 3.0])
def test_a_moved_head_stays_as_sharp_as_the_photo(moving, asset, detector, head):
    """Published CPBD of the face at a new pose: the photo is read between its
    pixels there, and bilinear reads lost 0.1-0.15 of it on real clips."""
    from talking_head.eval.evaluate import face_sharpness

    frame = moving.frame(asset.reconstruction.expression, head).rgb
    photo = moving.background
    sharp = face_sharpness(frame, detector.detect_all(frame)[0])
    assert sharp >= 0.95 * face_sharpness(photo, detector.detect_all(photo)[0])
