import io

import cv2
import numpy as np
import pytest
from PIL import Image

from talking_head.errors import UnreadableImageError
from talking_head.media import load_image


def save(tmp_path, name, image: Image.Image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_png_roundtrip_exact(tmp_path, astronaut):
    path = save(tmp_path, "a.png", Image.fromarray(astronaut))
    photo = load_image(path)
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (512, 512, 3)
    assert np.array_equal(photo.rgb, astronaut)


def test_exif_orientation_applied(tmp_path, astronaut):
    # Pixels stored rotated 90 degrees counter-clockwise; orientation 6 says
    # "rotate 90 clockwise to display", which restores the upright photo.
    stored = Image.fromarray(np.rot90(astronaut, 1).copy())
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path, "rot.jpg", stored, exif=exif, quality=95)
    photo = load_image(path)
    assert photo.rgb.shape == astronaut.shape
    assert np.abs(photo.rgb.astype(int) - astronaut).mean() < 6


def test_rgba_composited_on_white(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    photo = load_image(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert (photo.rgb[:10, :10] == 255).all()
    assert np.array_equal(photo.rgb[20:, 20:], astronaut[20:, 20:])


def test_grayscale_and_16bit(tmp_path, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    photo = load_image(save(tmp_path, "g.png", Image.fromarray(gray)))
    assert photo.rgb.shape == (512, 512, 3) and np.array_equal(photo.rgb[..., 0], gray)
    path16 = tmp_path / "g16.png"
    cv2.imwrite(str(path16), gray.astype(np.uint16) * 257)
    photo16 = load_image(path16)
    assert np.abs(photo16.rgb[..., 0].astype(int) - gray).max() <= 1
    rgb16 = tmp_path / "c16.png"
    cv2.imwrite(str(rgb16), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    assert np.abs(load_image(rgb16).rgb.astype(int) - astronaut).max() <= 1


def test_cmyk_jpeg_and_webp(tmp_path, astronaut):
    cmyk = save(tmp_path, "c.jpg", Image.fromarray(astronaut).convert("CMYK"), quality=95)
    assert np.abs(load_image(cmyk).rgb.astype(int) - astronaut).mean() < 8
    webp = save(tmp_path, "a.webp", Image.fromarray(astronaut), quality=95)
    assert np.abs(load_image(webp).rgb.astype(int) - astronaut).mean() < 6


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not an image\n", None],
    ids=["empty", "text", "truncated"],
)
def test_unreadable_files_raise_one_line(tmp_path, astronaut, content):
    if content is None:
        buffer = io.BytesIO()
        Image.fromarray(astronaut).save(buffer, "PNG")
        content = buffer.getvalue()[:2000]
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(UnreadableImageError) as info:
        load_image(path)
    message = str(info.value)
    assert "\n" not in message and "bad.png" in message
    assert path.read_bytes() == content  # input untouched


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableImageError, match="not found"):
        load_image(tmp_path / "nope.jpg")


def test_array_inputs():
    assert load_image(np.zeros((4, 5), np.uint8)).rgb.shape == (4, 5, 3)
    assert load_image(np.ones((4, 5, 4), np.float32)).rgb.max() == 255
    with pytest.raises(UnreadableImageError):
        load_image(np.zeros((4, 5, 2), np.uint8))
