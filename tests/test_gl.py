"""The face renderer: OpenGL against the NumPy reference, on a real face."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from talking_head.errors import RendererUnavailableError
from talking_head.face.topology import INNER_LIP_LOWER, INNER_LIP_UPPER, load_topology
from talking_head.render.gl import FaceRenderer, depth_transform

from helpers import projection_texture

SIZE = (256, 256)
# Lower inner lip without the mouth corners (78, 308), which stay put.
LOWER_INNER = (14, 87, 178, 88, 95, 317, 402, 318, 324)


@pytest.fixture(scope="module")
def topology():
    return load_topology()


@pytest.fixture(scope="module")
def photo_points(astronaut, detector):
    return detector.detect_all(astronaut)[0][:468]


@pytest.fixture(scope="module")
def face(photo_points):
    """(468, 3) the astronaut's mesh scaled into a 256 x 256 frame (face ~200 px)."""
    low, high = photo_points[:, :2].min(axis=0), photo_points[:, :2].max(axis=0)
    scale = 200.0 / (high - low).max()
    out = photo_points * scale
    out[:, :2] += 128.0 - (low + high) / 2.0 * scale
    return out


@pytest.fixture(scope="module")
def texture(astronaut, photo_points, topology):
    return projection_texture(astronaut, photo_points, topology, 256)


def make_renderer(backend, topology):
    try:
        return FaceRenderer(SIZE, topology, backend=backend)
    except RendererUnavailableError as error:
        pytest.skip(f"no OpenGL (EGL) context can be created here: {error}")


@pytest.fixture(scope="module")
def gl_renderer(topology, texture):
    renderer = make_renderer("gl", topology)
    renderer.set_texture(texture)
    yield renderer
    renderer.close()


@pytest.fixture(scope="module")
def numpy_renderer(topology, texture):
    renderer = FaceRenderer(SIZE, topology, backend="numpy")
    renderer.set_texture(texture)
    return renderer


@pytest.fixture(params=["gl", "numpy"])
def renderer(request):
    return request.getfixturevalue(f"{request.param}_renderer")


def closed_mouth(face):
    out = face.copy()
    out[list(INNER_LIP_LOWER)] = face[list(INNER_LIP_UPPER)]
    return out


def opened_mouth(face, pixels=8.0):
    out = closed_mouth(face)
    out[list(LOWER_INNER), 1] += pixels
    return out


def straight(rgba):
    return rgba[..., :3] / np.maximum(rgba[..., 3:], 1e-6)


def test_gl_matches_numpy_reference(gl_renderer, numpy_renderer, face):
    gl, ref = gl_renderer.render(face), numpy_renderer.render(face)
    assert gl.rgba.shape == (*SIZE, 4) and gl.rgba.dtype == np.float32
    assert gl.mouth.shape == SIZE and gl.mouth.dtype == np.float32
    a, b = gl.alpha > 0.5, ref.alpha > 0.5
    assert b.sum() > 20000  # a real face, not an empty frame
    assert (a & b).sum() / (a | b).sum() > 0.98
    both = a & b
    colour_diff = np.abs(straight(gl.rgba)[both] - straight(ref.rgba)[both]).mean()
    assert colour_diff < 3.0 / 255.0
    # The astronaut smiles with parted lips: both see the same mouth opening.
    m, n = gl.mouth > 0.5, ref.mouth > 0.5
    assert n.sum() > 100
    assert (m & n).sum() / (m | n).sum() > 0.9


@pytest.mark.parametrize("backend", ["gl", "numpy"])
def test_renders_the_texture_upright(backend, topology, face):
    """Texture row 0 (v = 0, forehead) lands at the top of the frame."""
    texture = np.zeros((64, 64, 4), np.uint8)
    texture[:32] = (255, 0, 0, 255)
    texture[32:] = (0, 0, 255, 255)
    with make_renderer(backend, topology) as renderer:
        renderer.set_texture(texture)
        out = renderer.render(face)
    rows = np.nonzero(out.alpha.max(axis=1) > 0.5)[0]
    colour, covered = straight(out.rgba), out.alpha > 0.5
    top, bottom = rows[:10], rows[-10:]
    assert colour[top][covered[top]][:, 0].mean() > 0.9  # red forehead
    assert colour[bottom][covered[bottom]][:, 2].mean() > 0.9  # blue chin


