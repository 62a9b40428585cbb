import cv2
import numpy as np
import pytest
from PIL import Image

from talking_head.errors import NoFaceError
from talking_head.face.topology import CHIN, FOREHEAD, NOSE_TIP
from talking_head.media import load_image
from tools.mouth_cover_report import paste_cheek


@pytest.fixture(scope="module")
def reference(detector, astronaut):
    return detector.detect(load_image(astronaut))


def test_landmarks_on_the_known_face(reference):
    points = reference.points
    assert points.shape == (478, 3) and reference.num_faces == 1
    # The astronaut's face lies around x 180-270, y 70-180 in the 512 px photo.
    nose = points[NOSE_TIP]
    assert 200 < nose[0] < 250 and 110 < nose[1] < 150
    assert points[FOREHEAD, 1] < nose[1] < points[CHIN, 1]
    assert 70 < reference.face_width < 120
    # Nose tip is nearer than the cheeks' outline (z smaller = nearer).
    assert points[NOSE_TIP, 2] < points[234, 2] and points[NOSE_TIP, 2] < points[454, 2]


def face_error(points, reference):
    return np.abs(points[:468, :2] - reference.points[:468, :2]).mean() / reference.face_width


def test_grayscale_variant(detector, astronaut, reference):
    gray = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert face_error(detector.detect(load_image(gray)).points, reference) < 0.03


def test_exif_rotated_variant(detector, astronaut, reference, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 90 degrees counter-clockwise, displayed upright
    path = tmp_path / "rotated.jpg"
    Image.fromarray(np.rot90(astronaut, 1).copy()).save(path, exif=exif, quality=95)
    assert face_error(detector.detect(load_image(path)).points, reference) < 0.02


def test_rgba_variant(detector, astronaut, reference, tmp_path):
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([astronaut, np.full((512, 512), 255, np.uint8)]), "RGBA").save(path)
    assert face_error(detector.detect(load_image(path)).points, reference) < 0.005


def test_large_photo_is_analysed_downscaled(detector, astronaut, reference):
    big = cv2.resize(astronaut, (4000, 4000), interpolation=cv2.INTER_CUBIC)
    landmarks = detector.detect(load_image(big))
    assert landmarks.image_size == (4000, 4000)
    assert face_error(landmarks.points / (4000 / 512), reference) < 0.03


def test_blank_image_has_no_face(detector):
    with pytest.raises(NoFaceError):
        detector.detect(load_image(np.full((256, 256, 3), 200, np.uint8)))


