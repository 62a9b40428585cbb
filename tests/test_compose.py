"""Framing and compositing, on the astronaut photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from talking_head.face.topology import CHIN, INNER_LIP_LOWER, INNER_LIP_UPPER, MOUTH_CORNERS, load_topology
from talking_head.render.compose import (
    Compositor,
    crop_photo,
    displacement_operator,
    feather_alpha,
    make_framing,
    surround_photo,
    to_output,
)
from talking_head.render.gl import FaceRenderer
from talking_head.types import FaceLandmarks, Framing

from helpers import projection_texture

SIZE = 256


def jaw_open(reference, pixels):
    """Move everything below the mouth's midline down, most at the chin."""
    middle = (reference[list(INNER_LIP_UPPER)] + reference[list(INNER_LIP_LOWER)]) / 2.0
    order = np.argsort(middle[:, 0])
    line = np.interp(reference[:, 0], middle[order, 0], middle[order, 1])
    centre = reference[list(MOUTH_CORNERS), 0].mean()
    spread = 0.4 * np.ptp(reference[:, 0])
    weight = (reference[:, 1] > line + 0.5) * np.exp(-(((reference[:, 0] - centre) / spread) ** 2))
    weight[list(MOUTH_CORNERS) + [78, 308]] = 0.0
    moved = reference.copy()
    moved[:, 1] += pixels * weight
    return moved


@pytest.fixture(scope="module")
def landmarks(astronaut, detector):
    return FaceLandmarks(points=detector.detect_all(astronaut)[0], image_size=astronaut.shape[:2])


@pytest.fixture(scope="module")
def scene(astronaut, landmarks):
    """Framed photo, its mesh in output pixels, and a renderer with a matching texture."""
    topology = load_topology()
    framing = make_framing(landmarks, "crop", SIZE)
    photo = crop_photo(astronaut, framing)
    reference = to_output(landmarks.mesh_points, framing)
    renderer = FaceRenderer(framing.size, topology)
    renderer.set_texture(projection_texture(photo, reference, topology, 512))
    yield photo, reference, renderer
    renderer.close()


@pytest.fixture(scope="module")
def surround(astronaut, landmarks):
    return surround_photo(astronaut, make_framing(landmarks, "crop", SIZE))


def test_crop_framing_is_square_and_holds_the_face(landmarks):
    # At 512 px the astronaut's ideal square (185 px) grows by at most 1.4x: enlarged, with a note.
    framing = make_framing(landmarks, "crop", 512)
    assert framing.size == (512, 512)
    assert framing.notes == ("the face region is 260 px in the photo, enlarged 2.0x to 512 px: "
                             "expect a softer picture than the photo",)
    points = to_output(landmarks.mesh_points, framing)
    assert points[:, :2].min() > 0.1 * 512 and points[:, :2].max() < 0.9 * 512
    face = np.ptp(points[:, :2], axis=0).max()
    assert 0.38 * 512 < face < 0.5 * 512  # the FFHQ-style square (mesh ~0.6 of it), 1.4x looser
    # Room for the neck below the chin, more than for the hair above the forehead.
    assert 512 - points[CHIN, 1] > 0.5 * points[:, 1].min()
    # At 256 px the photo has enough pixels: the square grows to 256 photo px, no enlargement.
    small = make_framing(landmarks, "crop", SIZE)
    assert small.scale == pytest.approx(1.0) and small.notes == ()
    assert 0.38 * SIZE < np.ptp(to_output(landmarks.mesh_points, small)[:, :2], axis=0).max() < 0.65 * SIZE


def shifted(landmarks, top, left, height, width):
    """The astronaut's landmarks as seen in the crop [top:top+height, left:left+width]."""
    points = landmarks.points.copy()
    points[:, 0] -= left
    points[:, 1] -= top
    return FaceLandmarks(points=points, image_size=(height, width))


# Crops of the 512 px astronaut (face mesh box x 179..271, y 71..177): the face at
# each edge and corner, a tight square and a tall strip. (top, left, height, width)
TIGHT_CROPS = {
    "left": (0, 170, 512, 342),
    "right": (0, 0, 512, 280),
    "top": (62, 0, 450, 512),
    "bottom": (0, 0, 186, 512),
    "top-left": (62, 170, 450, 342),
    "top-right": (62, 0, 450, 280),
    "bottom-left": (0, 170, 186, 342),
    "bottom-right": (0, 0, 186, 280),
    "tight square": (55, 155, 140, 140),
    "tall strip": (0, 165, 512, 120),
}