def test_mouth_mask_only_when_lips_part(renderer, face):
    closed = renderer.render(closed_mouth(face))
    opened = renderer.render(opened_mouth(face, 8.0))
    assert closed.mouth.sum() < 1.0
    assert opened.mouth.sum() > 200.0
    # The opening is a hole in the skin: no skin where the mouth shows.
    assert opened.alpha[opened.mouth > 0.99].max() < 0.01
    # ... and it lies between the lips.
    rows, cols = np.nonzero(opened.mouth > 0.5)
    lips = face[list(INNER_LIP_UPPER)]
    assert lips[:, 0].min() - 1 <= cols.min() and cols.max() <= lips[:, 0].max() + 1


def test_mouth_hidden_behind_skin_is_not_drawn(renderer, face):
    """Slide the opening under the cheek: in front of the skin it shows, far
    behind it the skin wins the depth test."""
    moved = opened_mouth(face, 8.0)
    ids = list(set(INNER_LIP_UPPER + LOWER_INNER))
    moved[ids, 0] += 45.0
    moved[ids, 2] -= 10_000.0
    in_front = renderer.render(moved).mouth.sum()
    moved[ids, 2] += 20_000.0
    behind = renderer.render(moved).mouth.sum()
    assert in_front > 200.0
    assert behind < 0.3 * in_front


def test_render_from_another_thread(gl_renderer, face):
    expected = gl_renderer.render(face)
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(gl_renderer.render, face).result()
    np.testing.assert_array_equal(other.rgba, expected.rgba)


def test_depth_transform_keeps_range_inside_clip_space():
    z = np.array([-40.0, 3.0, 25.0])
    a, b = depth_transform(z)
    ndc = a * z + b
    assert ndc.min() == pytest.approx(-0.9) and ndc.max() == pytest.approx(0.9)
    a, b = depth_transform(np.zeros(3))  # flat face: finite
    assert np.isfinite([a, b]).all()


def test_bad_inputs(topology, numpy_renderer):
    with pytest.raises(ValueError):
        FaceRenderer(SIZE, topology, backend="vulkan")
    fresh = FaceRenderer(SIZE, topology, backend="numpy")
    with pytest.raises(RuntimeError):
        fresh.render(np.zeros((468, 3)))
    with pytest.raises(ValueError):
        numpy_renderer.render(np.zeros((478, 3)))
    with pytest.raises(ValueError):
        numpy_renderer.set_texture(np.zeros((8, 8, 4), np.float32))


def test_falls_back_to_numpy_without_egl(topology, monkeypatch):
    import moderngl

    def no_display(*args, **kwargs):
        raise RuntimeError("eglGetDisplay failed")

    monkeypatch.setattr(moderngl, "create_standalone_context", no_display)
    assert FaceRenderer(SIZE, topology).backend == "numpy"
    with pytest.raises(RendererUnavailableError, match="NumPy"):
        FaceRenderer(SIZE, topology, backend="gl")


def test_multisampling_softens_only_edges(topology, texture, face, gl_renderer):
    with FaceRenderer(SIZE, topology, backend="gl", samples=4) as renderer:
        renderer.set_texture(texture)
        smooth = renderer.render(opened_mouth(face))
    sharp = gl_renderer.render(opened_mouth(face))
    partial = (smooth.mouth > 0.01) & (smooth.mouth < 0.99)
    assert partial.sum() > 20  # anti-aliased lip edge
    assert abs(smooth.mouth.sum() - sharp.mouth.sum()) < 0.1 * sharp.mouth.sum()
    assert abs(smooth.alpha.sum() - sharp.alpha.sum()) < 0.01 * sharp.alpha.sum()


