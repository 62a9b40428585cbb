"""Mouth completion: what shows through the opening between the lips.

The renderer cuts the mouth opening out of the face (``RenderOutput.mouth``)
and the compositor leaves it black; a completer paints the interior behind the
lips, weighted by the opening's coverage, so the lips occlude it wherever they
are. Two completers share one interface (``MouthCompleter``), which a learned
inpainter (the paper's StyleGAN2 + pSp) can implement later:

* ``DarkMouth``: a dark fill, lighter at its edge (the ablation, ``--no-mouth``).
* ``RenderedMouth`` (default): a dark oral cavity, upper teeth fixed to the
  skull, lower teeth and a tongue that move with the mandible, coloured from
  the photo and shaded like its face.

Geometry (``RenderedMouth.layout``) lives in a head frame of about canonical
centimetres (``topology.py``: x right, y up, z to the viewer): each frame, a
similarity fitted on skull landmarks that no expression moves places the
head; the mandible's rotation about the rig's jaw hinge is read from the
chin. Dental arches are circles (front) continued straight back, with
textbook crown widths and heights; the upper incisal edge sits 3 mm below
where the closed lips meet (on the person's own face with its mouth at
rest), the lower incisors 2 mm higher and 2.5 mm behind (overbite, overjet).
Only the front teeth are ever visible.

Shading (``draw_interior``) is what makes the teeth read as teeth at a few
pixels each: every crown is convex (lit in its middle, darker towards its
neighbours, with rounded incisal corners: no drawn outlines), translucent at
its edge and yellower towards the gum; the teeth darken with their depth
along the arch (the dark "buccal corridor"), the lower ones sit in the upper
ones' shade; the upper lip casts a soft shadow down into the opening, the
lower lip a weaker one, and the corners hide the back of the mouth. Drawing
is per-pixel, vectorised, inside the mouth's bounding box: everything along
the arch is looked up on a 1-D profile, and one matrix product mixes the
parts' colours. The opening's own outline (a staircase of whole pixels
without multisampling) is smoothed and anti-aliased first
(``smooth_opening``), its trimmed pixels given back to the lip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..face.pose import similarity_transform
from ..face.rig import JAW_HINGE, rotate_x, smoothstep
from ..face.topology import (
    CHIN,
    INNER_LIP_LOWER,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    INNER_LIP_UPPER,
    NUM_VERTICES,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    Topology,
    load_topology,
)
from ..types import RigidPose

# Vertices no rig shape moves by more than 0.015 cm (nose, forehead, temples,
# cheekbones): the skull, whose pose carries the upper teeth.
SKULL_POINTS = (
    4, 5, 195, 197, 3, 248, 10, 109, 338, 67, 297, 54, 284, 127, 356, 234, 454, 116, 345, 119, 348, 101, 330
)
INNER_CORNERS = (78, 308)
MOUTH_OUTLINE = INNER_LIP_UPPER + INNER_LIP_LOWER[::-1][1:-1]
LIP_OUTLINE = OUTER_LIP_UPPER + OUTER_LIP_LOWER[::-1][1:-1]
DARK_COLOUR = (30, 15, 15)

# Dental geometry in cm (adult averages, e.g. Wheeler's Dental Anatomy): crown
# widths along the arch from the midline (central incisor, lateral incisor,
# canine, two premolars) and crown heights; the arch is a circle of this radius
# at the front (intercanine width ~3.4 cm upper, ~2.6 cm lower).
UPPER_WIDTHS = (0.85, 0.66, 0.76, 0.70, 0.65)
UPPER_HEIGHTS = (1.05, 0.90, 1.00, 0.80, 0.75)
UPPER_RADIUS = 2.3
LOWER_WIDTHS = (0.54, 0.59, 0.68, 0.70, 0.70)
LOWER_HEIGHTS = (0.90, 0.90, 1.00, 0.80, 0.80)
LOWER_RADIUS = 1.95
# Upper incisal edge: below where the closed lips meet (maxillary incisor
# display with the lips relaxed: 3.4 mm in women, 1.9 mm in men, Vig & Brundo
# 1978) and behind the lip surface; the lower incisors relative to the upper
# ones (overbite and overjet ~2-3 mm).
UPPER_EDGE_DROP = 0.3
TEETH_BEHIND_LIPS = 0.6
OVERBITE = 0.2
OVERJET = 0.25
# Edge height of each tooth above the central incisor's, and the rise of the
# arch towards the back (the smile arc; the curve of Spee), cm at the arch's
# end.
UPPER_STEPS = (0.0, 0.06, -0.02, 0.04, 0.06)
LOWER_STEPS = (0.0, 0.0, -0.03, 0.03, 0.05)
UPPER_RISE = 0.3
LOWER_RISE = 0.12
# Tongue: an ellipse whose top (the dorsum, seen over the lower incisors)
# is above and behind the lower incisal edge, moving with the mandible; lit
# at the front, fading into the dark over TONGUE_FADE towards its back.
TONGUE_RISE = 0.45
TONGUE_BACK = 0.6
TONGUE_HALF_WIDTH = 1.9
TONGUE_HALF_HEIGHT = 1.0
TONGUE_FADE = 0.6
# Shading (lengths in cm). Teeth darken with depth along the arch (Gaussian:
# the incisors stay bright, the canines half, the premolars dark: the buccal
# corridor of a smile); the lower teeth sit in the shade of the upper ones.
DEPTH_FALLOFF = 1.1
LOWER_SHADE = 0.62
# Each crown is convex: lit in its middle, darker towards its neighbours
# (soft vertical shading, no drawn line); its incisal corners are rounded, so
# a small dark notch (the incisal embrasure) separates neighbours at the edge.
ACROSS_SHADE = 0.3
EMBRASURE_DEPTH = 0.07
EMBRASURE_WIDTH = 0.16
# The gum dips between the teeth (papillae).
PAPILLA_DEPTH = 0.18
PAPILLA_WIDTH = 0.08
# Samples per tooth along the arch (fine enough for the embrasures).
ARCH_SAMPLES = 24
# The incisal edge is translucent enamel (darker, a little blue); the crown
# yellows and darkens towards the gum (thinner enamel over dentine).
EDGE_TRANSLUCENT = 0.2
EDGE_WIDTH = 0.07
TRANSLUCENT_TINT = (0.94, 0.97, 1.03)
CERVICAL_SHADE = 0.18
CERVICAL_WIDTH = 0.25
CERVICAL_TINT = (1.0, 0.96, 0.86)
# Edges are ramps of about this many px (anti-aliased, soft but not blurred).
EDGE_PX = 1.3
# Occlusion by the lips, from the opening's own outline: the upper lip casts a
# soft shadow down over the teeth (light comes from above), the lower lip a
# weaker one, the mouth corners hide the back of the mouth (the cheeks).
UPPER_SHADOW = 0.35
UPPER_SHADOW_WIDTH = 0.2
LOWER_SHADOW = 0.2
LOWER_SHADOW_WIDTH = 0.15
CORNER_SHADOW = 0.5
CORNER_SHADOW_WIDTH = 0.45
# The cavity wall is lit near the lips, dark deeper in.
RIM_WIDTH = 0.2
# The opening's staircase outline: averaged over this many px each way along
# itself, no point moved more than OUTLINE_SHIFT px (a one-pixel step needs 0.5).
OUTLINE_SMOOTHING = 4.0
OUTLINE_SHIFT = 0.6
# px between the samples of a row of teeth along the mouth (looked up per pixel).
PROFILE_STEP = 0.25
# Natural teeth when the photo shows none: off-white, slightly warm, scaled
# to the face's own highlights (the 95th percentile of its luma; 215 for a
# well-exposed face) and tinted by the light's colour as the skin shows it.
DEFAULT_TEETH = (236.0, 226.0, 206.0)
WELL_EXPOSED_LUMA = 215.0
# Teeth sit in the mouth's shade: never brighter than this share of the face's highlights.
TEETH_OVER_HIGHLIGHT = 0.92
# A typical lit skin tone's chromaticity (RGB over luma); the photo's skin
# against it gives the light's tint, applied at this strength (square-root-ish).
TYPICAL_SKIN = (1.22, 0.94, 0.80)
TINT_STRENGTH = 0.5
# Teeth against the whites of the eyes (both lit by the face's light).
TEETH_UNDER_SCLERA = 0.95
JAW_LIMITS_DEG = (-5.0, 40.0)


class MouthCompleter(Protocol):
    """Paints the mouth interior into a frame composited without it."""

    def complete(self, frame: np.ndarray, mouth: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """Fill the mouth opening.

        Args:
            frame: (H, W, 3) uint8 composited frame whose opening is black
                (the face layer there is premultiplied by 1 - mouth).
            mouth: (H, W) float32 in [0, 1], weight of the interior (coverage
                of the visible opening).
            vertices: (468, 3) the frame's mesh in output pixels.
        Returns:
            (H, W, 3) uint8, ``frame + mouth * interior``; equal to ``frame``
            wherever ``mouth`` is 0.
        """
        ...


def mouth_box(vertices: np.ndarray, size: tuple[int, int], margin: int = 3) -> tuple[slice, slice]:
    """Rows and columns of the frame that can hold the mouth opening.

    Args:
        vertices: (468, 2+) output pixels.
        size: (H, W) of the frame.
        margin: px around the inner lip contour (the mask's soft edge).
    Returns:
        (rows, cols) slices, possibly empty.
    """
    xy = np.asarray(vertices)[list(MOUTH_OUTLINE), :2]
    height, width = size
    x0, y0 = np.floor(xy.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(xy.max(axis=0)).astype(int) + margin
    return slice(max(y0, 0), min(y1, height)), slice(max(x0, 0), min(x1, width))


def add_interior(frame: np.ndarray, weight: np.ndarray, interior: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """``frame + weight * interior`` inside ``box``; a copy of ``frame`` outside.

    Args:
        frame: (H, W, 3) uint8.
        weight: (h, w) float32 in [0, 1], the box's interior weight.
        interior: (h, w, 3) float32 RGB in [0, 255].
    """
    out = frame.copy()
    mixed = out[box].astype(np.float32) + weight[..., None] * interior
    out[box] = cv2.convertScaleAbs(mixed)
    return out


def smooth_outline(binary: np.ndarray, reach: float = OUTLINE_SMOOTHING) -> np.ndarray:
    """Anti-aliased coverage of a pixel mask with its staircase outline smoothed.

    The outline is traced on the mask at 4x4 samples per pixel (it runs
    through the centres of the edge samples, and filling it back gives the
    same samples), averaged along itself with a triangular window reaching
    ``reach`` px each way (a staircase of one-pixel steps becomes a straight
    slope; no point moves more than ``OUTLINE_SHIFT`` px, so the mouth's
    corners stay), filled at 4x4 samples and averaged down.

    Args:
        binary: (h, w) bool mask.
        reach: px along the outline over which it is averaged, each way.
    Returns:
        (h, w) float32 coverage in [0, 1].
    """
    h, w = binary.shape
    fine = cv2.resize(binary.astype(np.uint8), (4 * w, 4 * h), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(fine, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    half = max(int(round(2 * reach)), 1)  # two boxes of +-reach/2 px, in quarter-pixel samples
    window = 2 * half + 1
    polygons = []
    for contour in contours:
        traced = contour[:, 0, :].astype(np.float32)  # (N, 2) quarter-pixel sample indices
        if len(traced) > 4 * half:
            smooth = np.concatenate([traced[-2 * half :], traced, traced[: 2 * half]])  # closed: wrap
            for _ in range(2):
                summed = np.cumsum(np.concatenate([np.zeros((1, 2), np.float32), smooth]), axis=0)
                smooth = (summed[window:] - summed[:-window]) * np.float32(1.0 / window)
            moved = smooth - traced
            length = np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-6)
            moved *= np.minimum(1.0, 4.0 * OUTLINE_SHIFT / length)
            traced += moved
        polygons.append(np.round(traced * 4).astype(np.int32))
    fine[:] = 0
    cv2.fillPoly(fine, polygons, 255, lineType=cv2.LINE_8, shift=2)
    coverage = cv2.resize(fine, (w, h), interpolation=cv2.INTER_AREA)
    return coverage.astype(np.float32) * np.float32(1.0 / 255.0)


def smooth_opening(frame: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anti-aliased opening: the interior's share of each pixel, and what covers the rest.

    Without multisampling the opening's coverage is a staircase of whole
    pixels. Its smoothed outline (``smooth_outline``) replaces it near the
    edge: a pixel shows the interior as far as the smooth outline covers it,
    and the lip for the rest: the pixel's own lip colour where the frame has
    one (un-premultiplied by ``1 - weight``), else the colour of the lip
    pixels beside it. Pixels outside the opening (``weight`` 0) stay lip.

    Args:
        frame: (h, w, 3) uint8, a box of the composited frame (its lip layer
            premultiplied by ``1 - weight``, black in the opening).
        weight: (h, w) float32 in [0, 1], the opening's coverage over the box
            (times the compositor's fade-in of the interior, if any).
    Returns:
        (inside (h, w) float32 in [0, 1], 0 where ``weight`` is: the
        interior's share; lip (h, w, 3) float32: the colour of the rest).
    """
    # The compositor may fade the whole interior (lips barely parted): the
    # outline is where the weight reaches half its peak, at that peak.
    peak = float(weight.max())
    smooth = smooth_outline(weight > 0.5 * peak) * np.float32(peak)
    # Lip colour beside the opening: a normalised blur of the pixels outside it.
    outside = (weight <= 0.01).astype(np.float32)
    beside = cv2.GaussianBlur(frame.astype(np.float32) * outside[..., None], (5, 5), 1.0)
    near = cv2.GaussianBlur(outside, (5, 5), 1.0)
    beside /= np.maximum(near, 1e-3)[..., None]
    # Far from any lip pixel there is nothing to fill with: keep the coverage.
    trust = np.clip(near * 8.0, 0.0, 1.0)
    inside = np.where(weight > 0.0, weight + (smooth - weight) * trust, 0.0).astype(np.float32)
    # A pixel's own lip colour only where it is mostly lip (dividing by a
    # small 1 - weight would amplify rounding and the feathered edge).
    own = np.clip(2.0 - 4.0 * weight, 0.0, 1.0)[..., None]
    lip = own * (frame.astype(np.float32) / np.maximum(1.0 - weight, 0.5)[..., None]) + (1.0 - own) * beside
    return inside, lip


class DarkMouth:
    """The opening filled dark, brighter towards its edge (the ablation).

    Args:
        colour: RGB of the fill.
    """

    def __init__(self, colour: tuple[int, int, int] = DARK_COLOUR):
        self.colour = np.asarray(colour, dtype=np.float32)

    def complete(self, frame: np.ndarray, mouth: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        box = mouth_box(vertices, frame.shape[:2])
        weight = mouth[box]
        if weight.size == 0 or weight.max() <= 0.0:
            return frame.copy()
        # The edge brightening of the original fill: 4 % of the face width.
        sigma = 0.04 * float(np.ptp(np.asarray(vertices)[:, 0]))
        shade = 1.25 - 0.5 * cv2.GaussianBlur(weight, (0, 0), max(sigma, 0.5), borderType=cv2.BORDER_CONSTANT)
        return add_interior(frame, weight, shade[..., None] * self.colour, box)


# ---------------------------------------------------------------------------
# Colours


@dataclass(frozen=True)
class MouthColours:
    """Colours of the interior (RGB float32 in [0, 255], as lit at the front).

    Attributes:
        teeth, gum, tongue: the parts' colours.
        rim: the cavity wall just behind the lips; deep: the back of the cavity.
        teeth_from_photo: whether ``teeth`` was sampled from the photo's own
            open mouth (else the default scaled to the photo's exposure).
        lighting: relative brightness slope across the mouth, from its left
            end (-) to its right end (+) in the image, in [-0.35, 0.35].
    """

    teeth: np.ndarray
    gum: np.ndarray
    tongue: np.ndarray
    rim: np.ndarray
    deep: np.ndarray
    teeth_from_photo: bool
    lighting: float


def polygon_mask(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixels whose centres lie inside a polygon of (N, 2) output px."""
    mask = np.zeros(size, np.uint8)
    # cv2 draws on integer pixel indices; pixel centres sit at +0.5.
    scaled = np.round((np.asarray(points)[:, :2] - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(mask, [scaled], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB -> (...) Rec. 601 luma, same scale."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def saturation(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB -> (...) HSV saturation in [0, 1]."""
    rgb = np.asarray(rgb, dtype=np.float32)
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    return (high - low) / np.maximum(high, 1e-3)


def sample_teeth(photo: np.ndarray, reference: np.ndarray, lip: np.ndarray, min_pixels: int = 12) -> np.ndarray | None:
    """Teeth colour of the photo's own open mouth, if it shows teeth.

    Teeth are the pixels inside the inner lip contour that are brighter than
    the lips (by 15 %) and than the opening's median, and less saturated than
    the lips (the cavity is dark, the lips and tongue are saturated); the
    brighter half of them gives the colour, so the shadowed teeth at the sides
    do not pull it down. Relative thresholds keep dim photos working.

    Args:
        photo: (H, W, 3) uint8 framed photo.
        reference: (468, 2+) the photo's own mesh in output px.
        lip: (3,) RGB of the lips.
        min_pixels: fewest teeth pixels accepted (also at least 10 % of the opening).
    Returns:
        (3,) float32 RGB, or None when the mouth is closed or shows no teeth.
    """
    inside = polygon_mask(np.asarray(reference)[list(MOUTH_OUTLINE)], photo.shape[:2])
    inside = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    pixels = photo[inside].astype(np.float32)
    if len(pixels) < min_pixels:
        return None
    luma = luminance(pixels)
    bright = (luma > 1.15 * float(luminance(lip))) & (luma >= np.median(luma))
    grey = saturation(pixels) < float(np.clip(0.8 * saturation(lip), 0.15, 0.4))
    teeth = bright & grey
    if teeth.sum() < max(min_pixels, 0.1 * len(pixels)):
        return None
    chosen = pixels[teeth]
    brighter = chosen[luminance(chosen) >= np.median(luminance(chosen))]
    return np.median(brighter, axis=0).astype(np.float32)


def sample_sclera(photo: np.ndarray, reference: np.ndarray, min_pixels: int = 8) -> np.ndarray | None:
    """Colour of the whites of the eyes: white under the face's own light.

    The brighter, less saturated quarter of the pixels inside both eye
    contours (the iris and lashes are darker, the lids and caruncle redder).

    Args:
        photo: (H, W, 3) uint8 framed photo.
        reference: (468, 2+) the photo's own mesh in output px.
    Returns:
        (3,) float32 RGB, or None when the eyes are too small or closed.
    """
    pixels = []
    for corners, upper, lower in ((RIGHT_EYE_CORNERS, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
                                  (LEFT_EYE_CORNERS, LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        outline = (corners[0],) + upper + (corners[1],) + lower[::-1]
        inside = polygon_mask(np.asarray(reference)[list(outline)], photo.shape[:2])
        pixels.append(photo[inside].astype(np.float32))
    pixels = np.concatenate(pixels)
    if len(pixels) < 4 * min_pixels:
        return None
    luma, sat = luminance(pixels), saturation(pixels)
    chosen = pixels[(luma >= np.percentile(luma, 75)) & (sat <= np.percentile(sat, 50))]
    if len(chosen) < min_pixels:
        return None
    return np.median(chosen, axis=0).astype(np.float32)


def mouth_colours(photo: np.ndarray, reference: np.ndarray) -> MouthColours:
    """Interior colours from the photo.

    The cavity, tongue and gum are the lip colour (median of the vermilion)
    made redder and darker; the teeth are sampled from the photo's own open
    mouth (``sample_teeth``), else from the whites of the eyes
    (``sample_sclera``), else ``DEFAULT_TEETH`` scaled by the face's
    highlights (the 95th percentile of its luma over 215, clipped to
    0.1..1) and tinted by the light's colour as the skin shows it; either way
    the teeth are capped at ``TEETH_OVER_HIGHLIGHT`` of the face's highlight
    luma (teeth in the mouth are in shade). The lighting slope compares the
    cheeks beside the mouth corners.

    Args:
        photo: (H, W, 3) uint8 framed photo.
        reference: (468, 2+) the photo's own mesh in output px.
    """
    reference = np.asarray(reference, dtype=np.float64)
    size = photo.shape[:2]
    vermilion = polygon_mask(reference[list(LIP_OUTLINE)], size) & ~polygon_mask(reference[list(MOUTH_OUTLINE)], size)
    vermilion = cv2.erode(vermilion.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    lips = photo[vermilion].astype(np.float32)
    lip = np.median(lips, axis=0) if len(lips) >= 10 else np.array([170.0, 95.0, 90.0], np.float32)
    # Oral mucosa is the lip's red without the skin's yellow; keep the lip's
    # brightness, shift the hue towards red.
    red = lip * np.array([1.0, 0.72, 0.78], np.float32)
    red *= luminance(lip) / max(float(luminance(red)), 1e-3)

    hull = cv2.convexHull(reference[:, :2].astype(np.float32)).reshape(-1, 2)
    face = photo[polygon_mask(hull, size)].astype(np.float32)
    highlight = float(np.percentile(luminance(face), 95)) if len(face) else WELL_EXPOSED_LUMA
    skin = np.median(face, axis=0) if len(face) else np.array(TYPICAL_SKIN, np.float32) * 150.0
    sampled = sample_teeth(photo, reference, lip)
    sclera = sample_sclera(photo, reference)
    if sampled is not None:
        teeth = sampled
    elif sclera is not None:
        # The whites of the eyes are white under this face's light: the teeth
        # take their colour, a little warmer, a little darker (in the mouth's shade).
        teeth = sclera * np.asarray(DEFAULT_TEETH, np.float32) / float(np.mean(DEFAULT_TEETH)) * TEETH_UNDER_SCLERA
    else:
        tint = (skin / max(float(luminance(skin)), 1e-3)) / np.asarray(TYPICAL_SKIN, np.float32)
        tint = np.clip(tint, 0.6, 1.6) ** TINT_STRENGTH
        teeth = np.asarray(DEFAULT_TEETH, np.float32) * tint * np.clip(highlight / WELL_EXPOSED_LUMA, 0.1, 1.0)
    if sampled is None:
        # Lit like the face: no brighter than its brightest white (eyes or skin highlights).
        white = max(highlight, float(luminance(sclera)) if sclera is not None else 0.0)
        teeth = teeth * min(1.0, TEETH_OVER_HIGHLIGHT * white / max(float(luminance(teeth)), 1e-3))

    corners = reference[list(INNER_CORNERS), :2]
    width = float(np.linalg.norm(corners[1] - corners[0]))
    left, right = corners[np.argsort(corners[:, 0])]
    lumas = []
    for corner, side in ((left, -1.0), (right, 1.0)):
        centre = corner + np.array([side * 0.45 * width, -0.05 * width])
        disc = np.zeros(size, np.uint8)
        cv2.circle(disc, (int(round(centre[0])), int(round(centre[1]))), max(2, int(0.18 * width)), 1, -1)
        patch = photo[disc.astype(bool)]
        lumas.append(float(luminance(patch.astype(np.float32)).mean()) if len(patch) else 1.0)
    lighting = float(np.clip((lumas[1] - lumas[0]) / max(lumas[1] + lumas[0], 1e-3), -0.35, 0.35))
    return MouthColours(
        teeth=np.asarray(teeth, np.float32),
        gum=(red * 0.75).astype(np.float32),
        tongue=(red * 0.8).astype(np.float32),
        rim=(red * 0.42).astype(np.float32),
        deep=(red * 0.08).astype(np.float32),
        teeth_from_photo=sampled is not None,
        lighting=lighting,
    )


# ---------------------------------------------------------------------------
# Geometry


@dataclass(frozen=True)
class Arch:
    """One row of teeth, projected into a frame (all lengths in output px).

    Attributes:
        u: (N,) increasing positions along the mouth axis of the edge samples.
        edge: (N,) incisal edge position down the face at ``u``.
        gum: (N,) gum line position down the face at ``u``.
        depth: (N,) cm along the arch behind the incisors (0 at the front).
        bounds: (B,) increasing ``u`` of the tooth boundaries, ends included.
        notch: (N,) px by which the incisal edge recedes (rounded corners).
        papilla: (N,) px by which the gum dips between the teeth.
        shade: (N,) the enamel's brightness factor (depth, convex crowns).
    """

    u: np.ndarray
    edge: np.ndarray
    gum: np.ndarray
    depth: np.ndarray
    bounds: np.ndarray
    notch: np.ndarray
    papilla: np.ndarray
    shade: np.ndarray


@dataclass(frozen=True)
class MouthLayout:
    """Where the interior's parts are in one frame.

    Attributes:
        origin: (2,) px, the relaxed lip line's centre (moves with the skull).
        axis: (2,) unit vector along the mouth, towards the image's right for
            an upright face; ``normal``: (2,) unit vector down the face.
        px_per_cm: scale of the head frame.
        jaw_deg: the mandible's opening angle read from the chin.
        upper, lower: the arches.
        tongue_centre: (2,) (u, v) px; tongue_axes: (2,) semi-axes px.
    """

    origin: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    px_per_cm: float
    jaw_deg: float
    upper: Arch
    lower: Arch
    tongue_centre: np.ndarray
    tongue_axes: np.ndarray

    def to_image(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N,) mouth-frame coordinates -> (N, 2) output px."""
        return self.origin + np.multiply.outer(u, self.axis) + np.multiply.outer(v, self.normal)

    def upper_edge_image(self) -> np.ndarray:
        """(N, 2) px, the upper incisal edge."""
        return self.to_image(self.upper.u, self.upper.edge)

    def lower_edge_image(self) -> np.ndarray:
        """(N, 2) px, the lower incisal edge."""
        return self.to_image(self.lower.u, self.lower.edge)


@dataclass(frozen=True)
class ArchModel:
    """One row of teeth in the head frame (cm), relative to its central incisal point.

    Attributes:
        edge: (N, 3) incisal edge points from the right end of the arch to the
            left end (x increasing).
        crown: (N,) crown height at each sample.
        depth: (N,) cm along the arch behind the incisors.
        bound_index: (B,) indices of the samples on tooth boundaries.
        notch: (N,) cm by which the incisal edge recedes near a boundary
            (rounded corners: the incisal embrasures).
        papilla: (N,) cm by which the gum dips near a boundary.
        shade: (N,) brightness factor: darker with depth along the arch,
            convex across each crown (lit in its middle).
    """

    edge: np.ndarray
    crown: np.ndarray
    depth: np.ndarray
    bound_index: np.ndarray
    notch: np.ndarray
    papilla: np.ndarray
    shade: np.ndarray


def arch_points(
    widths, heights, steps, radius: float, rise: float, scale: float, samples: int = ARCH_SAMPLES
) -> ArchModel:
    """A dental arch in the head frame relative to its central incisal point.

    Args:
        widths, heights, steps: per tooth from the midline (cm).
        radius: arch radius at the front (cm).
        rise: how much higher the edge is at the arch's end (cm).
        scale: the person's mouth width relative to the canonical one.
        samples: edge samples per tooth.
    """
    ends = np.concatenate([[0.0], np.cumsum(widths)])
    arc, height, step, gap, across = [], [], [], [], []
    for k in range(len(widths)):
        t = np.linspace(0.0, 1.0, samples, endpoint=False)
        arc.append(ends[k] + t * widths[k])
        height.append(np.full(samples, heights[k]))
        step.append(np.full(samples, steps[k]))
        gap.append(np.minimum(t, 1.0 - t) * widths[k] * scale)
        across.append(t)
    arc = np.concatenate(arc + [[ends[-1]]])
    height = np.concatenate(height + [[heights[-1]]])
    step = np.concatenate(step + [[steps[-1]]])
    gap = np.concatenate(gap + [[0.0]])
    across = np.concatenate(across + [[0.0]])
    # Front circle, then straight back (molars are seen edge-on).
    angle = np.minimum(arc / radius, np.pi / 2)
    x = radius * np.sin(angle)
    z = -radius * (1.0 - np.cos(angle)) - np.maximum(arc - radius * np.pi / 2, 0.0)
    y = step + rise * (x / radius) ** 2
    half = np.stack([x * scale, y, z * scale], axis=1)
    notch = EMBRASURE_DEPTH * np.clip(1.0 - gap / EMBRASURE_WIDTH, 0.0, 1.0) ** 2
    papilla = PAPILLA_DEPTH * np.exp(-((gap / PAPILLA_WIDTH) ** 2))
    shade = np.exp(-((half[:, 2] / DEPTH_FALLOFF) ** 2))
    shade *= 1.0 - ACROSS_SHADE * (1.0 - np.sqrt(np.sin(np.pi * across)))

    def both(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values[::-1], values[1:]])

    n = len(half)
    bounds_half = np.arange(0, n, samples)
    return ArchModel(
        edge=np.concatenate([half[::-1] * [-1.0, 1.0, 1.0], half[1:]]),
        crown=both(height),
        depth=both(-half[:, 2]),
        bound_index=np.unique(np.concatenate([n - 1 - bounds_half, n - 1 + bounds_half])),
        notch=both(notch),
        papilla=both(papilla),
        shade=both(shade),
    )


def _project_arch(
    pose: RigidPose,
    edge: np.ndarray,
    model: ArchModel,
    frame: tuple[np.ndarray, np.ndarray, np.ndarray],
    sign: float,
) -> Arch:
    """Project an arch into the mouth frame (origin, axis, normal) in px.

    Args:
        pose: head frame -> output px.
        edge: (N, 3) the arch's incisal edge in the head frame (``model.edge``
            moved to its place, and with the mandible for the lower teeth).
        model: the arch (``arch_points``).
        sign: +1 puts the crown above the edge (upper teeth), -1 below.

    On a turned head the far side of the arch folds back behind its front;
    only the part that keeps moving outwards from the midline is kept (the
    rest is hidden behind it and the cheek).
    """
    origin, axis, normal = frame
    gum = edge + sign * model.crown[:, None] * np.array([0.0, 1.0, 0.0])
    e = pose.apply(edge)[:, :2] - origin
    g = pose.apply(gum)[:, :2] - origin
    u, v = e @ axis, e @ normal
    mid = len(u) // 2
    left, right = u[mid:], u[mid::-1]
    keep_left = mid + int(np.argmin(np.append(np.diff(left) > 0, False)))
    keep_right = mid - int(np.argmin(np.append(np.diff(right) < 0, False)))
    kept = slice(keep_right, keep_left + 1)
    bounds = model.bound_index[(model.bound_index >= keep_right) & (model.bound_index <= keep_left)]
    return Arch(
        u=u[kept], edge=v[kept], gum=(g @ normal)[kept], depth=model.depth[kept], bounds=u[bounds],
        notch=model.notch[kept] * pose.scale, papilla=model.papilla[kept] * pose.scale, shade=model.shade[kept],
    )


def neutral_mouth(names, coeffs: np.ndarray) -> np.ndarray:
    """Coefficients with every jaw and mouth shape at rest (lips together).

    Args:
        names: (K,) rig names; coeffs: (K,) coefficients.
    Returns:
        (K,) float64 copy.
    """
    from ..face.rig import audio_driven_mask

    out = np.array(coeffs, dtype=np.float64)
    out[audio_driven_mask(names)] = 0.0
    return out


class RenderedMouth:
    """Cavity, teeth and tongue drawn behind the lips; build once per photo.

    Args:
        colours: the interior's colours (``mouth_colours``).
        neutral: (468, 3) the face with its mouth at rest (lips together) in
            output px: anchors the teeth to the skull and the mandible.
        topology: the canonical mesh (default: the bundled one).
    """

    def __init__(self, colours: MouthColours, neutral: np.ndarray, topology: Topology | None = None):
        neutral = np.asarray(neutral, dtype=np.float64)
        if neutral.shape != (NUM_VERTICES, 3):
            raise ValueError(f"neutral must be ({NUM_VERTICES}, 3), got {neutral.shape}")
        topology = load_topology() if topology is None else topology
        self.colours = colours
        skull = list(SKULL_POINTS)
        pose = similarity_transform(topology.vertices[skull], neutral[skull])
        # The person's face in the head frame (canonical-aligned cm).
        head = pose.invert(neutral)
        self._skull = head[skull]
        self._chin = head[CHIN]
        canonical_width = np.linalg.norm(np.subtract(*topology.vertices[list(INNER_CORNERS)]))
        width = np.linalg.norm(np.subtract(*head[list(INNER_CORNERS)]))
        scale = float(np.clip(width / canonical_width, 0.8, 1.25))
        lip_line = (head[INNER_LIP_UPPER[5]] + head[INNER_LIP_LOWER[5]]) / 2.0
        self._lip_line = lip_line
        self._upper_tip = lip_line + np.array([0.0, -UPPER_EDGE_DROP, -TEETH_BEHIND_LIPS])
        self._lower_tip = self._upper_tip + np.array([0.0, OVERBITE, -OVERJET])
        self._tongue = self._lower_tip + np.array([0.0, TONGUE_RISE - TONGUE_HALF_HEIGHT, -TONGUE_BACK])
        self._upper = arch_points(UPPER_WIDTHS, UPPER_HEIGHTS, UPPER_STEPS, UPPER_RADIUS, UPPER_RISE, scale)
        self._lower = arch_points(LOWER_WIDTHS, LOWER_HEIGHTS, LOWER_STEPS, LOWER_RADIUS, LOWER_RISE, scale)
        self._tongue_axes = np.array([TONGUE_HALF_WIDTH * scale, TONGUE_HALF_HEIGHT])

    @classmethod
    def from_face(
        cls,
        photo: np.ndarray,
        reference: np.ndarray,
        neutral: np.ndarray | None = None,
        topology: Topology | None = None,
    ) -> "RenderedMouth":
        """Build from the photo stage's outputs.

        Args:
            photo: (H, W, 3) uint8 framed photo (the compositor's background).
            reference: (468, 3) the photo's own mesh in output px (its own
                expression: where its lips and any visible teeth are).
            neutral: (468, 3) the same face with the mouth at rest; default
                ``reference`` (right when the photo's lips are together).
        """
        photo = np.asarray(photo)
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise ValueError(f"photo must be (H, W, 3) uint8, got {photo.shape} {photo.dtype}")
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != (NUM_VERTICES, 3):
            raise ValueError(f"reference must be ({NUM_VERTICES}, 3), got {reference.shape}")
        neutral = reference if neutral is None else neutral
        return cls(mouth_colours(photo, reference), neutral, topology)

    def layout(self, vertices: np.ndarray) -> MouthLayout:
        """Place the interior for one frame.

        Args:
            vertices: (468, 3) the frame's mesh in output px.
        """
        vertices = np.asarray(vertices, dtype=np.float64)
        pose = similarity_transform(self._skull, vertices[list(SKULL_POINTS)])
        # The mandible turns about the hinge: its angle is the chin's.
        chin = pose.invert(vertices[CHIN])
        before, after = self._chin - JAW_HINGE, chin - JAW_HINGE
        opening = np.arctan2(before[1], before[2]) - np.arctan2(after[1], after[2])
        jaw_deg = float(np.clip(np.degrees(opening), *JAW_LIMITS_DEG))
        shift = np.array([chin[0] - self._chin[0], 0.0, 0.0])

        def jaw(points: np.ndarray) -> np.ndarray:
            return rotate_x(points, JAW_HINGE, jaw_deg) + shift

        origin = pose.apply(self._lip_line)[:2]
        axis = pose.rotation[:2, 0]
        axis = axis / max(np.linalg.norm(axis), 1e-9)
        normal = np.array([-axis[1], axis[0]])
        upper = _project_arch(pose, self._upper_tip + self._upper.edge, self._upper, (origin, axis, normal), 1.0)
        lower = _project_arch(pose, jaw(self._lower_tip + self._lower.edge), self._lower, (origin, axis, normal), -1.0)
        tongue = pose.apply(jaw(self._tongue[None]))[0, :2] - origin
        return MouthLayout(
            origin=origin,
            axis=axis,
            normal=normal,
            px_per_cm=pose.scale,
            jaw_deg=jaw_deg,
            upper=upper,
            lower=lower,
            tongue_centre=np.array([tongue @ axis, tongue @ normal]),
            tongue_axes=self._tongue_axes * pose.scale,
        )

    def complete(self, frame: np.ndarray, mouth: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        box = mouth_box(vertices, frame.shape[:2])
        weight = mouth[box]
        if weight.size == 0 or weight.max() <= 0.0:
            return frame.copy()
        corner = (box[0].start, box[1].start)
        inside, lip = smooth_opening(frame[box], weight)
        interior = draw_interior(self.layout(vertices), self.colours, inside, corner)
        out = frame.copy()
        mixed = lip + inside[..., None] * (interior - lip)
        out[box] = cv2.convertScaleAbs(mixed)
        return out


# ---------------------------------------------------------------------------
# Drawing


def arch_profile(arch: Arch, down: bool, step: float = PROFILE_STEP) -> tuple[float, np.ndarray]:
    """One row of teeth along the mouth, resampled on a uniform 1-D grid.

    Everything across the row depends on the position ``u`` along the mouth
    only, so each pixel looks it up on this grid (no search).

    Args:
        arch: the projected arch; down: True for the upper teeth (crowns hang
            down from the gum), False for the lower ones; step: grid spacing in px.
    Returns:
        (u0, table (1, N, 3) float32, an image row for ``cv2.remap``): the
        grid's first position (the grid is ``u0 + step * arange(N)``), and on
        it the incisal edge and gum line (px down the face, with the
        embrasures and papillae) and the enamel's brightness factor. At the
        two samples beyond the arch's ends the edge lies on the gum side, so
        nothing is drawn there.
    """
    sign = 1.0 if down else -1.0
    us = np.arange(arch.u[0], arch.u[-1] + step, step)
    edge = np.interp(us, arch.u, arch.edge - sign * arch.notch)
    gum = np.interp(us, arch.u, arch.gum + sign * arch.papilla)
    shade = np.interp(us, arch.u, arch.shade) * (1.0 if down else LOWER_SHADE)
    table = np.empty((1, len(us) + 2, 3), np.float32)
    table[0, 1:-1] = np.stack([edge, gum, shade], axis=1)
    table[0, 0], table[0, -1] = table[0, 1], table[0, -2]
    table[0, [0, -1], 0] -= sign * 1e4  # beyond the ends: edge on the gum side
    return float(us[0] - step), table


def _arch_fields(arch: Arch, u: np.ndarray, v: np.ndarray, px_per_cm: float, down: bool):
    """Per-pixel weights of one row of teeth (see ``arch_profile``).

    Returns:
        (coverage (h, w), fields (4, h, w)): the row's coverage, and the
        weights of the teeth colour, its translucent-edge tint, its
        cervical tint and the gum colour in the row's own colour.
    """
    sign = 1.0 if down else -1.0
    u0, table = arch_profile(arch, down)
    # A uniform grid: linear lookup without a search.
    column = (u - np.float32(u0)) * np.float32(1.0 / PROFILE_STEP)
    row = np.zeros_like(column)
    edge, gum, lit = cv2.split(cv2.remap(table, column, row, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    from_edge = (edge - v) * sign  # px into the crown from its incisal edge
    from_gum = (v - gum) * sign  # px into the crown from the gum line
    coverage = np.clip(from_edge * (1.0 / EDGE_PX) + 0.5, 0.0, 1.0)
    enamel = np.clip(from_gum * (1.0 / (EDGE_PX + 0.04 * px_per_cm)) + 0.5, 0.0, 1.0)
    # Translucent incisal edge, yellower and darker cervical third.
    tip = np.exp(-np.maximum(from_edge, 0.0) * (1.0 / (EDGE_WIDTH * px_per_cm)))
    neck = np.exp(-np.maximum(from_gum, 0.0) * (1.0 / (CERVICAL_WIDTH * px_per_cm)))
    gum_weight = lit * (1.0 - enamel)
    lit *= enamel
    lit *= (1.0 - EDGE_TRANSLUCENT * tip) * (1.0 - CERVICAL_SHADE * neck)
    return coverage, (lit, lit * tip, lit * neck, gum_weight)


def _opening_distances(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft distances (px) into the opening from its top, bottom and nearer side.

    Counted along the box's columns and rows (the mouth is about level), so the
    lips' shadows follow the opening's real outline.

    Args:
        weight: (h, w) float32 interior weight.
    Returns:
        (from the top (h, w), from the bottom (h, w), from the nearer side (h, w)).
    """
    half = 0.5 * weight
    top = np.cumsum(weight, axis=0) - half
    bottom = np.cumsum(weight[::-1], axis=0)[::-1] - half
    side = np.minimum(np.cumsum(weight, axis=1), np.cumsum(weight[:, ::-1], axis=1)[:, ::-1]) - half
    return top, bottom, side


def draw_interior(
    layout: MouthLayout, colours: MouthColours, weight: np.ndarray, corner: tuple[int, int]
) -> np.ndarray:
    """RGB of the mouth interior over a box of the frame.

    Back to front: the cavity (lit wall near the lips, dark deep inside), the
    tongue, the lower teeth, the upper teeth (in front of the lower ones).
    Then the lips' shadows: a soft one cast down from the upper lip, a weaker
    one from the lower lip, the dark mouth corners; and the face's left-right
    lighting. Each part is a scalar weight field per colour; one matrix
    product mixes them.

    Args:
        layout: the frame's geometry.
        colours: the interior's colours.
        weight: (h, w) float32 interior weight over the box (where the opening is).
        corner: (row, col) of the box's top-left pixel in the frame.
    Returns:
        (h, w, 3) float32 RGB in [0, 255].
    """
    h, w = weight.shape
    cm = float(layout.px_per_cm)
    dx = np.arange(w, dtype=np.float32)[None, :] + np.float32(corner[1] + 0.5 - layout.origin[0])
    dy = np.arange(h, dtype=np.float32)[:, None] + np.float32(corner[0] + 0.5 - layout.origin[1])
    u = dx * np.float32(layout.axis[0]) + dy * np.float32(layout.axis[1])
    v = dx * np.float32(layout.normal[0]) + dy * np.float32(layout.normal[1])

    top, bottom, side = _opening_distances(weight)
    rim = np.exp(np.minimum(np.minimum(top, bottom), side) * np.float32(-1.0 / (RIM_WIDTH * cm)))

    # Tongue: lit on its front, fading into the dark towards its back (its
    # top edge here) and its sides.
    cu, cv = layout.tongue_centre
    a, b = layout.tongue_axes
    tu, tv = (u - cu) * (1.0 / a), (v - cv) * (1.0 / b)
    tu2 = tu * tu
    tongue = np.clip((1.0 - np.sqrt(tu2 + tv * tv)) * (min(a, b) / EDGE_PX) + 0.5, 0.0, 1.0)
    rise = np.clip((tv + np.sqrt(np.clip(1.0 - tu2, 0.0, 1.0))) * (b / (TONGUE_FADE * cm)), 0.0, 1.0)
    tongue_lit = (0.15 + 0.75 * smoothstep(rise)) * (1.0 - 0.4 * tu2)

    lower, lower_fields = _arch_fields(layout.lower, u, v, cm, False)
    upper, upper_fields = _arch_fields(layout.upper, u, v, cm, True)
    # Front to back: what is left of each pixel for the layers behind.
    behind_upper = 1.0 - upper
    behind_lower = behind_upper * (1.0 - lower)
    cavity = behind_lower * (1.0 - tongue)
    fields = [cavity * (1.0 - rim), cavity * rim, behind_lower * tongue * tongue_lit]
    fields += [f * (behind_upper * lower) for f in lower_fields] + [f * upper for f in upper_fields]

    teeth = colours.teeth.astype(np.float32)
    tint = [teeth, teeth * (np.asarray(TRANSLUCENT_TINT, np.float32) - 1.0),
            teeth * (np.asarray(CERVICAL_TINT, np.float32) - 1.0), colours.gum]
    palette = np.stack([colours.deep, colours.rim, colours.tongue] + tint + tint).astype(np.float32)

    shadow = 1.0 - UPPER_SHADOW * np.exp(top * np.float32(-1.0 / (UPPER_SHADOW_WIDTH * cm)))
    shadow *= 1.0 - LOWER_SHADOW * np.exp(bottom * np.float32(-1.0 / (LOWER_SHADOW_WIDTH * cm)))
    shadow *= 1.0 - CORNER_SHADOW * np.exp(side * np.float32(-1.0 / (CORNER_SHADOW_WIDTH * cm)))
    if colours.lighting:
        half = max(float(np.ptp(layout.upper.u)) / 2.0, 1.0)
        shadow *= np.clip(1.0 + colours.lighting * u / half, 0.5, 1.5)
    stacked = np.stack(np.broadcast_arrays(*fields), axis=-1).astype(np.float32, copy=False)
    colour = (stacked * shadow[..., None]) @ palette
    return np.clip(colour, 0.0, 255.0)
