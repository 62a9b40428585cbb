"""Framing the photo and compositing the rendered face back into it.

The output frame is either a square crop around the face or the whole photo
(``Framing``). Each frame, the photo is warped by a smooth displacement field
that follows the mesh and fades out away from the face (so the chin, neck and
hair move with the jaw and head), then the rendered skin goes over it with a
feathered edge and the mouth opening is filled.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import sparse
from scipy.linalg import solveh_banded

from ..face.topology import NUM_VERTICES, Topology, load_topology
from ..types import FaceLandmarks, Framing, RenderedFrame
from .gl import RenderOutput
from .mouth import DarkMouth, MouthCompleter
from .rasterize import rasterize

FRAMING_MODES = ("crop", "full")
# Crop side relative to the larger side of the face mesh's bounding box, and the
# shift of the crop centre below the box centre (fraction of the box height):
# leaves hair above and the chin and neck below in the frame.
CROP_ENLARGE = 2.2
CROP_SHIFT_DOWN = 0.06
MOUTH_COLOUR = (30, 15, 15)
# The coarse displacement grid has at most this many nodes along a side.
MAX_GRID_NODES = 64


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def make_framing(landmarks: FaceLandmarks, mode: str = "crop", size: int = 512) -> Framing:
    """Choose the output frame.

    Args:
        landmarks: the photo's face (only the 468 mesh points are used).
        mode: ``"crop"``: a square of ``size`` px centred a little below the eyes,
            ``CROP_ENLARGE`` times the face box; it may extend past the photo
            (``crop_photo`` replicates the border). ``"full"``: the whole photo,
            long side ``size`` px, aspect kept.
        size: output side (crop) or long side (full); rounded to an even number
            (H.264 needs even dimensions).
    Returns:
        Framing with an affine of uniform scale and an offset.
    Raises:
        ValueError: unknown mode or size < 16.
    """
    if mode not in FRAMING_MODES:
        raise ValueError(f"framing mode must be one of {FRAMING_MODES}, got {mode!r}")
    if size < 16:
        raise ValueError(f"output size must be at least 16 px, got {size}")
    if mode == "full":
        height, width = landmarks.image_size
        scale = size / max(height, width)
        out = (_even(height * scale), _even(width * scale))
        affine = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
        return Framing(mode=mode, affine=affine, size=out)
    side = _even(size)
    points = landmarks.mesh_points[:, :2]
    low, high = points.min(axis=0), points.max(axis=0)
    box = high - low
    centre = (low + high) / 2.0 + np.array([0.0, CROP_SHIFT_DOWN * box[1]])
    scale = side / (CROP_ENLARGE * max(box.max(), 1.0))
    affine = np.array(
        [[scale, 0.0, side / 2.0 - scale * centre[0]], [0.0, scale, side / 2.0 - scale * centre[1]]]
    )
    return Framing(mode=mode, affine=affine, size=(side, side))


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
    Outside the photo the border pixels are replicated.

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


def displacement_operator(
    reference: np.ndarray,
    triangles: np.ndarray,
    grid: tuple[int, int],
    size: tuple[int, int],
    ring: float = 2.4,
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
    pulls the skin below the chin) and fades to zero at the ring. Unlike a
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
    free = ~inside & (radius < ring)
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
        field_operator: builds the displacement operator instead of the default, a
            function ``(reference, triangles, grid, size) -> (gh * gw, V)``
            (``render/warp.py`` for a moving head).
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
        field_operator=None,
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
        make_operator = displacement_operator if field_operator is None else field_operator
        self._operator = make_operator(reference, topology.triangles, self._grid, self.size)
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._base = np.ascontiguousarray(np.stack([xs, ys], axis=-1))
        face_width = float(np.ptp(reference[:, 0]))
        self.feather = int(feather) if feather is not None else max(2, round(0.02 * face_width))
        self.completer = completer if completer is not None else DarkMouth(mouth_colour)

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
        return cv2.remap(self.photo, self._base - field, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

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
            # Face layer: skin premultiplied by 1 - soft, black in the opening,
            # where the completer adds the interior (weighted by soft * feather).
            colour = skin[..., :3] * (255.0 * (1.0 - soft) / np.maximum(skin[..., 3], 1e-3))[..., None]
            mixed = cv2.blendLinear(colour, rgb[box].astype(np.float32), feather, 1.0 - feather)
            rgb[box] = cv2.convertScaleAbs(mixed)
            interior[box] = soft * feather
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
