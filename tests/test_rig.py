import numpy as np
import pytest

from talking_head.face.rig import (
    NAMES,
    ExpressionRig,
    close_lips,
    closed_mouth,
    explained_variance,
    fit_with_neutral,
    inner_lip_gap,
    load_rig,
    mouth_region,
)
from talking_head.face.topology import (
    CHIN,
    FOREHEAD,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    NOSE_TIP,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    load_topology,
)

CONTRACT = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthSmile_L",
    "mouthSmile_R",
    "mouthStretch_L",
    "mouthStretch_R",
    "mouthUpperUp",
    "mouthLowerDown",
    "mouthPress",
    "eyeBlink_L",
    "eyeBlink_R",
    "browInnerUp",
)


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def topo():
    return load_topology()


def eye_gap(points, upper, lower):
    return float(np.linalg.norm(points[list(upper)] - points[list(lower)], axis=-1).mean())


def test_names_shapes_and_bounds(rig):
    assert rig.names[: len(CONTRACT)] == CONTRACT
    assert rig.names == NAMES and len(set(rig.names)) == rig.size
    assert rig.deltas.shape == (rig.size, 468, 3) and rig.deltas.dtype == np.float64
    assert np.isfinite(rig.deltas).all()
    assert rig.lower.shape == rig.upper.shape == (rig.size,)
    assert (rig.lower < rig.upper).all()
    assert not rig.deltas.flags.writeable
    assert load_rig() is rig
    # Every shape moves something, and the shapes are linearly independent.
    assert (np.abs(rig.deltas).reshape(rig.size, -1).max(axis=1) > 0.1).all()
    assert np.linalg.matrix_rank(rig.deltas.reshape(rig.size, -1)) == rig.size


def test_index_and_coefficients(rig):
    assert rig.index("jawOpen") == 0
    with pytest.raises(KeyError, match="unknown blendshape"):
        rig.index("noSuchShape")
    c = rig.coefficients(jawOpen=0.5, eyeBlink_L=1.0)
    assert c.shape == (rig.size,) and c.sum() == 1.5 and c[rig.index("eyeBlink_L")] == 1.0


def test_apply_shapes(rig, topo):
    v = topo.vertices
    assert np.array_equal(rig.apply(v, np.zeros(rig.size)), v)
    seq = np.zeros((4, rig.size))
    seq[2, 0] = 1.0
    out = rig.apply(v, seq)
    assert out.shape == (4, 468, 3)
    assert np.allclose(out[2], v + rig.deltas[0]) and np.allclose(out[0], v)
    with pytest.raises(ValueError, match="coefficients"):
        rig.apply(v, np.zeros(rig.size + 1))


def test_jaw_open_opens_the_mouth(rig, topo):
    v = topo.vertices
    opened = rig.apply(v, rig.coefficients(jawOpen=1.0))
    delta = opened - v
    # The inner upper lip stays, the inner lower lip drops: a 1.5-2.5 cm hole.
    assert np.abs(delta[13]).max() < 0.05
    assert delta[14, 1] < -1.5
    assert 1.5 <= np.linalg.norm(opened[13] - opened[14]) <= 2.5
    assert inner_lip_gap(opened) - inner_lip_gap(v) > 1.2
    # The chin goes down (and back) with the jaw; the upper face does not move.
    assert delta[CHIN, 1] < -1.0 and delta[CHIN, 2] < 0
    for i in (NOSE_TIP, FOREHEAD, 159, 386):
        assert np.abs(delta[i]).max() < 1e-3
    # The 18 mouth triangles open into a hole (their area in the x-y plane grows).
    tris = topo.triangles[topo.mouth_triangles]

    def area(p):
        a, b, c = p[tris[:, 0], :2], p[tris[:, 1], :2], p[tris[:, 2], :2]
        return 0.5 * np.abs(np.cross(b - a, c - a)).sum()

    assert area(opened) > 3 * area(v)


