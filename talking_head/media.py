"""Reading photos (and, later, audio and video) as a person would give them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import UnreadableImageError
from .types import Photo

MAX_MEGAPIXELS = 150.0


def _to_rgb8(image: Image.Image) -> tuple[np.ndarray, list[str]]:
    """Convert any Pillow mode to (H, W, 3) uint8 RGB; alpha goes on white."""
    notes: list[str] = []
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit or 32-bit grayscale: scale the full range to 8 bits.
        data = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or data.max() > 255 else 255.0
        if mode == "F":
            top = max(float(data.max()), 1.0) if data.max() > 1.0 else 1.0
        gray = np.clip(data / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        notes.append(f"{mode} image scaled to 8-bit")
        return np.repeat(gray[..., None], 3, axis=2), notes
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append("transparency composited on white")
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), notes
    if mode in ("L", "1"):
        notes.append("grayscale photo")
    return np.asarray(image.convert("RGB")), notes


def load_image(source: str | Path | bytes | np.ndarray) -> Photo:
    """Decode a photo from a path, bytes or an array.

    Applies EXIF orientation, composites transparency on white, converts
    grayscale, CMYK and 16-bit images to 8-bit RGB.

    Args:
        source: a file path, encoded bytes, or an (H, W), (H, W, 3) or
            (H, W, 4) array (uint8, uint16 or float in [0, 1]).
    Returns:
        Photo with ``rgb`` (H, W, 3) uint8.
    Raises:
        UnreadableImageError: empty, truncated, not an image, or too large.
    """
    if isinstance(source, np.ndarray):
        return Photo(_array_to_rgb8(source), "<array>")
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            handle = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise UnreadableImageError(f"Photo not found: {path}")
            if path.stat().st_size == 0:
                raise UnreadableImageError(f"Photo file is empty: {path.name}")
            handle = path.open("rb")
        with handle, Image.open(handle) as image:
            width, height = image.size
            if width * height > MAX_MEGAPIXELS * 1e6:
                raise UnreadableImageError(
                    f"Photo is too large ({width}x{height}); the limit is {MAX_MEGAPIXELS:.0f} megapixels"
                )
            image.load()
            oriented = ImageOps.exif_transpose(image)
            rgb, notes = _to_rgb8(oriented)
    except UnreadableImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        label = Path(name).name if name != "<bytes>" else "the uploaded data"
        raise UnreadableImageError(
            f"Cannot read {label} as an image (JPEG, PNG or WebP expected): {error.__class__.__name__}"
        ) from None
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise UnreadableImageError(f"Photo {name} has no pixels")
    return Photo(np.ascontiguousarray(rgb), name, tuple(notes))


def _array_to_rgb8(array: np.ndarray) -> np.ndarray:
    if array.ndim not in (2, 3) or array.size == 0:
        raise UnreadableImageError(f"Expected an (H, W[, C]) image array, got shape {array.shape}")
    if array.dtype == np.uint16:
        array = (array.astype(np.float64) / 257.0).round()
    elif np.issubdtype(array.dtype, np.floating):
        array = np.clip(array, 0.0, 1.0) * 255.0
    array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float64) / 255.0
        array = (array[..., :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    elif array.shape[2] != 3:
        raise UnreadableImageError(f"Expected 1, 3 or 4 channels, got {array.shape[2]}")
    return np.ascontiguousarray(array)
