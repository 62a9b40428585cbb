import numpy as np

from talking_head.face.topology import INNER_LIP_LOWER, INNER_LIP_UPPER, load_topology
from talking_head.rasterize import rasterize


def signed_areas(points, triangles):
    a, b, c = (points[triangles[:, i]] for i in range(3))
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def test_asset_shapes():
    topo = load_topology()
    assert topo.vertices.shape == (468, 3)
    assert topo.uvs.shape == (468, 2)
    assert topo.triangles.shape == (898, 3)
    assert topo.triangles.min() == 0 and topo.triangles.max() == 467


def test_uvs_in_unit_square_and_none_flipped():
    topo = load_topology()
    assert (topo.uvs >= 0).all() and (topo.uvs <= 1).all()
    areas = signed_areas(topo.uvs, topo.triangles)
    assert (np.abs(areas) > 0).all()
    assert (np.sign(areas) == np.sign(areas[0])).all(), "a UV triangle is flipped"


def test_uv_triangles_do_not_overlap():
    topo = load_topology()
    size = 1024
    total = np.abs(signed_areas(topo.uvs * size, topo.triangles)).sum() / 2
    union = rasterize(topo.uvs * size, topo.triangles, (size, size)).covered.sum()
    # Overlapping triangles would make the union smaller than the sum of areas.
    assert abs(union - total) / total < 0.01


def test_mouth_opening_is_the_inner_lip_gap():
    topo = load_topology()
    mouth = topo.triangles[topo.mouth_triangles]
    assert len(mouth) == 18
    ring = set(INNER_LIP_UPPER) | set(INNER_LIP_LOWER)
    assert set(mouth.ravel()) <= ring
    # Each mouth triangle bridges the upper and the lower lip.
    upper, lower = set(INNER_LIP_UPPER[1:-1]), set(INNER_LIP_LOWER[1:-1])
    for tri in mouth:
        tri = set(tri.tolist())
        assert tri & (upper | {78, 308}) and tri & (lower | {78, 308})


def test_mirror_is_an_involution_across_x():
    topo = load_topology()
    assert (topo.mirror[topo.mirror] == np.arange(468)).all()
    mirrored = topo.vertices[topo.mirror] * [-1, 1, 1]
    assert np.abs(mirrored - topo.vertices).max() < 0.05