def frame_in_photo(framing, image_size):
    """Photo-pixel box (x0, y0, x1, y1) that the frame shows."""
    a = framing.affine
    height, width = framing.size
    return (-a[0, 2] / a[0, 0], -a[1, 2] / a[1, 1], (width - a[0, 2]) / a[0, 0], (height - a[1, 2]) / a[1, 1])


@pytest.mark.parametrize("name", list(TIGHT_CROPS))
def test_crop_framing_stays_inside_tight_photos(landmarks, name):
    top, left, height, width = TIGHT_CROPS[name]
    cropped = shifted(landmarks, top, left, height, width)
    framing = make_framing(cropped, "crop", SIZE)
    x0, y0, x1, y1 = frame_in_photo(framing, (height, width))
    assert x0 >= -1e-6 and y0 >= -1e-6 and x1 <= width + 1e-6 and y1 <= height + 1e-6
    # The face (as far as it is in the photo) is in the frame.
    mesh = np.clip(cropped.mesh_points[:, :2], 0, (width, height))
    assert mesh[:, 0].min() >= x0 - 1e-6 and mesh[:, 0].max() <= x1 + 1e-6
    assert mesh[:, 1].min() >= y0 - 1e-6 and mesh[:, 1].max() <= y1 + 1e-6
    assert framing.mode == "crop" and framing.size == (SIZE, SIZE)
    if min(height, width) < 185:  # narrower than the ideal square (185 px here)
        assert any("largest square" in note for note in framing.notes)
        assert np.isclose(x1 - x0, min(height, width))
    assert any("enlarged" in note for note in framing.notes) == (framing.scale > 1.05)


def test_a_face_that_cannot_fit_falls_back_to_the_whole_photo(landmarks):
    # A band across the eyes: wider than tall, the face's width exceeds the height.
    band = shifted(landmarks, 100, 0, 60, 512)
    framing = make_framing(band, "crop", SIZE)
    assert framing.mode == "full" and framing.size[1] == SIZE
    assert any("does not fit" in note for note in framing.notes)
    x0, y0, x1, y1 = frame_in_photo(framing, (60, 512))
    assert x0 >= 0 and y0 >= 0 and x1 <= 512 + 1e-6 and y1 <= 60 + 1e-6


def test_full_framing_keeps_aspect_with_even_sides():
    landmarks = FaceLandmarks(points=np.zeros((478, 3)), image_size=(301, 457))
    framing = make_framing(landmarks, "full", 512)
    height, width = framing.size
    assert width == 512 and height % 2 == 0 and width % 2 == 0
    assert abs(height / width - 301 / 457) < 0.01
    assert framing.affine[0, 2] == 0.0 and framing.affine[1, 2] == 0.0
    x0, y0, x1, y1 = frame_in_photo(framing, (301, 457))
    assert x1 <= 457 + 1e-6 and y1 <= 301 + 1e-6  # even rounding does not reach past the photo
    assert "enlarged 1.1x" in framing.notes[0]


def test_bad_framing_arguments(landmarks):
    with pytest.raises(ValueError):
        make_framing(landmarks, "zoom")
    with pytest.raises(ValueError):
        make_framing(landmarks, "crop", 8)


def test_crop_photo_follows_pixel_centres():
    ramp = np.tile((np.arange(128) * 2).astype(np.uint8)[None, :, None], (64, 1, 3))
    # Downscale by 2: output pixel j covers photo pixels 2j and 2j + 1.
    half = Framing("full", np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), (32, 64))
    out = crop_photo(ramp, half)[..., 0].astype(float)
    np.testing.assert_allclose(out[16, 2:-2], 4 * np.arange(2, 62) + 1, atol=1)
    # Upscale by 2 with an offset: output centre X samples photo x = (X + 10) / 2.
    double = Framing("crop", np.array([[2.0, 0.0, -10.0], [0.0, 2.0, -10.0]]), (64, 64))
    out = crop_photo(ramp, double)[..., 0].astype(float)
    np.testing.assert_allclose(out[32, 2:-2], np.arange(2, 62) + 9.5, atol=1)


def test_crop_beyond_the_photo_replicates_its_border():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :50] = 200
    framing = Framing("crop", np.array([[1.0, 0.0, 60.0], [0.0, 1.0, 60.0]]), (120, 120))
    out = crop_photo(image, framing)
    assert (out[:, :60, 0] == 200).all()  # left of the photo: its left column repeated
    assert (out[:60, 65:105, 0] == 200).all()  # above it: its top row repeated