@pytest.fixture(scope="module")
def framed(astronaut, face, photo_points):
    """The astronaut resampled into the 256 px frame where ``face`` is her mesh."""
    import cv2

    low, high = photo_points[:, :2].min(axis=0), photo_points[:, :2].max(axis=0)
    scale = 200.0 / (high - low).max()
    shift = 128.0 - (low + high) / 2.0 * scale
    matrix = np.array([[scale, 0, shift[0] + 0.5 * scale - 0.5], [0, scale, shift[1] + 0.5 * scale - 0.5]])
    return cv2.warpAffine(astronaut, matrix, SIZE[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("backend", ["gl", "numpy"])
def test_photo_sampling_reproduces_the_photo_at_rest(backend, topology, texture, face, framed):
    from talking_head.render.gl import photo_weights

    renderer = make_renderer(backend, topology)
    renderer.set_texture(texture)
    weights = photo_weights(face, topology, SIZE)
    renderer.set_photo(framed, face, weights)
    out = renderer.render(face)
    skin = out.alpha > 0.99
    diff = np.abs(out.rgba[..., :3][skin] * 255.0 - framed[skin]).max(axis=-1)
    # Where the photo sees the face, the rendered pixels are the photo's own (one
    # interpolation at pixel centres); the few others blend in the UV texture.
    assert np.median(diff) < 0.6 and np.mean(diff < 2.0) > 0.85
    renderer.close()


def test_photo_weights_fade_where_the_photo_does_not_see(topology, face):
    from talking_head.render.gl import photo_weights

    weights = photo_weights(face, topology, SIZE)
    assert weights[1] == 1.0 and weights[4] == 1.0  # nose tip and bridge, head-on
    assert 0.6 < weights.mean() < 0.95
    turned = face.copy()
    turned[:, 0] = 128 + (face[:, 0] - 128) * np.cos(1.2) + (face[:, 2] - face[:, 2].mean()) * np.sin(1.2)
    turned[:, 2] = -(face[:, 0] - 128) * np.sin(1.2) + (face[:, 2] - face[:, 2].mean()) * np.cos(1.2)
    side = photo_weights(turned, topology, SIZE)
    assert (side == 0).mean() > (weights == 0).mean() + 0.2  # one cheek turned away
    outside = face + np.array([300.0, 0.0, 0.0])
    assert photo_weights(outside, topology, SIZE).max() == 0.0  # nothing outside the frame


def test_rendered_face_is_as_sharp_as_the_photo(topology, texture, face, framed, detector):
    """Published CPBD at 256 px of a talking frame (jaw a little open) against the photo."""
    from talking_head.eval.evaluate import face_sharpness
    from talking_head.render.compose import Compositor
    from talking_head.render.gl import photo_weights

    renderer = make_renderer("gl", topology)
    renderer.set_texture(texture)
    moved = opened_mouth(face, 4.0)
    compositor = Compositor(framed, face)
    points = detector.detect_all(framed)[0]
    photo = face_sharpness(framed, points)
    from_texture = face_sharpness(compositor.compose(renderer.render(moved), moved).rgb, points)
    renderer.set_photo(framed, face, photo_weights(face, topology, SIZE))
    one_resampling = face_sharpness(compositor.compose(renderer.render(moved), moved).rgb, points)
    renderer.close()
    assert one_resampling >= 0.95 * photo
    assert one_resampling > from_texture  # the UV texture alone resamples twice




@pytest.mark.parametrize("angle", [0.3, -0.3])
def test_vertices_any_of_whose_triangles_the_photo_sees_are_seen(topology, face, angle, monkeypatch):
    """Visibility ORs over a vertex's triangles: testing one arbitrary triangle
    per vertex dropped a line of cheek vertices beside a turned nose to the
    UV texture's mirror fill (a bright seam on real portraits)."""
    from talking_head.face.texture import visible_points
    from talking_head.render import gl

    turned = face.copy()
    centre = face[:, 2].mean()
    turned[:, 0] = 128 + (face[:, 0] - 128) * np.cos(angle) + (face[:, 2] - centre) * np.sin(angle)
    turned[:, 2] = -(face[:, 0] - 128) * np.sin(angle) + (face[:, 2] - centre) * np.cos(angle)
    monkeypatch.setattr(gl, "PHOTO_FACING_RAMP", (-2.0, -1.5))  # visibility alone
    seen = gl.photo_weights(turned, topology, SIZE) > 0
    triangles = topology.face_triangles
    corner = triangles.ravel()
    shows = visible_points(turned, triangles, turned[corner], np.repeat(np.arange(len(triangles)), 3), SIZE)
    assert seen[corner[shows]].all()
    assert 0 < (~seen).sum() < 0.2 * len(seen)  # the far side of the nose is hidden
