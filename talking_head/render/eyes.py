"""Eyes over the composited frame: lids that read as closed, and gaze shifts.

The mesh has no eyeball: 14 triangles span each eye opening between the lid
contours and sample the photo's open eye. As a blink lowers the upper lid,
those triangles squeeze the iris, and the lid skin above (moved down with
the margin by the rig's plateau, ``face/rig.eyelid_close``) brings the
photo's open-eye lash band (lashes seen from the front, eyeliner) onto the
lower lid's dark waterline. A viewer, and MediaPipe, read that dark double
band as a slit: re-detected depths of fully shut meshes were 0.3-0.47 of the
open eye on real clips' first frames (talk_a, talk_c, talk_d, GRID).

``EyePainter`` redraws each eye inside its box after compositing, in the
photo's eye frame (an affine fitted on vertices a blink does not move):

* the eyeball below the current upper lid: the photo's own eye at its rest
  position, so a lowering lid covers the iris instead of squeezing it;
* the lid over a band above the margin (the photo's lash band, at least
  ``LID_BAND_RANGE[0]`` eye widths): skin continued down from the frame
  just above the band, smoothed along the eye, turning towards the face's
  lit skin at the margin (``LID_LIGHT``), so the lid is skin rather than
  smeared lashes;
* a lash line along the margin, hanging a little over the lower lid, in the
  photo's darkest lash colour (``LASH_DARKEN``).

Lid and lash line fade in with the closure (fully in at
``FULL_LID_CLOSURE``); a frame whose eyes are open (closure up to
``ACTIVE_CLOSURE``) and look as in the photo is returned untouched.

Gaze (``paint(..., gaze)``, ``motion/gaze.py``): the iris disk, cut from the
photo where its refined landmarks (468-477) put it and continued under the
lids, moves over a plate where each row's iris span is bridged by the sclera
on either side; it shows only inside the current opening, so the lids
occlude it.

Cost per painted frame: two eye boxes of ~50 x 30 px at 512 px output.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.landmarks import UPPER_SKIN
from ..face.rig import smoothstep
from ..face.topology import (
    LEFT_EYE_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

# Third ring of vertices above each upper lid (~0.75 cm above it, at the
# crease), outer end first: the blink (``face/rig.eyelid_close``) barely
# moves it, so with the corners and the lower lid it anchors the eye's frame.
RIGHT_EYE_RING = (113, 225, 224, 223, 222, 221, 189)
LEFT_EYE_RING = (342, 445, 444, 443, 442, 441, 413)
# (corners, upper lid, lower lid, ring above) of each eye, subject's right eye first; both
# lids run from the first corner to the second.
EYES = (
    (RIGHT_EYE_CORNERS, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_RING),
    (LEFT_EYE_CORNERS, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_RING),
)
# Closure below which the frame's eye is left as rendered (a still open eye).
ACTIVE_CLOSURE = 0.02
# Closure at which the painted lid and lash line are fully in (smoothstep from 0).
FULL_LID_CLOSURE = 0.45
# Lid band (the photo's lash band the lid skin replaces), least and most, over
# the eye width (``lash_band``); the lash line's thickness at the eye's middle over the eye width.
LID_BAND_RANGE = (0.2, 0.3)
LASH_WIDTH = 0.06
# Closed lashes bunch into a line darker than the photo's open lash band
# (whose darker fifth still mixes lashes with lid skin at 512 px).
LASH_DARKEN = 0.6
# Closed lashes hang over the lower lid's margin: the lash line's centre lies
# this many lash widths below the upper lid's margin.
LASH_DROP = 0.6
# How far the lid's colour moves from the shaded crease's towards the face's
# lit skin at the margin (a closed lid bulges forward into the light; on real
# closed eyes the lid is lighter than the open eye's surroundings).
LID_LIGHT = 0.5
# Lid colour search above the band (eye widths) and its skin-likeness scale
# (RGB distance to the face's lit skin).
SKIN_SEARCH = 0.15
SKIN_SIGMA = 30.0


@dataclass(frozen=True)
class EyeFrame:
    """An eye's local frame in the photo's (reference) output pixels.

    Attributes:
        origin: (2,) the first corner (the image-left one).
        axis: (2,) unit vector to the other corner.
        normal: (2,) unit vector perpendicular to it, pointing down the image.
        width: px between the corners.
    """

    origin: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    width: float

    @staticmethod
    def from_corners(a: np.ndarray, b: np.ndarray) -> "EyeFrame":
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a[0] > b[0]:
            a, b = b, a
        axis = b - a
        width = float(np.hypot(*axis))
        axis = axis / max(width, 1e-9)
        return EyeFrame(a, axis, np.array([-axis[1], axis[0]]), max(width, 1e-9))

    def local(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 2) pixels -> u (along the eye, 0-1 between the corners), w (px, down)."""
        d = np.asarray(xy, np.float64) - self.origin
        return d @ self.axis / self.width, d @ self.normal


