"""Framing the photo and compositing the rendered face back into it.

The output frame is either a square crop around the face or the whole photo
(``Framing``). Each frame, the photo is warped by a smooth displacement field
that follows the mesh and fades out away from the face (so the chin, neck and
hair move with the jaw and head), then the rendered skin goes over it with a
feathered edge and the mouth opening is filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.linalg import solveh_banded

from ..face.rig import inner_lip_gap, smoothstep
from ..face.topology import NUM_VERTICES, Topology, load_topology
from ..types import FaceLandmarks, Framing, RenderedFrame
from .gl import RenderOutput
from .mouth import DarkMouth, MouthCompleter
from ..rasterize import rasterize

FRAMING_MODES = ("crop", "full")
# Crop square after the FFHQ alignment that SadTalker's "crop" preprocess (and
# most talking-head tools) use: side = max(4 x eye distance, 3.6 x eye-to-mouth
# distance), centred 0.1 eye-to-mouth below the eyes. We take it 10% larger and
# centred 0.3 eye-to-mouth below the eyes, so an opening jaw stays in frame: the
# face mesh fills ~0.6 of the side, with the chin ~0.1 of the side above the bottom.
CROP_EYE_FACTOR = 4.4
CROP_MOUTH_FACTOR = 4.0
CROP_CENTRE_SHIFT = 0.3
# Where the photo has room, the square grows (up to this factor) towards the
# output size rather than enlarge the photo: enlarging softens the face (the
# published CPBD of a 1.24x bicubic enlargement is ~0.75x the photo's).
CROP_MAX_LOOSEN = 1.4
# Enlarging the photo by more than this is reported in the notes.
UPSCALE_NOTE_ABOVE = 1.05
MOUTH_COLOUR = (30, 15, 15)
# The coarse displacement grid has at most this many nodes along a side.
MAX_GRID_NODES = 64
# The warped photo is read between its pixels wherever the field moves it;
# bilinear reads there soften hair and skin (face CPBD 0.86x the photo's under
# head motion). Bicubic keeps it sharp for ~1.6 ms more per 512 px frame.
WARP_INTERPOLATION = cv2.INTER_CUBIC
_EYES = ((33, 133), (263, 362))
_MOUTH_CORNERS = (61, 291)


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def crop_square(landmarks: FaceLandmarks) -> tuple[float, float, float]:
    """The ideal crop square in photo pixels, ignoring the photo's borders.

    Returns:
        (centre x, centre y, side).
    """
    points = landmarks.points[:, :2].astype(np.float64)
    right, left = (points[list(eye)].mean(axis=0) for eye in _EYES)
    eyes = (right + left) / 2.0
    eye_to_mouth = points[list(_MOUTH_CORNERS)].mean(axis=0) - eyes
    side = max(CROP_EYE_FACTOR * np.linalg.norm(left - right), CROP_MOUTH_FACTOR * np.linalg.norm(eye_to_mouth), 1.0)
    centre = eyes + CROP_CENTRE_SHIFT * eye_to_mouth
    return float(centre[0]), float(centre[1]), float(side)


def _place(centre: float, side: float, face: tuple[float, float], extent: float) -> float:
    """Start of a segment of length ``side`` inside [0, extent]: centred on
    ``centre`` where possible, moved to cover the face interval, then inside."""
    start = centre - side / 2.0
    start = min(max(start, face[1] - side), face[0])  # hold the face
    return min(max(start, 0.0), extent - side)  # stay in the photo


def make_framing(landmarks: FaceLandmarks, mode: str = "crop", size: int = 512) -> Framing:
    """Choose the output frame; every output pixel lies inside the photo.

    Args:
        landmarks: the photo's face.
        mode: ``"crop"``: the FFHQ-style square around the face (see
            ``crop_square``), grown by up to ``CROP_MAX_LOOSEN`` towards
            ``size`` photo pixels where the photo allows (so it is not
            enlarged), moved to stay inside the photo; when the photo is
            narrower than that square, the largest square inside the photo that
            holds the face; when the face does not fit in any square inside the
            photo, the whole photo (with a note). ``"full"``: the whole photo,
            long side ``size`` px, aspect kept.
        size: output side (crop) or long side (full); rounded to an even number
            (H.264 needs even dimensions).
    Returns:
        Framing with an affine of uniform scale and an offset, and notes (the
        photo was too tight, the face did not fit, the photo is enlarged).
    Raises:
        ValueError: unknown mode or size < 16.
    """
    if mode not in FRAMING_MODES:
        raise ValueError(f"framing mode must be one of {FRAMING_MODES}, got {mode!r}")
    if size < 16:
        raise ValueError(f"output size must be at least 16 px, got {size}")
    height, width = landmarks.image_size
    notes: list[str] = []
    if mode == "crop":
        cx, cy, side = crop_square(landmarks)
        mesh = landmarks.mesh_points[:, :2]
        # The face as far as it is in the photo (a face cut by the border is framed as cut).
        (fx0, fy0), (fx1, fy1) = np.clip(mesh.min(axis=0), 0, (width, height)), np.clip(mesh.max(axis=0), 0, (width, height))
        # Grow towards the output size (no enlargement) while the face stays large in frame.
        side = max(side, min(float(_even(size)), CROP_MAX_LOOSEN * side, float(min(height, width))))
        if side > min(height, width):
            side = float(min(height, width))
            if max(fx1 - fx0, fy1 - fy0) <= side + 1e-6:
                notes.append(f"the photo is tight around the face: framed the largest square inside it ({int(side)} px)")
        if max(fx1 - fx0, fy1 - fy0) > side + 1e-6:
            notes.append("the face does not fit in a square inside the photo: showing the whole photo")
        else:
            x0 = _place(cx, side, (fx0, fx1), width)
            y0 = _place(cy, side, (fy0, fy1), height)
            out_side = _even(size)
            scale = out_side / side
            affine = np.array([[scale, 0.0, -scale * x0], [0.0, scale, -scale * y0]])
            if scale > UPSCALE_NOTE_ABOVE:
                notes.append(f"the face region is {int(round(side))} px in the photo, enlarged {scale:.1f}x "
                             f"to {out_side} px: expect a softer picture than the photo")
            return Framing(mode="crop", affine=affine, size=(out_side, out_side), notes=tuple(notes))
    scale = size / max(height, width)
    out = (_even(height * scale), _even(width * scale))
    # Even rounding may stretch by under a pixel: the larger scale keeps the frame inside the photo.
    scale = max(out[0] / height, out[1] / width)
    affine = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
    if scale > UPSCALE_NOTE_ABOVE:
        notes.append(f"the photo is {width}x{height} px, enlarged {scale:.1f}x: expect a softer picture than the photo")
    return Framing(mode="full", affine=affine, size=out, notes=tuple(notes))


def to_output(points: np.ndarray, framing: Framing) -> np.ndarray:
    """Photo pixels -> output pixels.

    Args:
        points: (..., 2) or (..., 3) x, y (and depth z, scaled like x and y).
    Returns:
        float64 array of the same shape.
    """
    out = np.array(points, dtype=np.float64)
    a = framing.affine
    out[..., 0] = a[0, 0] * out[..., 0] + a[0, 2]
    out[..., 1] = a[1, 1] * out[..., 1] + a[1, 2]
    if out.shape[-1] > 2:
        out[..., 2] *= a[0, 0]
    return out


def crop_photo(image: np.ndarray, framing: Framing) -> np.ndarray:
    """Resample the photo into the output frame.

    Only the photo region the frame needs is resampled; downscaling goes
    through area averaging first (no aliasing), the rest is one bicubic warp.
    ``make_framing`` keeps frames inside the photo; the border is replicated
    only for the interpolation kernel's reach (and for hand-made framings).

    Args:
        image: (H, W, 3) uint8.
        framing: from ``make_framing`` for this photo.
    Returns:
        (h, w, 3) uint8 with (h, w) = ``framing.size``.
    """
    height, width = framing.size
    sx, tx = float(framing.affine[0, 0]), float(framing.affine[0, 2])
    sy, ty = float(framing.affine[1, 1]), float(framing.affine[1, 2])
    # Photo region behind the frame, with a margin for the interpolation kernel.
    x0 = int(np.clip(np.floor(-tx / sx) - 3, 0, image.shape[1] - 1))
    x1 = int(np.clip(np.ceil((width - tx) / sx) + 3, x0 + 1, image.shape[1]))
    y0 = int(np.clip(np.floor(-ty / sy) - 3, 0, image.shape[0] - 1))
    y1 = int(np.clip(np.ceil((height - ty) / sy) + 3, y0 + 1, image.shape[0]))
    source = image[y0:y1, x0:x1]
    fx = fy = 1.0
    if max(sx, sy) < 1.0:
        small = (max(1, round(source.shape[1] * sx)), max(1, round(source.shape[0] * sy)))
        fx, fy = small[0] / source.shape[1], small[1] / source.shape[0]
        source = cv2.resize(source, small, interpolation=cv2.INTER_AREA)
    # Continuous map source -> output: X = (sx / fx) x' + (sx x0 + tx); cv2 wants
    # it between pixel indices, whose centres sit at +0.5.
    ax, bx = sx / fx, sx * x0 + tx
    ay, by = sy / fy, sy * y0 + ty
    matrix = np.array([[ax, 0.0, bx + 0.5 * ax - 0.5], [0.0, ay, by + 0.5 * ay - 0.5]])
    return cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class PhotoSurround:
    """The photo around the frame, at the frame's scale, for the background warp.

    Attributes:
        image: (H + 2m, W + 2m, 3) uint8; frame pixel (x, y) is image pixel (x + m, y + m).
        margin: m, px.
        inside: (x0, y0, x1, y1) frame-pixel box where the photo is (the rest of
            ``image`` is padding that must never be read).
    """

    image: np.ndarray
    margin: int
    inside: tuple[float, float, float, float]

    def pinned(self, size: tuple[int, int]) -> tuple[bool, bool, bool, bool]:
        """(top, bottom, left, right): frame edges where the photo ends."""
        height, width = size
        x0, y0, x1, y1 = self.inside
        return (y0 > -self.margin + 0.5, y1 < height + self.margin - 0.5, x0 > -self.margin + 0.5,
                x1 < width + self.margin - 0.5)


def surround_photo(image: np.ndarray, framing: Framing, margin_fraction: float = 0.15) -> PhotoSurround:
    """The frame plus a margin of the photo around it (where the photo has one).

    Args:
        image: (H, W, 3) uint8 photo.
        framing: its framing.
        margin_fraction: margin relative to the frame's long side.
    """
    height, width = framing.size
    margin = int(round(margin_fraction * max(height, width)))
    a = framing.affine
    wider = Framing(framing.mode, np.array([[a[0, 0], 0.0, a[0, 2] + margin], [0.0, a[1, 1], a[1, 2] + margin]]),
                    (height + 2 * margin, width + 2 * margin))
    inside = (float(a[0, 2]), float(a[1, 2]), float(a[0, 2] + a[0, 0] * image.shape[1]),
              float(a[1, 2] + a[1, 1] * image.shape[0]))
    return PhotoSurround(crop_photo(image, wider), margin, inside)


def displacement_operator(
    reference: np.ndarray,
    triangles: np.ndarray,
    grid: tuple[int, int],
    size: tuple[int, int],
    ring: float = 2.4,
    edges: tuple[bool, bool, bool, bool] = (True, True, True, True),
    pinned: np.ndarray | None = None,
) -> np.ndarray:
    """Linear map from vertex displacements to a coarse displacement grid.

    Grid nodes under the mesh move exactly like the mesh there (barycentric
    interpolation of their triangle's vertices, so the photo under the rendered
    face moves with it and the feathered edge shows no double contour). Nodes
    outside an ellipse ``ring`` times the face's half extents stay put. Nodes in
    between minimise the discrete thin-plate energy (squared grid Laplacian,
    natural boundary at the frame's edge): the field continues the face's
    motion smoothly (a turning head turns its hair and neck, an opening jaw
    pulls the skin below the chin) and fades to zero at the ring and at
    pinned frame edges. Unlike a
    harmonic fill it is smooth across the face outline; the price is a small
    overshoot (about 10 % of the largest motion, opposite in sign) beside
    places where the outline's motion changes abruptly.

    Args:
        reference: (V, 3) the photo's mesh in output pixels (x, y, depth).
        triangles: (T, 3) the mesh's triangles (all of them, mouth included).
        grid: (gh, gw) nodes; node (r, c) sits at pixel
            ((c + 0.5) W / gw, (r + 0.5) H / gh), the centre convention of
            ``cv2.resize``, so a bilinear resize to (H, W) interpolates it.
        size: (H, W) of the frame.
        ring: where the field reaches zero, relative to the face half extents.
        edges: (top, bottom, left, right) frame edges whose nodes stay put
            (where the photo ends there, so the warp never reads past it).
        pinned: (gh * gw,) bool, more nodes held at zero where the mesh does
            not cover them (``render/warp.py``: frame border, torso).
    Returns:
        (gh * gw, V) float32; ``(op @ d).reshape(gh, gw, 2)`` for d (V, 2).
    """
    gh, gw = grid
    height, width = size
    reference = np.asarray(reference, dtype=np.float64)
    count = len(reference)
    # Rasterising the mesh at grid resolution gives each node its triangle and
    # barycentric weights (node centres are the raster's pixel centres).
    in_grid = reference[:, :2] * np.array([gw / width, gh / height])
    frags = rasterize(in_grid, triangles, (gh, gw), depth=reference[:, 2])
    inside = frags.covered.ravel()
    corners = triangles[frags.triangle.ravel()[inside]]  # (n_in, 3)
    rows = np.repeat(np.arange(inside.sum()), 3)
    bary = sparse.csr_matrix(
        (frags.bary.reshape(-1, 3)[inside].ravel(), (rows, corners.ravel())), shape=(inside.sum(), count)
    )

    xy = reference[:, :2]
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre, half = (low + high) / 2.0, np.maximum((high - low) / 2.0, 1.0)
    xs, ys = np.meshgrid((np.arange(gw) + 0.5) * width / gw, (np.arange(gh) + 0.5) * height / gh)
    radius = np.hypot((xs - centre[0]) / half[0], (ys - centre[1]) / half[1]).ravel()
    # Nodes on pinned frame edges stay put too: the warp then never reads
    # past the photo's end there.
    edge = np.zeros((gh, gw), bool)
    for pin, side in zip(edges, (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1])):
        edge[side] |= pin
    free = ~inside & (radius < ring) & ~edge.ravel()
    if pinned is not None:
        free &= ~np.asarray(pinned, dtype=bool)

    # Graph Laplacian of the 4-neighbour grid (missing neighbours at the frame
    # edge give the natural boundary condition).
    index = np.arange(gh * gw).reshape(gh, gw)
    pairs = np.concatenate(
        [np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()]), np.stack([index[:-1].ravel(), index[1:].ravel()])],
        axis=1,
    )
    adjacency = sparse.coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(gh * gw,) * 2)
    adjacency = (adjacency + adjacency.T).tocsr()
    laplacian = (sparse.diags(np.asarray(adjacency.sum(axis=1)).ravel()) - adjacency).tocsr()

    operator = np.zeros((gh * gw, count), dtype=np.float64)
    operator[inside] = bary.toarray()
    if free.any() and inside.any():
        # Thin-plate energy |L x|^2 with the fixed nodes given: (L L)_ff x_f =
        # -(L L)_fc x_c. A tiny screening term keeps it positive definite even
        # when a free region touches no fixed node.
        energy = (laplacian @ laplacian).tocsr()
        system = energy[free][:, free] + 1e-6 * sparse.identity(int(free.sum()), format="csr")
        # Only fixed nodes next to the free region (two layers) couple to it:
        # solving for those few columns is cheaper than for every vertex.
        coupling = energy[free][:, inside].tocsc()
        used = np.unique(coupling.nonzero()[1])
        response = _solve_banded_spd(system, -coupling[:, used].toarray())
        operator[free] = response @ bary[used].toarray()
    return operator.astype(np.float32)


def _solve_banded_spd(matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve A X = B for a sparse symmetric positive definite A whose nonzeros lie
    near the diagonal (a grid operator in row-major order: bandwidth ~2 rows).

    Banded Cholesky (LAPACK pbsv) handles hundreds of right-hand sides at once,
    far faster here than a general sparse LU.
    """
    coo = matrix.tocoo()
    band = int(np.abs(coo.row - coo.col).max())
    upper = np.zeros((band + 1, matrix.shape[0]))
    for k in range(band + 1):
        upper[band - k, k:] = matrix.diagonal(k)
    return solveh_banded(upper, rhs)


def feather_alpha(coverage: np.ndarray, radius: int) -> np.ndarray:
    """Soft edge inside a coverage mask: erode by ``radius`` px, then blur.

    The blur reaches no farther than the erosion, so the result is zero
    wherever ``coverage`` is zero and one deep inside.

    Args:
        coverage: (H, W) float32 in [0, 1].
        radius: px, >= 1.
    Returns:
        (H, W) float32 in [0, 1].
    """
    kernel = 2 * radius + 1
    eroded = cv2.erode(coverage, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel)))
    return cv2.GaussianBlur(eroded, (2 * radius - 1, 2 * radius - 1), radius / 2.0)


