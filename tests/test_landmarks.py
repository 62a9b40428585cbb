import cv2
import numpy as np
import pytest
from PIL import Image

from talking_head.errors import NoFaceError
from talking_head.face.topology import CHIN, FOREHEAD, NOSE_TIP
from talking_head.media import load_image


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


def test_masked_mouth_is_refused(detector, astronaut, reference):
    from talking_head.errors import InputError
    from talking_head.face.landmarks import mouth_covered

    assert not mouth_covered(astronaut, reference.points)
    masked = astronaut.copy()
    # A white mask over the lower face, from the cheeks under the nose to the chin.
    outline = reference.points[[234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
                                397, 288, 361, 323, 454, 6], :2]
    cv2.fillConvexPoly(masked, cv2.convexHull(outline.astype(np.float32)).astype(np.int32), (240, 240, 240))
    with pytest.raises(InputError, match="mouth looks covered"):
        detector.detect(load_image(masked))
    # A grey photo has no colour to judge by: never refused for that.
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert not mouth_covered(grey, reference.points)