def _curve(u_points: np.ndarray, w_points: np.ndarray, u: np.ndarray) -> np.ndarray:
    order = np.argsort(u_points)
    return np.interp(u, u_points[order], w_points[order])


@dataclass(frozen=True)
class EyeRest:
    """One eye as the photo shows it (reference pose).

    Attributes:
        frame: the eye's local frame.
        corners: (2,) vertex ids; upper, lower: (9,) lid contour ids corner to corner.
        upper_w, lower_w: (9,) px, the photo's lid contours' w at ``upper_u``/``lower_u``.
        upper_u, lower_u: (9,) their u.
        gap: px, the photo's lid gap in the middle of the eye.
        lash: (3,) float32 RGB of the photo's lash line.
        band: px, lid band thickness.
        ring: the vertex ring above the eye (``EYES``).
    """

    frame: EyeFrame
    corners: tuple[int, int]
    upper: tuple[int, ...]
    lower: tuple[int, ...]
    upper_u: np.ndarray
    upper_w: np.ndarray
    lower_u: np.ndarray
    lower_w: np.ndarray
    gap: float
    lash: np.ndarray
    band: float
    ring: tuple[int, ...]

    @property
    def anchors(self) -> tuple[int, ...]:
        """Vertices a blink leaves in place: corners, lower lid, the ring above."""
        return self.lower + self.ring


MIDDLE = np.array([0.35, 0.5, 0.65])


def lid_gap(frame: EyeFrame, upper_xy: np.ndarray, lower_xy: np.ndarray) -> float:
    """Mean lid gap (px) at the middle of the eye (u = 0.35, 0.5, 0.65)."""
    uu, wu = frame.local(upper_xy)
    ul, wl = frame.local(lower_xy)
    return float(np.mean(_curve(ul, wl, MIDDLE) - _curve(uu, wu, MIDDLE)))


LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _sample(image: np.ndarray, frame: EyeFrame, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Bilinear colours of ``image`` at eye-frame points (u, w) -> (..., 3) float32."""
    u, w = np.broadcast_arrays(u, w)
    points = frame.origin + (u * frame.width)[..., None] * frame.axis + w[..., None] * frame.normal
    flat = points.reshape(1, -1, 2).astype(np.float32) - 0.5
    colours = cv2.remap(image, flat[..., 0], flat[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return colours.reshape(*u.shape, 3).astype(np.float32)


def lash_band(photo: np.ndarray, frame: EyeFrame, upper_u: np.ndarray, upper_w: np.ndarray) -> float:
    """Thickness (px) of the dark band above the upper lid's margin (lashes, liner).

    Median over the eye's middle of the luminance profile going up from the
    margin: the band ends where the profile is first halfway from its darkest
    to the lid skin's level (the profile's value ``LID_BAND_RANGE[1]`` widths up).
    Clipped to ``LID_BAND_RANGE`` eye widths (the floor on most photos: the
    floor covers the lid skin the rig's plateau slides down, where the
    photo's lashes and crease shadows land).
    """
    low, high = LID_BAND_RANGE
    u = np.linspace(0.3, 0.7, 9)[:, None]
    steps = np.linspace(0.0, high, 16) * frame.width
    profile = np.median(_sample(photo, frame, u, _curve(upper_u, upper_w, u) - steps[None, :]) @ LUMA, axis=0)
    darkest = int(np.argmin(profile[: len(profile) // 2 + 1]))
    level = 0.5 * (profile[darkest] + profile[-1])
    above = np.flatnonzero(profile[darkest:] >= level)
    end = steps[darkest + above[0]] if len(above) else steps[-1]
    return float(np.clip(end, low * frame.width, high * frame.width))


# Forehead and upper cheeks: skin facing the light.
LIT_SKIN = UPPER_SKIN


def lit_skin(photo: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(3,) float32 RGB: median colour of the photo's forehead and upper cheeks
    (3x3 px around each of ``LIT_SKIN``)."""
    xy = np.asarray(reference, np.float64)[list(LIT_SKIN), :2]
    offsets = np.stack(np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]), axis=-1).reshape(-1, 2)
    points = (xy[:, None, :] + offsets[None]).reshape(1, -1, 2).astype(np.float32) - 0.5
    colours = cv2.remap(photo, points[..., 0], points[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.median(colours.reshape(-1, 3).astype(np.float32), axis=0)


def eye_rest(photo: np.ndarray, reference: np.ndarray, eye) -> EyeRest:
    """Measure one eye of the framed photo.

    Args:
        photo: (H, W, 3) uint8 framed photo.
        reference: (468, 2+) its mesh in output px.
        eye: one entry of ``EYES``.
    """
    corners, upper, lower, ring = eye
    upper = (corners[0],) + tuple(upper) + (corners[1],)
    lower = (corners[0],) + tuple(lower) + (corners[1],)
    xy = np.asarray(reference, np.float64)[:, :2]
    frame = EyeFrame.from_corners(xy[corners[0]], xy[corners[1]])
    uu, wu = frame.local(xy[list(upper)])
    ul, wl = frame.local(xy[list(lower)])
    gap = lid_gap(frame, xy[list(upper)], xy[list(lower)])
    band = lash_band(photo, frame, uu, wu)
    # Lash colour: the darker pixels of the band above the upper lid's middle
    # (lashes and liner), their median.
    u = np.linspace(0.2, 0.8, 24)
    w = _curve(uu, wu, u)[:, None] - np.linspace(-0.5, band, 8)[None, :]
    samples = _sample(photo, frame, u[:, None], w).reshape(-1, 3)
    luma = samples @ LUMA
    lash = np.median(samples[luma <= np.percentile(luma, 20)], axis=0)
    return EyeRest(frame, (corners[0], corners[1]), upper, lower, uu, wu, ul, wl, gap, lash.astype(np.float32), band,
                   tuple(ring))


@dataclass(frozen=True)
class Eyeball:
    """What moves when the eye looks elsewhere, cut from the photo (photo px).

    Attributes:
        origin: (2,) int, top-left pixel of the box the images cover.
        plate: (h, w, 3) float32, the photo with the iris replaced by the
            sclera beside it on each row (what a moved iris uncovers).
        iris: (h, w, 3) float32, the photo's iris, continued above and below
            the lids (nearest visible pixel of its column), so that a moved
            iris has no lid-shaped cut.
        alpha: (h, w) float32, the iris disk (soft edge).
        centre: (2,) iris centre; radius: px.
    """

    origin: np.ndarray
    plate: np.ndarray
    iris: np.ndarray
    alpha: np.ndarray
    centre: np.ndarray
    radius: float


def cut_eyeball(photo: np.ndarray, rest: EyeRest, reference: np.ndarray, centre: np.ndarray,
                radius: float) -> Eyeball | None:
    """The plate and iris of one eye of the framed photo.

    Args:
        photo: (H, W, 3) uint8 framed photo.
        rest: the eye (``eye_rest``).
        reference: (468, 2+) the photo's mesh in output px.
        centre: (2,) iris centre (landmark 468 or 473) in output px; radius: px.
    Returns:
        None when the eye lies outside the frame.
    """
    xy = np.asarray(reference, np.float64)[:, :2]
    outline = np.concatenate([xy[list(rest.upper)], xy[list(rest.lower)][::-1]])
    low = np.floor(np.minimum(outline.min(axis=0), centre - radius) - 4).astype(int)
    high = np.ceil(np.maximum(outline.max(axis=0), centre + radius) + 4).astype(int)
    height, width = photo.shape[:2]
    x0, y0 = max(low[0], 0), max(low[1], 0)
    x1, y1 = min(high[0], width), min(high[1], height)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None  # the eye is outside the frame
    image = photo[y0:y1, x0:x1].astype(np.float32)
    # The opening at 4x, area-averaged: a soft polygon.
    big = np.zeros(((y1 - y0) * 4, (x1 - x0) * 4), np.uint8)
    cv2.fillPoly(big, [np.round((outline - [x0, y0]) * 4 - 0.5).astype(np.int32)], 255)
    opening = cv2.resize(big, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + np.float32(0.5)
    distance = np.hypot(xs - centre[0], ys - centre[1])
    alpha = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    # Plate: each row's iris span (disk grown by a pixel) bridged between the
    # opening's pixels beside it.
    plate = image.copy()
    span = distance <= radius + 1.5
    visible = opening > 0.5
    sclera = _sclera(image, visible & ~span)
    for row in range(plate.shape[0]):
        cols = np.flatnonzero(span[row] & visible[row])
        if not len(cols):
            continue
        beside = visible[row] & ~span[row]
        left = [c for c in range(max(cols[0] - 3, 0), cols[0]) if beside[c]]
        right = [c for c in range(cols[-1] + 1, min(cols[-1] + 4, plate.shape[1])) if beside[c]]
        a = image[row, left].mean(axis=0) if left else None
        b = image[row, right].mean(axis=0) if right else None
        a = b if a is None else a
        b = a if b is None else b
        if a is None:
            a = b = sclera
        t = (np.arange(cols[0], cols[-1] + 1) - cols[0] + 0.5) / (cols[-1] - cols[0] + 1)
        plate[row, cols[0]: cols[-1] + 1] = a + t[:, None] * (b - a)
    blurred = cv2.GaussianBlur(plate, (3, 3), 0.8)
    plate = np.where(span[..., None], blurred, plate)
    # Iris continued under the lids: nearest visible iris pixel in its column.
    iris = image.copy()
    seen = visible & (alpha > 0.0)
    for col in range(iris.shape[1]):
        rows = np.flatnonzero(seen[:, col])
        if not len(rows):
            continue
        iris[: rows[0], col] = image[rows[0], col]
        iris[rows[-1] + 1:, col] = image[rows[-1], col]
    return Eyeball(np.array([x0, y0]), plate, iris, alpha.astype(np.float32), np.asarray(centre, np.float64),
                   float(radius))


def _sclera(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(3,) float32: median of the brighter half of ``image[where]`` (white of the eye)."""
    pixels = image[where]
    if len(pixels) < 4:
        return np.full(3, 200.0, np.float32)
    luma = pixels @ LUMA
    return np.median(pixels[luma >= np.median(luma)], axis=0).astype(np.float32)


def iris_landmarks(points: np.ndarray, reference: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Each eye's iris (centre, radius) from refined landmarks, in ``EYES`` order.

    Args:
        points: (10, 2+) landmarks 468-477 in output px (two groups of five:
            centre, then four points on the iris's edge).
        reference: (468, 2+) the mesh, to tell which group is which eye.
    Returns:
        [(centre (2,), radius px)] for the subject's right eye, then left.
    """
    points = np.asarray(points, np.float64)[:, :2]
    xy = np.asarray(reference, np.float64)[:, :2]
    groups = [points[:5], points[5:]]
    out = []
    for corners, *_ in EYES:
        middle = xy[list(corners)].mean(axis=0)
        group = min(groups, key=lambda g: float(np.hypot(*(g[0] - middle))))
        out.append((group[0], float(np.linalg.norm(group[1:] - group[0], axis=1).max())))
    return out


class EyePainter:
    """Redraws the eyes of composited frames (see the module docstring).

    Args:
        photo: (H, W, 3) uint8 framed photo (what the render samples).
        reference: (468, 2+) the photo's mesh in output px.
        iris: (10, 2+) the photo's iris landmarks (468-477) in output px;
            without them the gaze cannot move.
    """

    def __init__(self, photo: np.ndarray, reference: np.ndarray, iris: np.ndarray | None = None):
        self.photo = np.ascontiguousarray(photo)
        self.reference = np.asarray(reference, np.float64)[:, :2]
        self.eyes = tuple(eye_rest(self.photo, self.reference, eye) for eye in EYES)
        self.skin = lit_skin(self.photo, self.reference)
        # Least-squares solvers of each eye's affine from its anchors (see ``_poses``).
        self._solves = [np.linalg.pinv(np.hstack([self.reference[list(rest.anchors)], np.ones((len(rest.anchors), 1))]))
                        for rest in self.eyes]
        self.eyeballs = None
        if iris is not None:
            self.eyeballs = tuple(cut_eyeball(self.photo, rest, self.reference, centre, radius)
                                  for rest, (centre, radius) in zip(self.eyes, iris_landmarks(iris, self.reference)))

    def _poses(self, vertices: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per eye: (to_rest (2, 3) frame px -> photo px, upper (9, 2), lower (9, 2)
        lid contours now, in photo px)."""
        xy = np.asarray(vertices, np.float64)[:, :2]
        out = []
        for rest, solve in zip(self.eyes, self._solves):
            # Affine photo -> frame fitted on the anchors (least squares, the
            # photo's side fixed: one matrix product), inverted.
            from_rest = (solve @ xy[list(rest.anchors)]).T
            to_rest = cv2.invertAffineTransform(from_rest)
            upper = xy[list(rest.upper)] @ to_rest[:, :2].T + to_rest[:, 2]
            lower = xy[list(rest.lower)] @ to_rest[:, :2].T + to_rest[:, 2]
            out.append((to_rest, upper, lower))
        return out

    def closure(self, vertices: np.ndarray, poses=None) -> np.ndarray:
        """(2,) lid closure of each eye: 0 as in the photo, 1 shut (gap over the photo's)."""
        poses = self._poses(vertices) if poses is None else poses
        out = [1.0 - lid_gap(rest.frame, upper, lower) / rest.gap if rest.gap > 1e-6 else 0.0
               for rest, (_, upper, lower) in zip(self.eyes, poses)]
        return np.clip(np.array(out), 0.0, 1.0)

    def paint(self, rgb: np.ndarray, vertices: np.ndarray, gaze: np.ndarray | None = None) -> np.ndarray:
        """The frame with its eyes redrawn where they close or look away.

        Args:
            rgb: (H, W, 3) uint8 composited frame (not modified).
            vertices: (468, 2+) the frame's mesh in output px.
            gaze: (2,) iris offset (along the eye, down) in eye widths, or None.
        Returns:
            (H, W, 3) uint8: ``rgb`` itself when both eyes are open and look
            as in the photo, else a copy.
        """
        poses = self._poses(vertices)
        closure = self.closure(vertices, poses)
        looking = gaze is not None and self.eyeballs is not None and bool(np.any(np.asarray(gaze) != 0.0))
        if closure.max() <= ACTIVE_CLOSURE and not looking:
            return rgb
        out = rgb.copy()
        for index, (rest, shut, pose) in enumerate(zip(self.eyes, closure, poses)):
            if shut > ACTIVE_CLOSURE or looking:
                eyeball = self.eyeballs[index] if looking else None
                self._paint_eye(out, rest, pose, float(shut), eyeball, gaze)
        return out

    def _eyeball(self, px: np.ndarray, eyeball: Eyeball | None, shift: np.ndarray) -> np.ndarray:
        """(h, w, 3) float32 eyeball colours at photo points ``px`` (h, w, 2),
        the iris moved by ``shift`` (2,) photo px."""
        if eyeball is None:
            return cv2.remap(self.photo, px[..., 0] - 0.5, px[..., 1] - 0.5, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        local = px - eyeball.origin.astype(np.float32) - 0.5
        plate = cv2.remap(eyeball.plate, local[..., 0], local[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        moved = local - shift.astype(np.float32)
        iris = cv2.remap(eyeball.iris, moved[..., 0], moved[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.remap(eyeball.alpha, moved[..., 0], moved[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return plate + alpha[..., None] * (iris - plate)

    def _paint_eye(self, out: np.ndarray, rest: EyeRest, pose, shut: float,
                   eyeball: Eyeball | None = None, gaze: np.ndarray | None = None) -> None:
        """Paint one eye into ``out`` (in place), working in the photo's eye frame."""
        frame = rest.frame
        to_rest, upper, lower = pose
        uu, wu = frame.local(upper)
        ul, wl = frame.local(lower)
        from_rest = cv2.invertAffineTransform(to_rest)
        amount = float(smoothstep(shut / FULL_LID_CLOSURE))
        lids = amount > 1e-3  # else only the eyeball changes (a gaze shift)
        # The eye's box in the frame: the lids, the lid band above when the
        # lids are drawn, a margin.
        reach = (rest.band * float(np.hypot(*from_rest[:, 0])) + 5.0) if lids else 2.0
        outline = np.concatenate([upper, lower]) @ from_rest[:, :2].T + from_rest[:, 2]
        height, width = out.shape[:2]
        x0, y0 = np.floor(outline.min(axis=0) - [2.0, reach]).astype(int)
        x1, y1 = np.ceil(outline.max(axis=0) + 3).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + np.float32(0.5)
        px = np.stack([xs, ys], axis=-1) @ to_rest[:, :2].T.astype(np.float32) + to_rest[:, 2].astype(np.float32)
        u, w = frame.local(px)
        margin = _curve(uu, wu, u)  # the lid margin now (photo frame, px)
        bottom = _curve(ul, wl, u)
        corners = smoothstep(np.minimum(u, 1.0 - u) * frame.width / 1.5)
        patch = out[y0:y1, x0:x1].astype(np.float32)
        # Eyeball: the photo's eye where it rests (its iris moved by the gaze),
        # below the lid margin.
        shift = np.zeros(2)
        if eyeball is not None:
            shift = frame.width * (float(gaze[0]) * frame.axis + float(gaze[1]) * frame.normal)
        colours = self._eyeball(px, eyeball, shift)
        opening = np.clip(w - margin + 0.5, 0, 1) * np.clip(bottom - w + 0.5, 0, 1) * corners
        patch += opening[..., None] * (colours - patch)
        if lids:
            self._paint_lid(patch, out, rest, from_rest, (uu, wu), u, w, margin, corners, amount)
        out[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)

    def _paint_lid(self, patch, frame_rgb, rest, from_rest, upper, u, w, margin, corners, amount) -> None:
        """Lid skin and lash line into ``patch`` (h, w, 3) float32, in place.

        Args:
            frame_rgb: the frame the patch comes from (lid colours are read there).
            from_rest: (2, 3) photo px -> frame px; upper: (u, w) of the upper lid now.
            u, w, margin, corners: (h, w) per pixel (``_paint_eye``).
        """
        frame = rest.frame
        uu, wu = upper
        in_frame = EyeFrame(frame.origin @ from_rest[:, :2].T + from_rest[:, 2], frame.axis @ from_rest[:, :2].T,
                            frame.normal @ from_rest[:, :2].T, frame.width)
        taper = np.sqrt(np.clip(np.sin(np.pi * np.clip(u, 0.0, 1.0)), 0.0, 1.0))
        band = rest.band * taper
        # Lid skin over the band above the margin: the frame's own colour above
        # the band, smoothed along the eye. Rows up to ``SKIN_SEARCH`` eye widths
        # above it are weighted by how skin-like they are, so a glasses rim or
        # eye shadow lying just above the band does not colour the lid.
        us = np.linspace(-0.05, 1.05, 40)
        band_s = rest.band * np.sqrt(np.clip(np.sin(np.pi * np.clip(us, 0, 1)), 0, 1))
        rows = 1.0 + np.arange(max(3, int(round(SKIN_SEARCH * frame.width))))
        ws = _curve(uu, wu, us)[:, None] - band_s[:, None] - rows[None, :]
        above = _sample(frame_rgb, in_frame, us[:, None], ws)  # (40, R, 3)
        distance = np.linalg.norm(above - self.skin, axis=-1)
        weight = np.exp(-0.5 * (distance / SKIN_SIGMA) ** 2) + 1e-3
        skin = (above * weight[..., None]).sum(axis=1) / weight.sum(axis=1)[:, None]
        skin = cv2.GaussianBlur(skin[None].astype(np.float32), (7, 1), 1.5)[0]
        lid_colour = np.stack([np.interp(u, us, skin[:, k]) for k in range(3)], axis=-1)
        # Lit lid: a closed upper lid bulges forward into the light, lighter than
        # the shaded skin at the crease: towards the margin the lid colour
        # moves towards the face's lit skin (``LID_LIGHT``).
        lit = LID_LIGHT * smoothstep((w - (margin - band)) / np.maximum(band, 1.0))
        lid_colour += lit[..., None] * (self.skin - lid_colour)
        lid = smoothstep((w - (margin - band)) / np.maximum(0.5 * band, 1.0)) * np.clip(margin - w + 0.5, 0, 1)
        lid *= corners * amount
        patch += lid[..., None] * (lid_colour - patch)
        # Lash line along the margin, a little below it (closed lashes hang down).
        thick = LASH_WIDTH * frame.width * (0.35 + 0.65 * taper)
        lash = np.clip(1.0 - np.abs(w - (margin + LASH_DROP * thick)) / np.maximum(thick, 0.6), 0, 1)
        lash *= amount * smoothstep(np.minimum(u, 1.0 - u) * 8.0)
        patch += lash[..., None] * (LASH_DARKEN * rest.lash - patch)