def test_two_faces_take_the_largest(detector, astronaut):
    head = astronaut[20:260, 120:340]
    big = cv2.resize(head, (440, 480), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((480, 700, 3), 255, np.uint8)
    canvas[:, :440] = big
    canvas[120:360, 470:690] = head
    landmarks = detector.detect(load_image(canvas))
    assert landmarks.num_faces == 2
    assert landmarks.points[NOSE_TIP, 0] < 440  # the larger face is the left one


def test_small_face_in_a_big_photo_is_found_in_tiles(detector, astronaut, reference):
    # The astronaut's head (~110 px face) pasted into a 3000 x 2000 canvas: 4% of the long side.
    head = astronaut[0:300, 100:380]
    canvas = np.full((2000, 3000, 3), 120, np.uint8)
    canvas[1500:1800, 2400:2680] = head
    assert detector.detect_all(canvas) == []  # MediaPipe alone misses it
    landmarks = detector.detect(load_image(canvas))
    shifted = landmarks.points.copy()
    shifted[:, 0] -= 2300
    shifted[:, 1] -= 1500
    assert face_error(shifted, reference) < 0.03


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_turned_photo_is_animated_upright(detector, astronaut, reference, turns):
    from talking_head.face.landmarks import upright_turns

    turned = np.ascontiguousarray(np.rot90(astronaut, turns))
    photo, landmarks = detector.detect_upright(load_image(turned))
    assert upright_turns(landmarks.points) == 0
    np.testing.assert_array_equal(photo.rgb, astronaut)  # turned back upright
    assert any("turned" in note for note in photo.notes)
    assert face_error(landmarks.points, reference) < 0.03


def test_upright_photo_is_left_alone(detector, astronaut):
    photo, _ = detector.detect_upright(load_image(astronaut))
    assert photo.notes == () and photo.rgb is not None


def test_masked_mouth_is_animated_without_teeth(detector, pipeline, astronaut, reference):
    """A cover that is not a hand may be the face's own (a moustache): marked,
    with a note, and the opening is never painted (render/compose.py)."""
    from talking_head.face.landmarks import mouth_covered

    assert not mouth_covered(astronaut, reference.points)
    masked = astronaut.copy()
    # A white mask over the lower face, from the cheeks under the nose to the chin.
    outline = reference.points[[234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
                                397, 288, 361, 323, 454, 6], :2]
    cv2.fillConvexPoly(masked, cv2.convexHull(outline.astype(np.float32)).astype(np.int32), (240, 240, 240))
    assert detector.detect(load_image(masked)).lips_hidden
    assert not detector.detect(load_image(astronaut)).lips_hidden
    asset = pipeline.analyse(load_image(masked))
    assert any("lips look covered" in note for note in asset.notes)
    with pipeline.animator(asset) as animator:
        assert not animator.compositor._interior
    # A grey photo has no colour to judge by: never refused for that.
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert not mouth_covered(grey, reference.points)


def paint_hand(image, anchor, size, angle):
    """A flat hand (palm, four fingers, thumb) in the astronaut's own cheek colour,
    darker at its edges and between the fingers, painted over a copy of ``image``.

    ``anchor`` (x, y) is where the middle of the fingers lies, ``size`` the hand's
    length over that of the drawing (245 px from palm to fingertips), ``angle``
    degrees counter-clockwise (0: fingers pointing to the image's left).
    """
    canvas, gaps = np.zeros((400, 400), np.uint8), np.zeros((400, 400), np.uint8)
    cx, cy = 260, 200
    cv2.ellipse(canvas, (cx, cy), (70, 80), 0, 0, 360, 255, -1)  # palm
    for k, (dy, length) in enumerate(((-60, 120), (-20, 135), (20, 130), (58, 105))):
        cv2.line(canvas, (cx - 20, cy + dy), (cx - 20 - length, cy + dy + 3 * k), 255, 36)
        cv2.circle(canvas, (cx - 20 - length, cy + dy + 3 * k), 18, 255, -1)
    cv2.line(canvas, (cx + 10, cy - 70), (cx - 60, cy - 140), 255, 40)  # thumb
    for dy in (-40, 0, 40):
        cv2.line(gaps, (cx - 40, cy + dy), (cx - 150, cy + dy + 3), 255, 2)
    matrix = cv2.getRotationMatrix2D((cx - 60, cy), angle, size)
    matrix[:, 2] += np.asarray(anchor, np.float64) - (cx - 60, cy)
    height, width = image.shape[:2]
    hand = cv2.warpAffine(canvas, matrix, (width, height)).astype(np.float32) / 255.0
    gap = cv2.GaussianBlur(cv2.warpAffine(gaps, matrix, (width, height)).astype(np.float32) / 255.0, (5, 5), 1.5)
    inside = cv2.distanceTransform((hand > 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    skin = np.array([235.0, 200.0, 179.0])  # the astronaut's cheek
    colour = skin * ((0.75 + 0.25 * np.clip(inside / 15.0, 0.0, 1.0)) * (1.0 - 0.4 * gap))[..., None]
    alpha = cv2.GaussianBlur(hand, (5, 5), 1.5)[..., None]
    return (image * (1.0 - alpha) + colour * alpha).astype(np.uint8)


def mouth_geometry(points):
    centre = points[[61, 291, 13, 14], :2].mean(axis=0)
    return centre, float(np.linalg.norm(points[291, :2] - points[61, :2]))


def test_hand_over_the_mouth_is_refused(detector, astronaut, reference):
    from talking_head.errors import InputError
    from talking_head.face.landmarks import hand_over_mouth

    centre, width = mouth_geometry(reference.points)
    # (MediaPipe finds this drawn hand; not every size and angle of it.)
    covered = paint_hand(astronaut, centre, 2.6 * width / 245.0, -20.0)
    points = detector.find(covered)[0]  # the face is still found under the hand
    hands = detector.find_hands(covered, points)
    assert len(hands) >= 1 and hands[0].shape == (21, 2)
    assert hand_over_mouth(hands, points, covered.shape[:2])
    with pytest.raises(InputError, match="hand covers the mouth"):
        detector.detect(load_image(covered))
    # The same hand beside the face covers nothing.
    beside = [hand + (-2.0 * reference.face_width, 0.0) for hand in hands]
    assert not hand_over_mouth(beside, points, covered.shape[:2])
    assert detector.find_hands(astronaut, reference.points) == [] or not hand_over_mouth(
        detector.find_hands(astronaut, reference.points), reference.points, astronaut.shape[:2])


def test_hand_away_from_the_mouth_is_accepted(detector, astronaut, reference):
    centre, width = mouth_geometry(reference.points)
    # The hand on the background left of the face, fingers away from it.
    away = paint_hand(astronaut, centre - (1.6 * reference.face_width, -0.5 * reference.face_width),
                      2.2 * width / 245.0, 0.0)
    assert detector.detect(load_image(away)).points.shape == (478, 3)


def test_skin_over_the_mouth_hides_the_lips(detector, astronaut, reference):
    """Skin-coloured cover lit like the face (the astronaut's own cheek pasted
    over her lips): found by the lips' missing contrast; the same photo
    darker, brighter or warmer is not."""
    from talking_head.face.landmarks import lip_colours, lip_contrast, mouth_covered

    points = reference.points
    pasted = paste_cheek(astronaut, points)

    assert lip_contrast(*lip_colours(pasted, points)) < 5.0 < 15.0 < lip_contrast(*lip_colours(astronaut, points))
    assert mouth_covered(pasted, points)
    assert detector.detect(load_image(pasted)).lips_hidden
    image = astronaut.astype(np.float32)
    for variant in (image * 0.3, 255.0 * (image / 255.0) ** 0.5, image * (1.1, 1.0, 0.8)):
        assert not mouth_covered(np.clip(variant, 0, 255).astype(np.uint8), points)
