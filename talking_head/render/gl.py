"""Textured face renderer: OpenGL (moderngl, headless EGL) with a NumPy fallback.

Both backends draw the same thing: the skin triangles (mouth opening removed)
textured from the UV map, and the mouth-opening triangles as a separate
coverage mask, depth-tested against each other so a mouth hidden behind the
face does not show. Vertices arrive in output-frame pixels (x right, y down,
pixel centres at +0.5) with depth z (smaller is nearer); the projection is
orthographic.

One resampling: where the photo saw the surface (``set_photo``), the skin is
sampled from the framed photo directly, at each surface point's position in
the photo's own pose, so a face at rest shows the photo's own pixels; the UV
texture (itself a resampling of the photo) only fills in where the photo does
not see the surface (back-facing, grazing or hidden in the photo's pose).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import RendererUnavailableError
from ..face.topology import NUM_VERTICES, Topology
from ..rasterize import rasterize

BACKENDS = ("auto", "gl", "numpy")
# GL_RENDERER substrings of CPU rasterisers (Mesa), where multisampling is costly.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "lavapipe")

_VERTEX_SHADER = """
#version 330
uniform vec2 frame_size;   // (W, H) in pixels
uniform vec2 depth_map;    // z_ndc = z * depth_map.x + depth_map.y
in vec3 in_position;
in vec2 in_uv;
in vec2 in_photo_uv;       // the vertex's position in the photo's own pose, / (W, H)
in float in_photo_weight;  // 1 where the photo sees the surface, 0 where it does not
out vec2 v_uv;
out vec2 v_photo_uv;
out float v_photo_weight;
void main() {
    // y is not flipped: NDC -1 is memory row 0, so readback needs no flip.
    vec2 ndc = in_position.xy / frame_size * 2.0 - 1.0;
    gl_Position = vec4(ndc, in_position.z * depth_map.x + depth_map.y, 1.0);
    v_uv = in_uv;
    v_photo_uv = in_photo_uv;
    v_photo_weight = in_photo_weight;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2D skin_texture;
uniform sampler2D photo_texture;
uniform bool mouth_pass;
in vec2 v_uv;
in vec2 v_photo_uv;
in float v_photo_weight;
layout(location = 0) out vec4 out_skin;
layout(location = 1) out vec4 out_mouth;
// OpenCV's bicubic kernel (a = -0.75, as cv2.INTER_CUBIC in the NumPy path):
// the head at a new pose reads the photo between its pixels, and bilinear
// reads there visibly soften it (face CPBD 0.86x the photo's under head motion).
vec4 cubic_weights(float f) {
    const float a = -0.75;
    float n = 1.0 + f, m = 2.0 - f, g = 1.0 - f;
    return vec4(((a * n - 5.0 * a) * n + 8.0 * a) * n - 4.0 * a,
                ((a + 2.0) * f - (a + 3.0)) * f * f + 1.0,
                ((a + 2.0) * g - (a + 3.0)) * g * g + 1.0,
                ((a * m - 5.0 * a) * m + 8.0 * a) * m - 4.0 * a);
}
vec3 bicubic(sampler2D image, vec2 uv) {
    ivec2 size = textureSize(image, 0);
    vec2 p = uv * vec2(size) - 0.5;  // texel centres at integers
    vec2 base = floor(p);
    vec4 wx = cubic_weights(p.x - base.x);
    vec4 wy = cubic_weights(p.y - base.y);
    ivec2 top = ivec2(base) - 1;
    vec3 sum = vec3(0.0);
    for (int j = 0; j < 4; j++) {
        int y = clamp(top.y + j, 0, size.y - 1);  // edge texels repeat, as BORDER_REPLICATE
        vec3 row = vec3(0.0);
        for (int i = 0; i < 4; i++) {
            row += wx[i] * texelFetch(image, ivec2(clamp(top.x + i, 0, size.x - 1), y), 0).rgb;
        }
        sum += wy[j] * row;
    }
    return clamp(sum, 0.0, 1.0);
}
void main() {
    // Skin and mouth compete in one depth buffer: whichever is nearer owns the pixel.
    if (mouth_pass) {
        out_skin = vec4(0.0);
        out_mouth = vec4(1.0);
    } else {
        vec3 skin = texture(skin_texture, v_uv).rgb;
        vec3 seen = bicubic(photo_texture, v_photo_uv);
        out_skin = vec4(mix(skin, seen, v_photo_weight), 1.0);
        out_mouth = vec4(0.0);
    }
}
"""


@dataclass(frozen=True)
class RenderOutput:
    """One rendered face.

    Attributes:
        rgba: (H, W, 4) float32 in [0, 1], PREMULTIPLIED skin colour (rgb already
            multiplied by alpha); alpha is the skin coverage (fractional on
            anti-aliased edges when multisampling, else 0 or 1).
        mouth: (H, W) float32 in [0, 1], coverage of the visible mouth opening
            (mouth triangles not hidden behind skin).
        depth: (H, W) float32 interpolated vertex z where covered, +inf elsewhere;
            only the NumPy backend fills it (None from OpenGL).
    """

    rgba: np.ndarray
    mouth: np.ndarray
    depth: np.ndarray | None = None

    @property
    def alpha(self) -> np.ndarray:
        """(H, W) float32 skin coverage."""
        return self.rgba[..., 3]


# Photo weight per vertex from the cosine between its normal and the view
# direction in the photo's pose: 0 below the first value, 1 above the second.
PHOTO_FACING_RAMP = (0.15, 0.4)


def photo_weights(reference: np.ndarray, topology: Topology, size: tuple[int, int]) -> np.ndarray:
    """How much each vertex's colour may come from the framed photo directly.

    1 where the photo sees the surface head-on, falling to 0 at grazing angles
    (a steep surface smears few photo pixels over many), where the surface is
    back-facing or hidden behind another part of the face in the photo's pose,
    and outside the frame.

    Args:
        reference: (V, 3) the photo's own mesh in output pixels (x, y, depth).
        topology: the mesh.
        size: (H, W) of the frame.
    Returns:
        (V,) float32 in [0, 1].
    """
    from ..face.texture import visible_points

    reference = np.asarray(reference, dtype=np.float64)
    triangles = topology.face_triangles
    a, b, c = (reference[triangles[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a)  # length = twice the area: area-weighted sums
    vertex_normals = np.zeros_like(reference)
    for k in range(3):
        np.add.at(vertex_normals, triangles[:, k], normals)
    cosine = -vertex_normals[:, 2] / np.maximum(np.linalg.norm(vertex_normals, axis=1), 1e-12)
    low, high = PHOTO_FACING_RAMP
    facing = np.clip((cosine - low) / (high - low), 0.0, 1.0)
    facing = facing * facing * (3 - 2 * facing)  # smoothstep
    # A vertex is seen when any of its triangles sees it (its neighbours never
    # occlude it): on a silhouette (the side of the nose) one of them faces
    # away, and testing only that one sent a line of vertices to the UV
    # texture's mirror fill, drawn as a bright seam beside the nose.
    corner = triangles.ravel()
    owner = np.repeat(np.arange(len(triangles)), 3)
    seen = np.zeros(len(reference), bool)
    np.logical_or.at(seen, corner, visible_points(reference, triangles, reference[corner], owner, size))
    height, width = size
    inside = (reference[:, 0] >= 1) & (reference[:, 0] <= width - 1) & (reference[:, 1] >= 1) & (reference[:, 1] <= height - 1)
    return (facing * (seen & inside)).astype(np.float32)


def depth_transform(z: np.ndarray) -> tuple[float, float]:
    """Affine (a, b) mapping this frame's depth range into NDC [-0.9, 0.9].

    Args:
        z: (V,) vertex depths, any units, smaller is nearer.
    Returns:
        (a, b) with ``z_ndc = a * z + b``; the 10 % margin on each side keeps the
        nearest and farthest vertices off the clip planes.
    """
    near, far = float(z.min()), float(z.max())
    span = max(far - near, 1e-3)
    a = 1.8 / span
    return a, -0.9 - near * a


class FaceRenderer:
    """Renders the textured face mesh into an (H, W) frame.

    Create once per output size and topology, ``set_texture`` once per photo,
    then ``render`` every frame (only the vertex positions change).

    Args:
        size: (H, W) of the output frame.
        topology: the canonical mesh (triangles, UVs, mouth triangles).
        backend: ``"auto"`` (OpenGL when a headless EGL context starts, else
            NumPy), ``"gl"`` or ``"numpy"``.
        samples: MSAA samples for OpenGL (0 = off); None: 4 on a hardware GPU,
            0 on a software rasteriser (llvmpipe), where 4x costs ~4x the time.
            Only the mouth edge shows aliasing (the compositor softens it); the
            face outline is feathered by the compositor anyway.
    Raises:
        RendererUnavailableError: ``backend="gl"`` and no OpenGL context.
        ValueError: unknown backend or a bad size.
    """

    def __init__(self, size: tuple[int, int], topology: Topology, backend: str = "auto", samples: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        height, width = int(size[0]), int(size[1])
        if height < 1 or width < 1:
            raise ValueError(f"render size must be positive, got {size}")
        self.size = (height, width)
        self.topology = topology
        self._face = np.ascontiguousarray(topology.face_triangles, dtype=np.int32)
        self._mouth = np.ascontiguousarray(topology.triangles[topology.mouth_triangles], dtype=np.int32)
        self._gl: _GLState | None = None
        self._texture: np.ndarray | None = None
        self._photo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._pyramid: list[np.ndarray] = []
        if backend in ("auto", "gl"):
            try:
                self._gl = _GLState(self.size, topology.uvs, self._face, self._mouth, samples)
            except RendererUnavailableError:
                if backend == "gl":
                    raise
        self.backend = "gl" if self._gl is not None else "numpy"
        self.samples = self._gl.samples if self._gl is not None else 0

    def close(self) -> None:
        """Release the OpenGL context (the renderer is unusable afterwards)."""
        if self._gl is not None:
            self._gl.release()
            self._gl = None

    def __enter__(self) -> "FaceRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_texture(self, rgba: np.ndarray) -> None:
        """Upload the face texture (once per photo).

        Args:
            rgba: (S, S, 4) or (S, S, 3) uint8 in the canonical UV layout (row 0 is
                v = 0); only rgb is used.
        """
        rgba = np.asarray(rgba)
        if rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or rgba.dtype != np.uint8:
            raise ValueError(f"texture must be (S, S, 3|4) uint8, got {rgba.shape} {rgba.dtype}")
        rgb = np.ascontiguousarray(rgba[..., :3])
        self._texture = rgb
        if self._gl is not None:
            self._gl.set_texture(rgb)
        else:
            self._pyramid = _pyramid(rgb)

    def set_photo(self, photo: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> None:
        """Sample the skin from the framed photo directly where it sees the surface (once per photo).

        Args:
            photo: (H, W, 3) uint8 framed photo, the frame's size.
            reference: (V, 2+) each vertex's position in it (output pixels).
            weights: (V,) float in [0, 1] (``photo_weights``); 0 keeps the UV texture.
        """
        photo = np.asarray(photo)
        if photo.shape != (*self.size, 3) or photo.dtype != np.uint8:
            raise ValueError(f"photo must be {(*self.size, 3)} uint8, got {photo.shape} {photo.dtype}")
        reference = np.asarray(reference, dtype=np.float64)[:, :2]
        weights = np.clip(np.asarray(weights, dtype=np.float32), 0.0, 1.0)
        if reference.shape != (NUM_VERTICES, 2) or weights.shape != (NUM_VERTICES,):
            raise ValueError(f"reference must be ({NUM_VERTICES}, 2+) and weights ({NUM_VERTICES},)")
        height, width = self.size
        photo_uv = (reference / np.array([width, height])).astype(np.float32)
        self._photo = (np.ascontiguousarray(photo), reference.astype(np.float32), weights)
        if self._gl is not None:
            self._gl.set_photo(self._photo[0], photo_uv, weights)

    def render(self, vertices: np.ndarray) -> RenderOutput:
        """Draw one frame.

        Args:
            vertices: (468, 3) output-frame pixels x, y and depth z (smaller nearer).
        Returns:
            RenderOutput of size (H, W).
        """
        vertices = np.asarray(vertices)
        if vertices.shape != (NUM_VERTICES, 3):
            raise ValueError(f"vertices must be ({NUM_VERTICES}, 3), got {vertices.shape}")
        if self._texture is None:
            raise RuntimeError("set_texture must be called before render")
        if self._gl is not None:
            return self._gl.render(vertices)
        return self._render_numpy(vertices)

    def _render_numpy(self, vertices: np.ndarray) -> RenderOutput:
        triangles = np.concatenate([self._face, self._mouth])
        frags = rasterize(vertices[:, :2], triangles, self.size, depth=vertices[:, 2])
        covered = frags.covered
        mouth = covered & (frags.triangle >= len(self._face))
        skin = covered & ~mouth
        uv = frags.interpolate(self.topology.uvs, triangles).astype(np.float32)
        # Emulate mipmapping: pick the pyramid level whose texel roughly matches a pixel.
        level = _mip_level(vertices[:, :2], self.topology.uvs, self._texture.shape[0], len(self._pyramid))
        texture = self._pyramid[level]
        side = texture.shape[0]
        colour = cv2.remap(
            texture, uv[..., 0] * side - 0.5, uv[..., 1] * side - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        colour = colour.astype(np.float32)
        if self._photo is not None:
            photo, reference, weights = self._photo
            # Same sampling as the shader: bicubic at the interpolated photo position.
            xy = frags.interpolate(reference, triangles).astype(np.float32)
            seen = cv2.remap(photo, xy[..., 0] - 0.5, xy[..., 1] - 0.5, cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            weight = frags.interpolate(weights[:, None], triangles).astype(np.float32)
            colour += weight * (seen - colour)
        height, width = self.size
        rgba = np.zeros((height, width, 4), np.float32)
        rgba[..., :3] = colour * np.float32(1 / 255)
        rgba[..., 3] = skin
        rgba[~skin] = 0.0
        depth = np.where(covered, frags.depth, np.inf).astype(np.float32)
        return RenderOutput(rgba=rgba, mouth=mouth.astype(np.float32), depth=depth)


def _pyramid(rgb: np.ndarray) -> list[np.ndarray]:
    """Mip levels of a square texture, halving down to 8 px."""
    levels = [rgb]
    while levels[-1].shape[0] >= 16:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _mip_level(xy: np.ndarray, uvs: np.ndarray, side: int, count: int) -> int:
    """Mip level for a face drawn at ``xy`` from a ``side``-texel texture.

    Args:
        xy: (V, 2) output pixels; uvs: (V, 2) in [0, 1].
    Returns:
        int in [0, count), log2 of texels per pixel (rounded down).
    """
    pixels = np.sqrt(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]))
    texels = side * np.sqrt(np.ptp(uvs[:, 0]) * np.ptp(uvs[:, 1]))
    ratio = texels / max(pixels, 1.0)
    return int(np.clip(np.floor(np.log2(max(ratio, 1.0))), 0, count - 1))


class _GLState:
    """Everything OpenGL: context, program, buffers and framebuffers, made once."""

    def __init__(self, size, uvs, face, mouth, samples):
        try:
            import moderngl

            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as error:  # no libEGL, no driver, no display device...
            raise RendererUnavailableError(
                f"OpenGL (EGL) is not available here ({error.__class__.__name__}: {error}); "
                "use the NumPy renderer"
            ) from None
        self.moderngl = moderngl
        self.lock = threading.Lock()
        self.size = size
        self.texture = None
        try:
            with self.ctx:
                self._build(uvs, face, mouth, samples)
        except Exception as error:  # GL too old, shader or framebuffer refused
            self.ctx.release()
            raise RendererUnavailableError(
                f"OpenGL context cannot render ({error.__class__.__name__}: {error}); use the NumPy renderer"
            ) from None
        height, width = size
        self.skin = np.empty((height, width, 4), np.uint8)
        self.mouth = np.empty((height, width), np.uint8)

    def _build(self, uvs, face, mouth, samples):
        ctx = self.ctx
        height, width = self.size
        self.program = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.program["frame_size"].value = (float(width), float(height))
        self.program["skin_texture"].value = 0
        self.program["photo_texture"].value = 1
        self.positions = ctx.buffer(reserve=NUM_VERTICES * 3 * 4, dynamic=True)
        self.uvs = ctx.buffer(np.ascontiguousarray(uvs, dtype=np.float32).tobytes())
        # Until set_photo: weight 0 everywhere (UV texture only), a 1-texel black photo.
        self.photo_uvs = ctx.buffer(np.zeros((NUM_VERTICES, 2), np.float32).tobytes())
        self.photo_weights = ctx.buffer(np.zeros(NUM_VERTICES, np.float32).tobytes())
        self.photo = ctx.texture((1, 1), 3, bytes(3))
        indices = np.concatenate([face, mouth]).astype(np.int32)
        self.ibo = ctx.buffer(indices.tobytes())
        self.face_count = face.size
        self.mouth_count = mouth.size
        self.vao = ctx.vertex_array(
            self.program,
            [(self.positions, "3f", "in_position"), (self.uvs, "2f", "in_uv"),
             (self.photo_uvs, "2f", "in_photo_uv"), (self.photo_weights, "1f", "in_photo_weight")],
            index_buffer=self.ibo,
            index_element_size=4,
        )
        if samples is None:
            software = any(name in ctx.info["GL_RENDERER"].lower() for name in SOFTWARE_RENDERERS)
            samples = 0 if software else 4
        samples = min(int(samples), ctx.max_samples) if samples > 1 else 0
        self.samples = samples
        self.fbo = self._framebuffer(samples)
        # A multisampled target is resolved into a plain one before readback.
        self.resolved = self._framebuffer(0) if samples else self.fbo

    def _framebuffer(self, samples):
        size = (self.size[1], self.size[0])
        colour = [
            self.ctx.renderbuffer(size, 4, samples=samples),
            self.ctx.renderbuffer(size, 1, samples=samples),
        ]
        return self.ctx.framebuffer(colour, self.ctx.depth_renderbuffer(size, samples=samples))

    def set_texture(self, rgb):
        side_y, side_x = rgb.shape[:2]
        with self.lock, self.ctx:
            if self.texture is not None:
                self.texture.release()
            self.texture = self.ctx.texture((side_x, side_y), 3, rgb.tobytes(), alignment=1)
            self.texture.build_mipmaps()
            self.texture.filter = (self.moderngl.LINEAR_MIPMAP_LINEAR, self.moderngl.LINEAR)
            self.texture.repeat_x = False
            self.texture.repeat_y = False

    def set_photo(self, rgb, photo_uv, weights):
        height, width = rgb.shape[:2]
        with self.lock, self.ctx:
            self.photo.release()
            self.photo = self.ctx.texture((width, height), 3, rgb.tobytes(), alignment=1)
            # At the frame's own scale, no mipmaps; the shader reads texels (bicubic).
            self.photo.filter = (self.moderngl.NEAREST, self.moderngl.NEAREST)
            self.photo.repeat_x = False
            self.photo.repeat_y = False
            self.photo_uvs.write(np.ascontiguousarray(photo_uv, dtype=np.float32).tobytes())
            self.photo_weights.write(np.ascontiguousarray(weights, dtype=np.float32).tobytes())

    def render(self, vertices):
        moderngl = self.moderngl
        positions = np.ascontiguousarray(vertices, dtype=np.float32)
        a, b = depth_transform(positions[:, 2])
        # The context is made current on each call, so any thread may render.
        with self.lock, self.ctx:
            ctx = self.ctx
            self.positions.write(positions.tobytes())
            self.program["depth_map"].value = (a, b)
            self.fbo.use()
            self.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            ctx.enable(moderngl.DEPTH_TEST)
            ctx.disable(moderngl.BLEND | moderngl.CULL_FACE)
            self.texture.use(0)
            self.photo.use(1)
            self.program["mouth_pass"].value = False
            self.vao.render(moderngl.TRIANGLES, vertices=self.face_count, first=0)
            self.program["mouth_pass"].value = True
            self.vao.render(moderngl.TRIANGLES, vertices=self.mouth_count, first=self.face_count)
            if self.resolved is not self.fbo:
                ctx.copy_framebuffer(self.resolved, self.fbo)
            self.resolved.read_into(self.skin, components=4, attachment=0)
            self.resolved.read_into(self.mouth, components=1, attachment=1)
        rgba = np.multiply(self.skin, np.float32(1 / 255), dtype=np.float32)
        mouth = np.multiply(self.mouth, np.float32(1 / 255), dtype=np.float32)
        return RenderOutput(rgba=rgba, mouth=mouth)

    def release(self):
        with self.lock:
            self.ctx.release()