@pytest.mark.parametrize(
    ("name", "upper", "lower", "other_upper", "other_lower"),
    [
        ("eyeBlink_L", LEFT_EYE_UPPER, LEFT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
        ("eyeBlink_R", RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_EYE_LOWER),
    ],
)
def test_blink_closes_its_own_eye(rig, topo, name, upper, lower, other_upper, other_lower):
    v = topo.vertices
    closed = rig.apply(v, rig.coefficients(**{name: 1.0}))
    assert eye_gap(v, upper, lower) > 0.3
    assert eye_gap(closed, upper, lower) < 0.02
    assert eye_gap(closed, other_upper, other_lower) == pytest.approx(eye_gap(v, other_upper, other_lower))
    # _L is the subject's left, +x in canonical space.
    moved = np.abs(rig.deltas[rig.index(name)]).max(axis=1) > 1e-3
    assert np.sign(v[moved, 0]).mean() == (1 if name.endswith("_L") else -1)


def test_left_right_pairs_mirror_each_other(rig, topo):
    mirror = topo.mirror
    flip = np.array([-1.0, 1.0, 1.0])
    for left in [n for n in rig.names if n.endswith("_L")] + ["jawLeft", "mouthLeft"]:
        right = left.replace("_L", "_R").replace("Left", "Right")
        mirrored = rig.deltas[rig.index(right)][mirror] * flip
        assert np.abs(mirrored - rig.deltas[rig.index(left)]).max() < 0.02, left
    for name in ("jawOpen", "mouthFunnel", "mouthPucker", "browInnerUp", "mouthUpperUp", "mouthLowerDown"):
        d = rig.deltas[rig.index(name)]
        assert np.abs(d[mirror] * flip - d).max() < 0.02, name


def test_smile_raises_its_own_corner(rig):
    d = rig.deltas[rig.index("mouthSmile_L")]
    assert d[291, 1] > 0.3 and d[291, 0] > 0.3  # subject's left corner: up and out
    assert np.abs(d[61]).max() < 0.05
    pucker = rig.deltas[rig.index("mouthPucker")]
    assert pucker[291, 0] < -0.3 and pucker[61, 0] > 0.3 and pucker[0, 2] > 0.3
    brow = rig.deltas[rig.index("browInnerUp")]
    assert brow[107, 1] > 0.5 and brow[336, 1] > 0.5 and np.abs(brow[14]).max() < 1e-3


def test_fit_recovers_known_coefficients(rig, topo):
    rng = np.random.default_rng(0)
    v = topo.vertices
    for _ in range(3):
        truth = rng.uniform(0.0, 0.8, rig.size) * (rng.random(rig.size) < 0.5)
        fitted = rig.fit(rig.apply(v, truth), v, regularization=1e-6)
        assert np.abs(fitted - truth).max() < 0.05
        # The default ridge shrinks only a little.
        assert np.abs(rig.fit(rig.apply(v, truth), v) - truth).max() < 0.1


def test_fit_respects_bounds_and_weights(rig, topo):
    v = topo.vertices
    extreme = rig.apply(v, rig.coefficients(jawOpen=3.0, mouthSmile_L=-2.0))
    fitted = rig.fit(extreme, v)
    assert (fitted >= rig.lower - 1e-9).all() and (fitted <= rig.upper + 1e-9).all()
    assert fitted[rig.index("jawOpen")] == pytest.approx(1.0)
    # Vertices with zero weight are ignored: a wild brow is not seen by a mouth-only fit.
    shape = rig.apply(v, rig.coefficients(jawOpen=0.4))
    shape[[107, 66, 105, 336, 296, 334]] += [0, 5.0, 0]
    weights = np.ones(468)
    weights[[107, 66, 105, 336, 296, 334]] = 0.0
    assert rig.fit(shape, v, weights, regularization=1e-6)[0] == pytest.approx(0.4, abs=1e-3)


def test_fit_sequence_matches_fit(rig, topo):
    rng = np.random.default_rng(1)
    v = topo.vertices
    coeffs = rng.uniform(0, 1, (5, rig.size)) * (rng.random((5, rig.size)) < 0.3)
    shapes = rig.apply(v, coeffs) + rng.normal(0, 0.01, (5, 468, 3))
    seq = rig.fit_sequence(shapes, v)
    assert seq.shape == (5, rig.size)
    for t in range(5):
        assert np.allclose(seq[t], rig.fit(shapes[t], v), atol=1e-8)
    with pytest.raises(ValueError, match="shapes"):
        rig.fit_sequence(np.zeros((5, 10, 3)), v)


def test_fit_with_neutral_recovers_a_synthetic_video(rig, topo):
    rng = np.random.default_rng(2)
    # A person whose neutral differs from the canonical mesh, talking.
    neutral = topo.vertices + rng.normal(0, 0.1, (468, 3))
    coeffs = rng.uniform(0, 0.6, (60, rig.size)) * (rng.random((60, rig.size)) < 0.3)
    shapes = rig.apply(neutral, coeffs) + rng.normal(0, 0.005, (60, 468, 3))
    fitted_neutral, fitted = fit_with_neutral(rig, shapes, iterations=15)
    ids = list(mouth_region())
    model = rig.apply(fitted_neutral, fitted)
    assert explained_variance(shapes[:, ids], model[:, ids]) > 0.98
    # Not the mean face: the neutral is near the true, expression-free one.
    assert np.abs(fitted_neutral - neutral)[ids].mean() < np.abs(shapes.mean(0) - neutral)[ids].mean() / 3


def test_closed_mouth_is_the_neutral(rig, topo):
    v = topo.vertices
    closed = closed_mouth(topo)
    assert inner_lip_gap(v) > 0.4 and inner_lip_gap(closed) < 1e-9
    moved = np.abs(closed - v).max(axis=1) > 1e-6
    assert moved[[0, 13, 14, 17]].all() and not moved[[NOSE_TIP, CHIN, FOREHEAD, 61, 291]].any()
    # From closed lips, jawOpen still opens a 1.5-2.5 cm hole.
    opened = rig.apply(closed, rig.coefficients(jawOpen=1.0))
    assert 1.5 <= np.linalg.norm(opened[13] - opened[14]) <= 2.5
    # Crossed lips are parted back to meeting; closed ones stay.
    crossed = rig.apply(closed, rig.coefficients(mouthClose=0.3))
    assert inner_lip_gap(close_lips(crossed, topo)) < 1e-9
    assert np.allclose(close_lips(closed, topo), closed)


def test_personalized_blink_closes_any_eye(rig, topo):
    # Eyes opened wider than the canonical ones (the upper lids raised 3 mm).
    wide = topo.vertices.copy()
    wide[list(LEFT_EYE_UPPER + RIGHT_EYE_UPPER), 1] += 0.3
    person = rig.personalize(wide)
    assert person.names == rig.names and np.array_equal(person.upper, rig.upper)
    closed = person.apply(wide, person.coefficients(eyeBlink_L=1.0, eyeBlink_R=1.0))
    assert eye_gap(closed, LEFT_EYE_UPPER, LEFT_EYE_LOWER) < 1e-9
    assert eye_gap(rig.apply(wide, rig.coefficients(eyeBlink_L=1.0)), LEFT_EYE_UPPER, LEFT_EYE_LOWER) > 0.2
    others = [k for k, n in enumerate(rig.names) if not n.startswith("eyeBlink")]
    assert np.array_equal(person.deltas[others], rig.deltas[others])


def test_priors_threshold_and_shrink(rig, topo):
    v = topo.vertices
    shape = rig.apply(v, rig.coefficients(mouthSmile_L=0.5, mouthSmile_R=0.05))
    plain = rig.fit(shape, v, regularization=1e-6)
    thresholded = rig.fit(shape, v, regularization=1e-6, threshold=0.1)
    left, right = rig.index("mouthSmile_L"), rig.index("mouthSmile_R")
    assert plain[left] == pytest.approx(0.5, abs=1e-3) and plain[right] == pytest.approx(0.05, abs=1e-3)
    assert thresholded[left] == pytest.approx(0.4, abs=0.03) and thresholded[right] < 0.01
    ridged = rig.fit(shape, v, regularization=1.0)
    assert 0.15 < ridged[left] < 0.35  # about halved
    per_shape = np.full(rig.size, 0.1)
    per_shape[left] = 0.0
    assert rig.fit(shape, v, regularization=1e-6, threshold=per_shape)[left] == pytest.approx(0.5, abs=1e-3)


def test_inner_lip_gap():
    points = np.zeros((478, 3))
    points[[13, 82, 81, 80, 312, 311, 310], 1] = 1.0
    points[[14, 87, 178, 88, 317, 402, 318], 1] = -2.0
    assert inner_lip_gap(points) == pytest.approx(3.0)
    gaps = inner_lip_gap(np.stack([points, points * 2, points * 0]))
    assert gaps.shape == (3,) and np.allclose(gaps, [3.0, 6.0, 0.0])
    assert isinstance(inner_lip_gap(points[:468]), float)


def test_explained_variance():
    rng = np.random.default_rng(3)
    observed = rng.normal(size=(50, 10, 3))
    assert explained_variance(observed, observed) == pytest.approx(1.0)
    assert explained_variance(observed, np.broadcast_to(observed.mean(0), observed.shape)) == pytest.approx(0.0)
    # Half the variance explained: the model recovers one of two equal, independent parts.
    a = np.zeros((4, 1, 1))
    a[:, 0, 0] = [1, -1, 1, -1]
    b = np.zeros((4, 1, 1))
    b[:, 0, 0] = [1, 1, -1, -1]
    assert explained_variance(a + b, a) == pytest.approx(0.5)
    assert explained_variance(observed, -observed) < 0
    assert np.isnan(explained_variance(np.ones((3, 2, 2)), np.ones((3, 2, 2))))


def test_mouth_region_is_lips_and_chin():
    ids = mouth_region()
    assert {13, 14, 0, 17, 61, 291, CHIN} <= set(ids)
    assert len(ids) == len(set(ids)) == 47


def test_rig_is_a_plain_frozen_record(rig):
    with pytest.raises(AttributeError):
        rig.names = ()  # type: ignore[misc]
    small = ExpressionRig(rig.names[:2], rig.deltas[:2], rig.lower[:2], rig.upper[:2])
    assert small.apply(load_topology().vertices, [1.0, 0.0]).shape == (468, 3)


def test_audio_driven_shapes_are_the_jaw_and_mouth_ones():
    from talking_head.face.rig import NAMES, audio_driven, audio_driven_mask

    driven = audio_driven(NAMES)
    assert "jawOpen" in driven and "mouthClose" in driven
    assert not any(n.startswith(("eye", "brow")) for n in driven)
    assert [n for n, m in zip(NAMES, audio_driven_mask(NAMES)) if m] == list(driven)
