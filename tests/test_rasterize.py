import numpy as np

from talking_head.rasterize import rasterize


def test_square_coverage_and_barycentrics():
    positions = np.array([[2.0, 2.0], [10.0, 2.0], [10.0, 10.0], [2.0, 10.0]])
    triangles = np.array([[0, 1, 2], [0, 2, 3]])
    frags = rasterize(positions, triangles, (12, 12))
    assert frags.covered.sum() == 64  # pixel centres 2.5 .. 9.5
    xy = frags.interpolate(positions, triangles)
    jj, ii = np.meshgrid(np.arange(12) + 0.5, np.arange(12) + 0.5)
    assert np.allclose(xy[frags.covered, 0], jj[frags.covered])
    assert np.allclose(xy[frags.covered, 1], ii[frags.covered])


def test_nearer_triangle_wins():
    positions = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]] * 2)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    depth = np.array([5.0, 5.0, 5.0, 1.0, 1.0, 1.0])
    frags = rasterize(positions, triangles, (8, 8), depth)
    assert (frags.triangle[frags.covered] == 1).all()
    depth[3:] = 9.0
    frags = rasterize(positions, triangles, (8, 8), depth)
    assert (frags.triangle[frags.covered] == 0).all()


def test_offscreen_triangle_is_clipped():
    positions = np.array([[-20.0, -20.0], [-10.0, -20.0], [-10.0, -10.0]])
    frags = rasterize(positions, np.array([[0, 1, 2]]), (4, 4))
    assert not frags.covered.any()