def test_to_output_scales_depth():
    framing = Framing("crop", np.array([[2.0, 0.0, 5.0], [0.0, 2.0, -3.0]]), (64, 64))
    out = to_output(np.array([[1.0, 2.0, 3.0]]), framing)
    np.testing.assert_allclose(out, [[7.0, 1.0, 6.0]])
    assert to_output(np.array([[1.0, 2.0]]), framing).shape == (1, 2)


def test_displacement_operator_follows_mesh_and_fades(scene):
    photo, reference, _ = scene
    grid = (SIZE // 8, SIZE // 8)
    operator = displacement_operator(reference, load_topology().triangles, grid, photo.shape[:2])
    field = (operator @ np.tile([[3.0, -2.0]], (468, 1))).reshape(*grid, 2)
    # A uniform move is reproduced across the face and is zero in the far corner.
    centre = (reference[:, :2].mean(axis=0) / 8).astype(int)
    np.testing.assert_allclose(field[centre[1], centre[0]], [3.0, -2.0], atol=0.05)
    assert np.abs(field[0, 0]).max() == 0.0


def test_feather_stays_inside_coverage():
    coverage = np.zeros((40, 40), np.float32)
    coverage[10:30, 10:30] = 1.0
    alpha = feather_alpha(coverage, 3)
    assert alpha[coverage == 0].max() == 0.0
    assert alpha[20, 20] == pytest.approx(1.0)
    assert 0.0 < alpha[13, 20] < 1.0


def test_identity_reproduces_the_photo(scene):
    photo, reference, renderer = scene
    frame = Compositor(photo, reference).compose(renderer.render(reference), reference)
    assert frame.rgb.shape == photo.shape and frame.rgb.dtype == np.uint8
    outside = frame.face_alpha == 0
    assert outside.mean() > 0.5
    np.testing.assert_array_equal(frame.rgb[outside], photo[outside])
    # Inside, the re-rendered face matches the photo (the mouth is filled dark).
    near_mouth = cv2.dilate((frame.mouth_mask > 0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    inside = (frame.face_alpha > 0.5) & ~near_mouth
    diff = np.abs(frame.rgb[inside].astype(float) - photo[inside]).mean()
    assert diff < 4.0
    assert frame.rgb[frame.mouth_mask > 0.99].max() < 60  # dark fill


def test_open_jaw_moves_the_neck_without_a_seam(scene, surround):
    photo, reference, renderer = scene
    # A green marker across the neck, a little below the chin.
    marked = photo.copy()
    chin_x, chin_y = reference[CHIN, :2].round().astype(int)
    marker_y = chin_y + 12
    marked[marker_y - 1 : marker_y + 2, chin_x - 15 : chin_x + 16] = (0, 255, 0)
    m = surround.margin
    around = surround.image.copy()
    around[m : m + SIZE, m : m + SIZE] = marked
    assert not any(surround.pinned((SIZE, SIZE))[1:])  # the photo goes on below and beside the frame
    compositor = Compositor(marked, reference, surround=type(surround)(around, m, surround.inside))
    moved = jaw_open(reference, 8.0)
    render = renderer.render(moved)
    frame = compositor.compose(render, moved)

    def marker_row(image):
        """Sub-pixel row of the green bar (centroid of green excess)."""
        band = image[chin_y : chin_y + 40, chin_x - 8 : chin_x + 9].astype(float)
        excess = np.clip(band[..., 1] - band[..., 0], 0, None).sum(axis=1)
        return chin_y + (excess * np.arange(len(excess))).sum() / excess.sum()

    assert marker_row(marked) == pytest.approx(marker_y, abs=0.5)
    shift = marker_row(frame.rgb) - marker_row(marked)
    # The neck follows the chin (8 px), fading with distance from it.
    assert 4.5 < shift < 8.5

    # No seam: in the feather band, the rendered skin agrees with the warped
    # photo beneath it much better than with the unwarped photo.
    band = (frame.face_alpha > 0.05) & (frame.face_alpha < 0.95) & (render.alpha > 0.99)
    lower = np.zeros_like(band)
    lower[int(reference[list(INNER_LIP_LOWER), 1].max()) :] = True
    band &= lower  # the part of the outline that moved
    assert band.sum() > 50
    skin = render.rgba[..., :3][band] * 255.0
    warped = compositor.warp_photo(moved)[band].astype(float)
    still = marked[band].astype(float)
    assert np.abs(skin - warped).mean() < 0.6 * np.abs(skin - still).mean()
    # ... and the outline is not sharper than the photo's own edges there.
    def gradient(image):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))

    reference_band = cv2.dilate(band.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert gradient(frame.rgb)[band].max() <= 1.25 * gradient(marked)[reference_band].max() + 10.0


@pytest.mark.parametrize("name", ["top-left", "bottom-right", "tight square", "tall strip"])
def test_no_frame_pixel_comes_from_outside_the_photo(pipeline, astronaut, name):
    """Rendered frames of tight crops (a magenta ring marks the photo's edge):
    the ring may show only where the frame meets it, never smeared inwards."""
    from talking_head.config import RenderConfig
    from talking_head.media import load_image

    top, left, height, width = TIGHT_CROPS[name]
    photo = astronaut[top : top + height, left : left + width].copy()
    ring = 2
    photo[:ring], photo[-ring:], photo[:, :ring], photo[:, -ring:] = (255, 0, 255), (255, 0, 255), (255, 0, 255), (255, 0, 255)
    asset = pipeline.analyse(load_image(photo))
    animator = pipeline.animator(asset, RenderConfig(size=SIZE))
    scale = animator.framing.scale
    band = int(np.ceil((ring + 2) * scale)) + 2  # how far the ring (and the warp's reach of it) may show
    rig = pipeline.rig
    neutral = asset.reconstruction.expression
    rng = np.random.default_rng(0)
    poses = [neutral, neutral.copy(), np.clip(neutral + rng.uniform(0, 0.6, neutral.shape), 0, 1)]
    poses[1][rig.index("jawOpen")] = 1.0
    for coeffs in poses:
        rgb = animator.frame(coeffs).rgb.astype(int)
        magenta = (rgb[..., 0] > 200) & (rgb[..., 2] > 200) & (rgb[..., 1] < 80)
        interior = magenta[band:-band, band:-band]
        assert not interior.any(), f"{name}: {interior.sum()} edge pixels smeared into the frame"


def test_interior_weight_fades_in_as_the_lips_part():
    from talking_head.face.rig import INNER_LIP_LOWER
    from talking_head.render.compose import INTERIOR_GAP_PX, interior_weight

    def parted(gap):
        vertices = np.zeros((468, 3))
        vertices[list(INNER_LIP_LOWER), 1] = gap
        return vertices

    low, high = INTERIOR_GAP_PX
    assert interior_weight(parted(0.0)) == 0.0 and interior_weight(parted(low)) == 0.0
    assert 0.0 < interior_weight(parted((low + high) / 2)) < 1.0
    assert interior_weight(parted(high)) == 1.0
    assert interior_weight(parted(high), offset=-high) == 0.0  # the photo closes what the mesh parts


def test_lips_the_photo_closes_show_the_photo_not_a_dark_line(scene):
    """The fitted mesh may part lips that the photo closes: at rest the opening
    shows the photo's own pixels; opened further, the dark interior."""
    from talking_head.face.rig import inner_lip_gap

    photo, reference, renderer = scene
    assert inner_lip_gap(reference[:, :2]) > 3.0  # the astronaut smiles with her teeth
    compositor = Compositor(photo, reference, rest_gap=0.0)
    rest = compositor.compose(renderer.render(reference), reference)
    hole = rest.mouth_mask > 0.99
    assert hole.sum() > 50
    np.testing.assert_allclose(rest.rgb[hole].astype(float), photo[hole].astype(float), atol=2.0)
    opened = jaw_open(reference, 12.0)
    wide = compositor.compose(renderer.render(opened), opened)
    assert wide.rgb[wide.mouth_mask > 0.99].max() < 60  # dark fill


def test_hidden_lips_leave_the_opening_to_the_photo(scene):
    """Lips under a moustache or a mask: nothing is painted in the opening, the
    warped photo (the cover, stretched with the jaw) shows there."""
    photo, reference, renderer = scene
    opened = jaw_open(reference, 12.0)
    compositor = Compositor(photo, reference, interior=False)
    frame = compositor.compose(renderer.render(opened), opened)
    hole = frame.mouth_mask > 0.99
    assert hole.sum() > 50
    warped = compositor.warp_photo(opened)
    np.testing.assert_allclose(frame.rgb[hole].astype(float), warped[hole].astype(float), atol=2.0)
