"""Five-point face alignment to the 512x512 FFHQ template, soft paste-back and
colour matching. Pure functions on NumPy arrays.

Conventions: landmarks come in this package's image space (pixel centres at
+0.5, see ``types.py``); the affine matrices here act on OpenCV pixel
coordinates (pixel centres at integers), the convention of ``cv2.warpAffine``
and of the template.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face.topology import LEFT_EYE_CORNERS, MOUTH_CORNERS, NOSE_TIP, RIGHT_EYE_CORNERS

FACE_SIZE = 512
# The standard five landmarks of FFHQ faces at 512x512 that GFPGAN-family
# restorers were trained on: FaceRestoreHelper.face_template in xinntao/facexlib,
# facexlib/utils/face_restoration_helper.py ("standard 5 landmarks for FFHQ faces
# with 512 x 512"). Order: image-left eye centre (the subject's right eye),
# image-right eye centre, nose tip, image-left and image-right mouth corners.
TEMPLATE_512 = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.19360],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ]
)
# Paste-back region in template space: an ellipse over brows, cheeks, mouth and
# chin (eyes at y 240, mouth at y 371; a face is ~2.3 eye distances wide and its
# chin ~0.75 eye-mouth distances below the mouth).
MASK_CENTER = (256.0, 285.0)
MASK_AXES = (150.0, 185.0)
MASK_FEATHER = 24.0  # ramp width in template pixels
# Gray that fills crop pixels outside the frame (facexlib's value, RGB).
BORDER_RGB = (132, 133, 135)
# Colour matching never rescales a channel's spread by more than this factor.
MAX_STD_RATIO = 2.0


def five_points(points: np.ndarray) -> np.ndarray:
    """The template's five points from MediaPipe landmarks.

    Eye centres are the means of each eye's two corners, not the irises: the
    corners do not move when the eyes blink or look around, so the crop stays
    still in frames mode, and they exist on the 468 mesh points alone.

    Args:
        points: (468 or 478, 2 or 3) image-space landmarks.
    Returns:
        (5, 2) float64: image-left eye, image-right eye, nose tip, image-left
        and image-right mouth corners (the subject's right side first).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 468 or points.shape[1] < 2:
        raise ValueError(f"expected (468+, 2|3) landmarks, got {points.shape}")
    xy = points[:, :2]
    return np.stack(
        [
            xy[list(RIGHT_EYE_CORNERS)].mean(axis=0),
            xy[list(LEFT_EYE_CORNERS)].mean(axis=0),
            xy[NOSE_TIP],
            xy[MOUTH_CORNERS[0]],
            xy[MOUTH_CORNERS[1]],
        ]
    )


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) src -> dst.

    Closed form (Umeyama 1991) without reflection.

    Args:
        src, dst: (N, 2) corresponding points, N >= 2.
    Returns:
        (2, 3) float64 matrix M with dst ~ M @ [x, y, 1].
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum() / len(src)
    if var <= 0:
        raise ValueError("landmarks are degenerate (all at one point)")
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sigma) @ sign) / var
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = mu_d - scale * rotation @ mu_s
    return matrix


def alignment_matrix(five: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """(2, 3) OpenCV affine from frame pixels to the ``size`` x ``size`` aligned crop.

    Args:
        five: (5, 2) image-space points from ``five_points``.
    """
    five = np.asarray(five, dtype=np.float64)
    if five.shape != (5, 2):
        raise ValueError(f"expected (5, 2) points, got {five.shape}")
    return similarity_transform(five - 0.5, TEMPLATE_512 * (size / 512.0))


def align_face(image: np.ndarray, matrix: np.ndarray, size: int = FACE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The aligned crop and which of its pixels came from inside the image.

    Args:
        image: (H, W, 3) uint8.
        matrix: (2, 3) from ``alignment_matrix``.
    Returns:
        crop (size, size, 3) uint8 (outside the image: facexlib's gray) and
        inside (size, size) float32 in [0, 1].
    """
    crop = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=BORDER_RGB
    )
    ones = np.ones(image.shape[:2], dtype=np.float32)
    inside = cv2.warpAffine(ones, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return crop, inside


def face_mask(size: int = FACE_SIZE) -> np.ndarray:
    """(size, size) float32 soft face mask in template space: 1 inside, 0 at and
    outside the ellipse edge, a smooth ramp ``MASK_FEATHER`` wide in between."""
    scale = size / 512.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    cx, cy = (c * scale for c in MASK_CENTER)
    ax, ay = (a * scale for a in MASK_AXES)
    # Approximate distance inside the ellipse edge, in pixels.
    radius = np.hypot((x - cx) / ax, (y - cy) / ay)
    depth = (1.0 - radius) * min(ax, ay)
    t = np.clip(depth / (MASK_FEATHER * scale), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep


def match_colour(restored: np.ndarray, original: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Give ``restored`` the per-channel Lab mean and spread of ``original``.

    Restorers shift skin tone and contrast a little; matching the first two
    moments inside the pasted region keeps the face consistent with the rest
    of the frame while keeping the restored detail.

    Args:
        restored, original: (H, W, 3) uint8 RGB.
        weights: (H, W) float, >= 0: where to measure (the paste mask).
    Returns:
        (H, W, 3) uint8 RGB.
    """
    w = weights.astype(np.float64)
    total = w.sum()
    if total < 1.0:
        return restored
    w = w[..., None] / total
    lab_r = cv2.cvtColor(restored.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).astype(np.float64)
    lab_o = cv2.cvtColor(original.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).astype(np.float64)
    mean_r, mean_o = (w * lab_r).sum(axis=(0, 1)), (w * lab_o).sum(axis=(0, 1))
    std_r = np.sqrt((w * (lab_r - mean_r) ** 2).sum(axis=(0, 1)))
    std_o = np.sqrt((w * (lab_o - mean_o) ** 2).sum(axis=(0, 1)))
    ratio = np.clip(std_o / np.maximum(std_r, 1e-6), 1.0 / MAX_STD_RATIO, MAX_STD_RATIO)
    lab = (lab_r - mean_r) * ratio + mean_o
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def paste_back(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Blend an aligned crop back into the frame through a soft mask.

    Only the frame's region under the crop is warped, so large photos cost
    what the face costs.

    Args:
        frame: (H, W, 3) uint8.
        crop: (S, S, 3) uint8 aligned crop (restored).
        mask: (S, S) float32 in [0, 1], crop space.
        matrix: (2, 3) frame -> crop affine the crop was made with.
    Returns:
        (H, W, 3) uint8, a new array.
    """
    height, width = frame.shape[:2]
    size = crop.shape[0]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64) @ inverse.T
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, [width, height])
    out = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    roi = inverse.copy()
    roi[:, 2] -= (x0, y0)
    box = (int(x1 - x0), int(y1 - y0))
    face = cv2.warpAffine(crop, roi, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, roi, box, flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = alpha * face.astype(np.float32) + (1.0 - alpha) * region
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out
