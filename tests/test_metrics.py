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


def slow_widths(gray, edges):
    """Marziliano widths by walking along each row from every edge pixel."""
    h, w = gray.shape
    out = np.zeros((h, w))
    for y, x in zip(*np.nonzero(edges)):
        if x == 0 or x == w - 1:
            continue
        direction = np.sign(gray[y, x + 1] - gray[y, x - 1])
        if direction == 0:
            continue
        a = x
        while a > 0 and np.sign(gray[y, a] - gray[y, a - 1]) == direction:
            a -= 1
        b = x
        while b < w - 1 and np.sign(gray[y, b + 1] - gray[y, b]) == direction:
            b += 1
        out[y, x] = b - a
    return out


def test_edge_widths_match_the_walk(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[100:228, 150:278].astype(np.float64)
    edges = cv2.Canny(gray.astype(np.uint8), 100, 200) > 0
    edges[:, [0, -1]] = False
    assert edges.sum() > 100
    assert np.array_equal(_edge_widths(gray, edges), slow_widths(gray, edges))


def test_cpbd_falls_with_blur(astronaut):
    sharp = cpbd(astronaut)
    blurred = [cpbd(cv2.GaussianBlur(astronaut, (0, 0), s)) for s in (1.0, 2.0)]
    assert 0.0 <= sharp <= 1.0
    assert sharp > blurred[0] > blurred[1]


def test_step_edge_width():
    image = np.zeros((128, 128), np.uint8)
    image[:, 64:] = 200
    assert cpbd(image) == 1.0  # a one-pixel step is perfectly sharp
    soft = cv2.GaussianBlur(image, (0, 0), 3.0)  # the same step, ~10 px wide
    assert cpbd(soft) == 0.0


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