# Inner-lip gap (output pixels) over which the mouth interior fades in.
INTERIOR_GAP_PX = (0.3, 1.5)


def interior_weight(vertices: np.ndarray, offset: float = 0.0) -> float:
    """How much of the mouth opening the completer paints, from the lips' gap.

    Args:
        vertices: (468, 2+) the frame's mesh in output pixels.
        offset: pixels added to the mesh's gap: the photo's own gap minus the
            fitted mesh's at the photo's expression (the fit may part lips that
            the photo closes).
    Returns:
        float in [0, 1]: 0 for lips (almost) together, 1 once they part by
        ``INTERIOR_GAP_PX[1]`` pixels, smoothstep between.
    """
    low, high = INTERIOR_GAP_PX
    return float(smoothstep((inner_lip_gap(np.asarray(vertices)[:, :2]) + offset - low) / (high - low)))


class Compositor:
    """Puts rendered faces back into one framed photo; build once per photo.

    Args:
        photo: (H, W, 3) uint8 framed photo (``crop_photo``).
        reference: (468, 3) the photo's own mesh in output pixels (what the
            unmoved photo shows).
        topology: the mesh (default: the bundled canonical mesh).
        grid_step: px between nodes of the coarse displacement grid (at most
            ``MAX_GRID_NODES`` nodes per side).
        feather: px of the soft face edge; default 2 % of the face width (>= 2).
        mouth_colour: RGB fill of the mouth opening when no completer is given.
        completer: paints the mouth interior (``render.mouth``); default
            ``DarkMouth(mouth_colour)``.
        surround: the photo around the frame (``surround_photo``), read by the
            background warp; without it the frame is all the photo there is.
        field_operator: builds the displacement operator instead of the default, a
            function ``(reference, triangles, grid, size) -> (gh * gw, V)``
            (``render/warp.py`` for a moving head).
        rest_gap: the photo's own inner-lip gap in output pixels (from its
            landmarks); the mouth interior fades in as the lips part beyond it
            (``interior_weight``). None: the mesh's gap alone.
        interior: False where the photo's lips are hidden (a moustache, a
            mask): nothing is painted in the opening, the warped photo (the
            cover, stretched with the jaw) shows there.
    """

    def __init__(
        self,
        photo: np.ndarray,
        reference: np.ndarray,
        topology: Topology | None = None,
        grid_step: int = 8,
        feather: int | None = None,
        mouth_colour: tuple[int, int, int] = MOUTH_COLOUR,
        completer: MouthCompleter | None = None,
        surround: PhotoSurround | None = None,
        field_operator=None,
        rest_gap: float | None = None,
        interior: bool = True,
    ):
        photo = np.asarray(photo)
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise ValueError(f"photo must be (H, W, 3) uint8, got {photo.shape} {photo.dtype}")
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != (NUM_VERTICES, 3):
            raise ValueError(f"reference must be ({NUM_VERTICES}, 3), got {reference.shape}")
        self.photo = np.ascontiguousarray(photo)
        self.reference = reference
        self._reference_xy = reference[:, :2].astype(np.float32)
        self.size = photo.shape[:2]
        height, width = self.size
        step = max(grid_step, max(height, width) / MAX_GRID_NODES)
        self._grid = (max(2, round(height / step)), max(2, round(width / step)))
        topology = load_topology() if topology is None else topology
        if surround is None:
            surround = PhotoSurround(self.photo, 0, (0.0, 0.0, float(width), float(height)))
        self.surround = surround
        if field_operator is None:
            self._operator = displacement_operator(reference, topology.triangles, self._grid, self.size,
                                                   edges=surround.pinned(self.size))
        else:
            # A moving head's field pins every frame edge (render/warp.py).
            self._operator = field_operator(reference, topology.triangles, self._grid, self.size)
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        # Warp maps into the surround image, and the range of photo pixels they may read.
        m = surround.margin
        self._surround_xy = np.ascontiguousarray(np.stack([xs, ys], axis=-1)) + np.float32(m)
        x0, y0, x1, y1 = surround.inside
        # Per-channel (x, y) bounds as OpenCV scalars: np.clip with array bounds
        # broadcast over the (H, W, 2) map took ~2.4 ms per 512 px frame, these 0.3.
        self._low = (float(max(x0, -m) + m), float(max(y0, -m) + m), 0.0, 0.0)
        self._high = (float(min(x1, width + m) - 1 + m), float(min(y1, height + m) - 1 + m), 0.0, 0.0)
        face_width = float(np.ptp(reference[:, 0]))
        self.feather = int(feather) if feather is not None else max(2, round(0.02 * face_width))
        self.completer = completer if completer is not None else DarkMouth(mouth_colour)
        # The photo's own inner-lip gap (output px) where its landmarks are known.
        self._gap_offset = 0.0 if rest_gap is None else float(rest_gap) - inner_lip_gap(reference[:, :2])
        self._interior = bool(interior)

    def displacement(self, vertices: np.ndarray) -> np.ndarray:
        """Dense displacement field of a frame.

        Args:
            vertices: (468, 2+) output pixels.
        Returns:
            (H, W, 2) float32: how far the photo content at each pixel moves.
        """
        moved = np.asarray(vertices)[:, :2].astype(np.float32) - self._reference_xy
        # Two matrix-vector products are ~3x faster than one (N, 2) product here.
        coarse = np.stack([self._operator @ moved[:, 0], self._operator @ moved[:, 1]], axis=-1)
        coarse = coarse.reshape(*self._grid, 2)
        height, width = self.size
        return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)

    def warp_photo(self, vertices: np.ndarray) -> np.ndarray:
        """The photo with its content moved along with the mesh.

        Backward mapping: output pixel p reads the photo at p - d(p), exact for
        the smooth fields used here up to the field's own slope.

        Returns:
            (H, W, 3) uint8.
        """
        moved = np.asarray(vertices)[:, :2] - self.reference[:, :2]
        if np.abs(moved).max() < 1e-3:
            return self.photo.copy()
        field = self.displacement(vertices)
        # The field is zero on pinned edges; clipping catches the sub-pixel
        # remainder between their nodes and the next, so no pixel is read
        # from beyond the photo.
        # One interleaved (x, y) map: no split into planes.
        mapping = cv2.min(cv2.max(cv2.subtract(self._surround_xy, field), self._low), self._high)
        return cv2.remap(self.surround.image, mapping, None, WARP_INTERPOLATION, borderMode=cv2.BORDER_REPLICATE)

    def compose(self, render: RenderOutput, vertices: np.ndarray) -> RenderedFrame:
        """Composite one rendered face over the warped photo.

        Args:
            render: the renderer's output for ``vertices`` (same frame size).
            vertices: (468, 3) the frame's mesh in output pixels.
        Returns:
            RenderedFrame: rgb (H, W, 3) uint8 with the mouth opening filled
            by the completer; face_alpha the feathered coverage of skin plus
            mouth; mouth_mask the mouth opening's coverage with a one-pixel
            soft edge.
        """
        if render.rgba.shape[:2] != self.size:
            raise ValueError(f"render is {render.rgba.shape[:2]}, compositor frame is {self.size}")
        rgb = self.warp_photo(vertices)
        alpha = np.zeros(self.size, np.float32)
        mouth_mask = np.zeros(self.size, np.float32)
        interior = np.zeros(self.size, np.float32)
        rows, cols = self._face_box(vertices)
        if rows.start < rows.stop and cols.start < cols.stop:
            # Everything below touches only the face's box: outside it alpha is 0.
            box = (rows, cols)
            skin = render.rgba[box]
            mouth = render.mouth[box]
            coverage = np.minimum(skin[..., 3] + mouth, 1.0)
            alpha[box] = feather = feather_alpha(coverage, self.feather)
            # A one-pixel soft edge on the skin side of the mouth opening: an
            # aliased (non-multisampled) render would show jagged lips.
            soft = np.maximum(cv2.GaussianBlur(mouth, (3, 3), 0.7), mouth)
            mouth_mask[box] = soft
            # A barely parted mouth is a sliver of a pixel or two that rasterises
            # to a dark dotted line over the lips: there the interior fades out
            # and the photo's own lip line (moved with the warp) shows instead.
            paint = soft * np.float32(interior_weight(vertices, self._gap_offset) if self._interior else 0.0)
            # Face layer: skin un-premultiplied (the warped photo where no skin
            # is drawn) times 1 - paint, where the completer adds the interior
            # (weighted by paint * feather).
            warped = rgb[box].astype(np.float32)
            drawn = skin[..., 3:] > 1e-3
            colour = np.where(drawn, skin[..., :3] * (255.0 / np.maximum(skin[..., 3:], 1e-3)), warped)
            colour *= (1.0 - paint)[..., None]
            mixed = cv2.blendLinear(colour, warped, feather, 1.0 - feather)
            rgb[box] = cv2.convertScaleAbs(mixed)
            interior[box] = paint * feather
            rgb = self.completer.complete(rgb, interior, vertices)
        return RenderedFrame(rgb=rgb, face_alpha=alpha, mouth_mask=mouth_mask)

    def _face_box(self, vertices: np.ndarray) -> tuple[slice, slice]:
        """Rows and columns that can hold any face pixel (the mesh's box plus
        a margin for the feather), clipped to the frame."""
        xy = np.asarray(vertices)[:, :2]
        margin = self.feather + 2
        height, width = self.size
        x0, y0 = np.floor(xy.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(xy.max(axis=0)).astype(int) + margin
        return slice(max(y0, 0), min(y1, height)), slice(max(x0, 0), min(x1, width))
