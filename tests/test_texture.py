"""Texture sampler on the astronaut photo (real MediaPipe landmarks) and synthetic poses."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from talking_head.face.pose import estimate_pose
from talking_head.face.texture import (
    facing_triangles,
    sample_bilinear,
    sample_texture,
    uv_layout,
    visible_points,
)
from talking_head.face.topology import NOSE_TIP, load_topology
from talking_head.media import load_image
from talking_head.rasterize import rasterize
from talking_head.types import RigidPose

SIZE = 256


@pytest.fixture(scope="module")
def topology():
    return load_topology()


@pytest.fixture(scope="module")
def vertices(astronaut, detector):
    return detector.detect(load_image(astronaut)).mesh_points


@pytest.fixture(scope="module")
def textures(astronaut, vertices, topology):
    return {mode: sample_texture(astronaut, vertices, topology, 512, mode) for mode in ("dense", "paper")}


def yawed_vertices(topology, astronaut_vertices, degrees: float) -> np.ndarray:
    """The canonical mesh at the astronaut's scale and place, turned about the vertical axis.

    Positive angles turn the subject's left side (canonical +x, UV u > 0.5) away.
    """
    pose = estimate_pose(topology.vertices, astronaut_vertices, topology.procrustes_ids, topology.procrustes_weights)
    angle = np.radians(degrees)
    yaw = np.array(
        [[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]]
    )
    frontal = np.diag([1.0, -1.0, -1.0])
    return RigidPose(pose.scale, frontal @ yaw, pose.translation).apply(topology.vertices)


def texel_of(uv: np.ndarray, size: int) -> tuple[int, int]:
    return int(uv[1] * size), int(uv[0] * size)


def gradient_energy(rgba: np.ndarray) -> float:
    """Mean squared Sobel gradient of the grey texture over covered texels away from the border."""
    grey = cv2.cvtColor(rgba[..., :3], cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    inner = cv2.erode((rgba[..., 3] == 255).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float((gx**2 + gy**2)[inner].mean())


@pytest.mark.parametrize("mode", ["dense", "paper"])
def test_shapes_and_dtypes(astronaut, vertices, topology, mode):
    texture = sample_texture(astronaut, vertices, topology, SIZE, mode)
    assert texture.rgba.shape == (SIZE, SIZE, 4) and texture.rgba.dtype == np.uint8
    assert texture.valid.shape == (SIZE, SIZE) and texture.valid.dtype == bool
    assert texture.mode == mode
    assert set(np.unique(texture.rgba[..., 3])) == {0, 255}


def test_alpha_is_the_uv_footprint_and_colours_extend_past_it(astronaut, vertices, topology):
    texture = sample_texture(astronaut, vertices, topology, SIZE)
    footprint = rasterize(topology.uvs * SIZE, topology.triangles, (SIZE, SIZE)).covered
    covered = texture.rgba[..., 3] == 255
    np.testing.assert_array_equal(covered, footprint)
    assert not (texture.valid & ~covered).any()
    # A ring just outside the footprint carries colour (for bilinear filtering), with alpha 0.
    ring = cv2.dilate(footprint.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~footprint
    assert ring.any() and (texture.rgba[ring, :3].max(axis=1) > 0).all()
    assert (texture.rgba[ring, 3] == 0).all()
    far = ~cv2.dilate(footprint.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
    assert (texture.rgba[far] == 0).all()


def test_mouth_opening_is_in_the_texture(astronaut, vertices, topology):
    texture = sample_texture(astronaut, vertices, topology, SIZE)
    layout = uv_layout(topology, SIZE)
    in_mouth = topology.mouth_triangles[layout.triangle]
    assert in_mouth.sum() > 20
    assert (texture.rgba.reshape(-1, 4)[layout.texels[in_mouth], 3] == 255).all()


def test_layout_is_cached_and_mirror_is_an_involution(topology):
    layout = uv_layout(topology, SIZE)
    assert uv_layout(topology, SIZE) is layout
    has = layout.mirror >= 0
    assert has.mean() > 0.99
    back = layout.mirror[layout.mirror[has]]
    # Mirroring twice lands on the same texel or a neighbour (UV layout symmetric to ~1e-3).
    rows, cols = np.divmod(layout.texels[has], SIZE)
    back_rows, back_cols = np.divmod(layout.texels[np.where(back >= 0, back, 0)], SIZE)
    near = (back >= 0) & (np.abs(rows - back_rows) <= 1) & (np.abs(cols - back_cols) <= 1)
    assert near.mean() > 0.99


def test_nose_tip_has_the_photo_colour(astronaut, vertices, topology, textures):
    x, y = vertices[NOSE_TIP, :2]
    expected = sample_bilinear(astronaut, np.array([[x, y]]))[0]
    row, col = texel_of(topology.uvs[NOSE_TIP], 512)
    dense = textures["dense"]
    assert dense.valid[row, col]
    assert np.abs(dense.rgba[row, col, :3] - expected).max() < 10
    # Paper mode: the vertex colour is the photo's pixel under the vertex.
    nearest_pixel = astronaut[int(y), int(x)].astype(float)
    assert np.abs(textures["paper"].rgba[row, col, :3] - nearest_pixel).max() < 12


def test_dense_is_sharper_than_paper_and_both_complete(textures):
    dense, paper = textures["dense"], textures["paper"]
    for texture in (dense, paper):
        covered = texture.rgba[..., 3] == 255
        assert covered.mean() > 0.5
        assert (texture.rgba[covered, :3].max(axis=1) > 0).all()  # no black texels
        assert texture.valid[covered].mean() > 0.8  # a near-frontal photo is mostly seen
    sharp, smooth = gradient_energy(dense.rgba), gradient_energy(paper.rgba)
    assert sharp > 1.5 * smooth, (sharp, smooth)


def test_facing_sign():
    # A square seen from the front (outer side wound counter-clockwise seen
    # from the viewer in a y-up frame), mapped to image space (y down, z away).
    canonical = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    square = np.array([[0, 1, 2], [0, 2, 3]])
    frontal = canonical * np.array([1.0, -1.0, -1.0])
    assert facing_triangles(frontal, square).all()
    turned_away = canonical * np.array([-1.0, -1.0, 1.0])  # rotated 180 deg about y
    assert not facing_triangles(turned_away, square).any()


def test_frontal_canonical_mesh_faces_the_camera(topology):
    image = topology.vertices * np.array([10.0, -10.0, -10.0]) + np.array([100.0, 100.0, 0.0])
    facing = facing_triangles(image, topology.triangles)
    nose = (topology.triangles == NOSE_TIP).any(axis=1)
    assert facing[nose].all()
    assert facing.mean() > 0.85


def test_nearer_surface_hides_the_farther_one():
    # Two facing squares, the front one covering x in [0, 10), the back one [0, 20).
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    front = np.column_stack([square * 10.0 + 5.0, np.zeros(4)])
    back = np.column_stack([square * np.array([20.0, 10.0]) + 5.0, np.full(4, 50.0)])
    vertices = np.vstack([front, back])
    # Counter-clockwise on screen with y down is clockwise seen from a y-up frame: wind it so it faces.
    triangles = np.array([[0, 2, 1], [0, 3, 2], [4, 6, 5], [4, 7, 6]])
    assert facing_triangles(vertices, triangles).all()
    points = np.array([[8.0, 8.0, 50.0], [20.0, 8.0, 50.0], [8.0, 8.0, 0.0], [40.0, 8.0, 50.0]])
    visible = visible_points(vertices, triangles, points, np.array([2, 2, 0, 2]), (30, 30))
    np.testing.assert_array_equal(visible, [False, True, True, False])  # the last one is off the image


def test_yawed_face_far_side_is_invalid_and_filled_from_the_mirror(astronaut, vertices, topology):
    texture = sample_texture(astronaut, yawed_vertices(topology, vertices, 40.0), topology, SIZE)
    covered = texture.rgba[..., 3] == 255
    u = (np.arange(SIZE) + 0.5) / SIZE
    near = covered & (u < 0.4)[None, :]
    far = covered & (u > 0.75)[None, :]
    assert texture.valid[near].mean() > 0.95
    assert texture.valid[far].mean() < 0.1
    # Facing texels hidden behind the nose are invalid too (the depth test, not only facing).
    layout = uv_layout(topology, SIZE)
    facing = facing_triangles(yawed_vertices(topology, vertices, 40.0), topology.triangles)[layout.triangle]
    hidden = facing & ~texture.valid.ravel()[layout.texels]
    assert hidden.sum() > 100
    # Invalid texels whose mirror is valid carry the mirrored colour.
    mirrored = covered & ~texture.valid & texture.valid[:, ::-1] & covered[:, ::-1]
    assert mirrored.sum() > 0.2 * (covered & (u > 0.5)[None, :]).sum()
    difference = np.abs(texture.rgba[..., :3].astype(int) - texture.rgba[:, ::-1, :3])[mirrored]
    assert difference.mean() < 3
    # The opposite turn mirrors the picture.
    other = sample_texture(astronaut, yawed_vertices(topology, vertices, -40.0), topology, SIZE)
    assert other.valid[near].mean() < 0.7 and other.valid[far].mean() > 0.95


def test_mirrored_photo_gives_the_mirrored_texture(astronaut, vertices, topology, detector):
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    flipped_vertices = detector.detect(load_image(flipped)).mesh_points
    texture = sample_texture(astronaut, vertices, topology, SIZE)
    from_flipped = sample_texture(flipped, flipped_vertices, topology, SIZE)
    both = texture.valid & from_flipped.valid[:, ::-1]
    assert both.mean() > 0.4
    mirrored = np.abs(texture.rgba[..., :3].astype(int) - from_flipped.rgba[:, ::-1, :3])[both].mean()
    unmirrored = np.abs(texture.rgba[..., :3].astype(int) - from_flipped.rgba[..., :3])[both].mean()
    assert mirrored < 12 and mirrored < 0.5 * unmirrored, (mirrored, unmirrored)


def test_dense_samples_the_photo_at_each_texels_surface_point(astronaut, vertices, topology):
    # Slow, obvious reference for a handful of valid texels: barycentric point, then bilinear by hand.
    texture = sample_texture(astronaut, vertices, topology, SIZE)
    layout = uv_layout(topology, SIZE)
    rng = np.random.default_rng(0)
    picks = rng.choice(np.flatnonzero(texture.valid.ravel()[layout.texels]), 50, replace=False)
    image = astronaut.astype(float)
    for index in picks:
        corners = vertices[topology.triangles[layout.triangle[index]], :2]
        x, y = layout.bary[index].astype(float) @ corners - 0.5
        j, i = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - j, y - i
        expected = (
            image[i, j] * (1 - fx) * (1 - fy)
            + image[i, j + 1] * fx * (1 - fy)
            + image[i + 1, j] * (1 - fx) * fy
            + image[i + 1, j + 1] * fx * fy
        )
        got = texture.rgba.reshape(-1, 4)[layout.texels[index], :3]
        assert np.abs(got - expected).max() <= 1.0


def test_bad_arguments(astronaut, vertices, topology):
    with pytest.raises(ValueError, match="mode"):
        sample_texture(astronaut, vertices, topology, SIZE, "sparse")
    with pytest.raises(ValueError, match="image"):
        sample_texture(astronaut[..., 0], vertices, topology, SIZE)
    with pytest.raises(ValueError, match="vertices"):
        sample_texture(astronaut, np.zeros((478, 3)), topology, SIZE)
    with pytest.raises(ValueError, match="size"):
        sample_texture(astronaut, vertices, topology, 4)
