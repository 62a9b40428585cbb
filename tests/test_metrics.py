import cv2
import numpy as np

from talking_head.eval.metrics import (
    _edge_widths,
    best_lag_correlation,
    cpbd,
    flicker,
    jitter,
    mouth_opening,
    pearson,
)


# Published CPBD, computed once with the reference implementation: PyPI `cpbd`
# 1.0.7 (its dead `from scipy.ndimage import imread` patched out), scikit-image
# 0.26.0, scipy 1.17.1, numpy 2.4.6, in a separate venv. Inputs, all uint8 grey
# made with this project's opencv: astronaut = cv2.cvtColor(skimage.data.astronaut(),
# COLOR_RGB2GRAY); blur1 = cv2.GaussianBlur(astronaut, (0, 0), 1.0); face256 =
# cv2.resize(astronaut[30:250, 130:350], (256, 256), INTER_AREA); camera =
# skimage.data.camera(); coffee = grey of skimage.data.coffee().
REFERENCE_CPBD = {
    "astronaut": 0.3836094158674804,
    "blur1": 0.12604389201786753,
    "face256": 0.33181645809632154,
    "camera": 0.7481657466284677,
    "coffee": 0.6113925614728778,
}


def pinned_images():
    import skimage.data

    grey = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    return {
        "astronaut": grey,
        "blur1": cv2.GaussianBlur(grey, (0, 0), 1.0),
        "face256": cv2.resize(grey[30:250, 130:350], (256, 256), interpolation=cv2.INTER_AREA),
        "camera": skimage.data.camera(),
        "coffee": cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2GRAY),
    }


def slow_widths(gray, edges):
    """The reference's walk, pixel by pixel: from each horizontal-gradient edge
    pixel, step outwards from its neighbours while the intensity keeps moving in
    the gradient's direction (at most 100 steps each side)."""
    h, w = gray.shape
    gy, gx = np.gradient(gray)
    out = np.zeros((h, w))
    for y, x in zip(*np.nonzero(edges)):
        if not (0 < y < h - 1 and 0 < x < w - 1):
            continue
        angle = np.degrees(np.arctan2(gy[y, x], gx[y, x])) if gx[y, x] != 0 else 0.0
        q = 45 * np.round(angle / 45)
        if q not in (0, 180, -180):
            continue
        up = 1 if q == 0 else -1
        left = 0
        while left < 100 and x - 2 - left >= 0 and up * (gray[y, x - 1 - left] - gray[y, x - 2 - left]) > 0:
            left += 1
        right = 0
        while right < 100 and x + 2 + right < w and up * (gray[y, x + 2 + right] - gray[y, x + 1 + right]) > 0:
            right += 1
        out[y, x] = left + right + 2
    return out


def test_edge_widths_match_the_walk(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[100:228, 150:278].astype(np.float64)
    edges = cv2.Canny(gray.astype(np.uint8), 100, 200) > 0
    assert edges.sum() > 100
    fast = _edge_widths(gray, edges)
    assert (fast > 0).sum() > 50
    assert np.array_equal(fast, slow_widths(gray, edges))


def test_cpbd_matches_the_published_reference():
    for name, image in pinned_images().items():
        assert abs(cpbd(image) - REFERENCE_CPBD[name]) < 1e-3, name


def test_cpbd_of_rgb_is_cpbd_of_its_grey(astronaut):
    assert cpbd(astronaut) == cpbd(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))


def test_cpbd_falls_with_blur(astronaut):
    sharp = cpbd(astronaut)
    blurred = [cpbd(cv2.GaussianBlur(astronaut, (0, 0), s)) for s in (1.0, 2.0)]
    assert 0.0 <= sharp <= 1.0
    assert sharp > blurred[0] > blurred[1]


def test_step_edge_width():
    image = np.zeros((128, 128), np.uint8)
    image[:, 63], image[:, 64:] = 100, 200
    # The reference measures nothing when every gradient is exactly horizontal
    # (all angles 0): a faint vertical ramp keeps the test on the usual path.
    image += (np.arange(128) // 32).astype(np.uint8)[:, None]
    assert cpbd(image) == 1.0  # a two-pixel step is perfectly sharp
    soft = cv2.GaussianBlur(image, (0, 0), 3.0)  # the same step, ~10 px wide
    assert cpbd(soft) == 0.0
    assert cpbd(np.full((128, 128), 90, np.uint8)) == 0.0  # no edges: 0, as the reference


def test_correlation_and_lag():
    t = np.linspace(0, 6 * np.pi, 150)
    a = np.sin(t)
    assert np.isclose(pearson(a, a), 1.0) and np.isclose(pearson(a, -a), -1.0)
    b = np.roll(a, 2)
    r, lag = best_lag_correlation(a, b)
    assert lag == 2 and r > 0.99


def test_jitter_and_opening_on_synthetic_tracks():
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 300, size=(468, 2))
    base[33], base[133], base[263], base[362] = (100, 100), (140, 100), (260, 100), (220, 100)
    still = np.repeat(base[None], 20, axis=0)
    assert jitter(still) == 0.0
    shaky = still + rng.normal(scale=1.0, size=still.shape)
    assert jitter(shaky) > 0.005
    opened = still.copy()
    opened[:, [14, 87, 317], 1] += 12.0
    assert (mouth_opening(opened) > mouth_opening(still)).all()


def test_flicker():
    frames = np.full((5, 8, 8, 3), 100, np.uint8)
    frames[1::2, :, :4] = 110
    left = np.zeros((8, 8), bool)
    left[:, :4] = True
    assert np.isclose(flicker(frames, left), 10.0)
    assert flicker(frames, ~left) == 0.0
