"""MediaPipe Face Mesh (refined, 478 landmarks) on a photo.

Beyond one MediaPipe call: faces too small for its detector are searched in
overlapping tiles; a sideways or upside-down face turns the photo upright
(``detect_upright``); a mouth that MediaPipe's hand landmarker finds a hand
over is refused; one that does not look like lips (a moustache, a mask,
skin-coloured cloth) is marked ``lips_hidden`` and animated without teeth.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..errors import FaceTooSmallError, InputError, NoFaceError
from ..types import FaceLandmarks, Photo
from .topology import INNER_LIP_LOWER, INNER_LIP_UPPER, OUTER_LIP_LOWER, OUTER_LIP_UPPER

MAX_ANALYSIS_SIDE = 2048
MIN_FACE_PIXELS = 64
# Face-detector confidence a photo must reach. Real portraits score 0.92-0.96
# with MediaPipe's short-range detector (astronaut, the first frames of four
# real talking videos); a drawn smiley scores 0.62 and would otherwise be
# "animated" with a nonsense mesh.
PHOTO_CONFIDENCE = 0.7
# Tiled search for faces too small for the detector on the whole photo: square
# tiles of these fractions of the photo's short side, overlapping by half.
TILE_FRACTIONS = (0.5, 0.25)
MIN_TILE_SIDE = 160
# Forehead and upper cheeks (skin no mask covers) and the lip band.
UPPER_SKIN = (10, 151, 9, 109, 338, 67, 297, 50, 280, 101, 330, 118, 347)
LIP_BAND = OUTER_LIP_UPPER + OUTER_LIP_LOWER[::-1][1:-1]
LIP_OPENING = INNER_LIP_UPPER + INNER_LIP_LOWER[::-1][1:-1]
# Lips are red: their chroma (Lab) is at least ~0.6 of the skin's on real faces
# (13 real portraits: 0.67-1.8) and their hue is not blue. A fabric mask is
# neutral or blue. Only judged when the skin itself has colour (not grey photos).
MIN_LIP_CHROMA_RATIO = 0.45
MIN_SKIN_CHROMA = 6.0
MAX_LIP_BLUE = -8.0
# Lips are darker than the upper face's skin and of a redder hue: their
# contrast (``lip_contrast``) is 14-43 on 20 real faces (the astronaut, Grace
# Hopper, the first frames of 13 real talking videos, 5 of docs/portraits:
# beards, glasses, a child, sepia) and 4 exposure, colour and painting
# variants of the astronaut, and -16..7 with the same faces' own cheek skin
# pasted over the mouth (tools/mouth_cover_report.py). A white walrus
# moustache over the whole mouth (docs/portraits/bald_sepia.jpg) scores -30: a
# face's own cover, so covered lips are animated (no teeth), not refused. Like
# the chroma test, only judged when the skin has colour.
MIN_LIP_CONTRAST = 10.0
HUE_WEIGHT = 0.5
MAX_HUE_DIFFERENCE = 30.0
# A hand (MediaPipe's hand landmarks, their convex hull) over at least this
# share of the lip band covers the mouth.
HAND_OVER_LIPS = 0.25
# Hands are searched in a square window this many face widths across around the face.
HAND_WINDOW = 3.0


def _polygon(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    cv2.fillPoly(mask, [np.round(points[:, :2] - 0.5).astype(np.int32)], 1)
    return mask.astype(bool)


def lip_band(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the lips (between the outer and inner lip contours)."""
    return _polygon(points[list(LIP_BAND)], size) & ~_polygon(points[list(LIP_OPENING)], size)


def lip_colours(rgb: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Median Lab of the lip band and of the upper face's skin.

    Args:
        rgb: (H, W, 3) uint8 photo.
        points: (468+, 2+) its landmarks.
    Returns:
        (lips (3,), skin (3,)) float32 Lab as OpenCV's 8-bit scale (L in
        0..255, a and b centred on 0), or None when either region is tiny.
    """
    size = rgb.shape[:2]
    lips = lip_band(points, size)
    hull = cv2.convexHull(points[list(UPPER_SKIN), :2].astype(np.float32)).reshape(-1, 2)
    skin = _polygon(hull, size)
    if lips.sum() < 10 or skin.sum() < 10:
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 1:] -= 128.0
    return np.median(lab[lips], axis=0), np.median(lab[skin], axis=0)


def lip_contrast(lips: np.ndarray, skin: np.ndarray) -> float:
    """How much the lips stand out from the skin: darker, and of a redder hue.

    Lightness in percent of the skin's (so a dark photo keeps it), plus half
    the hue angle (a*, b*) by which the lips are redder, clipped to 30 degrees
    (hue holds where a bright or high-key photo flattens the lightness).

    Args:
        lips, skin: (3,) Lab (``lip_colours``).
    Returns:
        The contrast; about 0 for skin over the mouth.
    """
    darker = 100.0 * float(skin[0] - lips[0]) / max(float(skin[0]), 1.0)
    redder = np.degrees(np.arctan2(skin[2], skin[1]) - np.arctan2(lips[2], lips[1]))
    redder = (redder + 180.0) % 360.0 - 180.0
    return darker + HUE_WEIGHT * float(np.clip(redder, -MAX_HUE_DIFFERENCE, MAX_HUE_DIFFERENCE))


def mouth_covered(rgb: np.ndarray, points: np.ndarray) -> bool:
    """Whether the lips look covered: the lip band has no lip colour.

    Args:
        rgb: (H, W, 3) uint8 photo.
        points: (468+, 2+) its landmarks.
    Returns:
        True when the lip band is much less colourful than the skin of the
        upper face, or bluish (a fabric mask), or does not stand out from the
        skin as lips do (a hand or other skin-coloured cover, a moustache
        over the whole mouth: ``lip_contrast``). Not judged on grey photos.
    """
    colours = lip_colours(rgb, points)
    if colours is None:
        return False
    lips, skin = colours
    skin_chroma = float(np.hypot(*skin[1:]))
    if skin_chroma < MIN_SKIN_CHROMA:
        return False
    if float(np.hypot(*lips[1:])) < MIN_LIP_CHROMA_RATIO * skin_chroma or float(lips[2]) < MAX_LIP_BLUE:
        return True
    return lip_contrast(lips, skin) < MIN_LIP_CONTRAST


def hand_over_mouth(hands: list[np.ndarray], points: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether a hand covers the lips.

    Args:
        hands: (21, 2+) image-space landmarks of each hand found.
        points: (468+, 2+) the face's landmarks.
        size: (H, W) of the image.
    Returns:
        True when one hand's convex hull covers at least ``HAND_OVER_LIPS``
        of the lip band (a hand beside the face or under the chin does not).
    """
    lips = lip_band(points, size)
    area = lips.sum()
    if area == 0:
        return False
    for hand in hands:
        hull = cv2.convexHull(np.asarray(hand)[:, :2].astype(np.float32)).reshape(-1, 2)
        if (lips & _polygon(hull, size)).sum() >= HAND_OVER_LIPS * area:
            return True
    return False


def upright_turns(points: np.ndarray) -> int:
    """Quarter turns (counter-clockwise, as ``np.rot90``) that make a face upright.

    Args:
        points: (468+, 2+) landmarks.
    Returns:
        0 when the mouth is below the eyes (within 45 degrees), else 1, 2 or 3.
    """
    eyes = points[[33, 133, 263, 362], :2].mean(axis=0)
    mouth = points[[13, 14, 61, 291], :2].mean(axis=0)
    dx, dy = mouth - eyes
    angle = np.degrees(np.arctan2(dx, dy))  # 0 when the mouth is straight below
    # Turning the image counter-clockwise by 90 degrees turns the face the same way.
    return int(np.round(-angle / 90.0)) % 4


def release_free_memory() -> None:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    The hand graph frees tens of MB per photo in malloc arenas that the other
    threads (renderer, other graphs) do not reuse: without this, repeated
    photos grew the process by ~6 MB each, to +135 MB after 25 (measured).
    """
    global _malloc_trim
    if _malloc_trim is None:
        import ctypes
        import ctypes.util

        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


class LandmarkDetector:
    """Wraps one MediaPipe FaceMesh graph; create once, call many times.

    The graph is not re-entrant, so calls are serialised with a lock.

    Args:
        max_faces: faces MediaPipe may return; the largest is kept.
        min_confidence: detection confidence threshold.
        static: True for independent photos, False to track video frames.
    """

    def __init__(self, max_faces: int = 4, min_confidence: float = PHOTO_CONFIDENCE, static: bool = True):
        from ..quiet import native_stderr_silenced

        with native_stderr_silenced():  # TFLite/absl log lines at graph start (see quiet.py)
            import mediapipe as mp

            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=max_faces,
                refine_landmarks=True,
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
            self._mesh._graph.wait_until_idle()  # calculators open (and log) on the graph's threads
        self._lock = threading.Lock()
        self._started = False
        self._hands = None

    def close(self) -> None:
        self._mesh.close()
        if self._hands is not None:
            self._hands.close()

    def find_hands(self, rgb: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
        """Hands near a face (MediaPipe Hands, its palm detector and hand landmarks).

        The search window is a square ``HAND_WINDOW`` face widths across around
        the face, so a hand over a small face in a big photo is large enough
        for the palm detector. The graph starts on first use.

        Args:
            rgb: (H, W, 3) uint8.
            points: (468+, 2+) the face's landmarks.
        Returns:
            list of (21, 2) float64 image-space hand landmarks.
        """
        height, width = rgb.shape[:2]
        low, high = points[:468, :2].min(axis=0), points[:468, :2].max(axis=0)
        centre, half = (low + high) / 2.0, HAND_WINDOW * float((high - low).max()) / 2.0
        x0, y0 = np.maximum(np.floor(centre - half).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(centre + half).astype(int), (width, height))
        window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        factor = min(1.0, MAX_ANALYSIS_SIDE / max(window.shape[:2]))
        if factor < 1.0:
            size = (max(1, round(window.shape[1] * factor)), max(1, round(window.shape[0] * factor)))
            window = cv2.resize(window, size, interpolation=cv2.INTER_AREA)
        from ..quiet import native_stderr_silenced

        with self._lock:
            if self._hands is None:
                with native_stderr_silenced():
                    import mediapipe as mp

                    self._hands = mp.solutions.hands.Hands(
                        static_image_mode=True, max_num_hands=2, min_detection_confidence=0.5
                    )
                    result = self._hands.process(window)
                    self._hands._graph.wait_until_idle()
            else:
                result = self._hands.process(window)
        release_free_memory()
        found = []
        for hand in result.multi_hand_landmarks or []:
            xy = np.array([(p.x, p.y) for p in hand.landmark], dtype=np.float64)
            found.append(xy * np.array([x1 - x0, y1 - y0], dtype=np.float64) + np.array([x0, y0]))
        return found

    def __enter__(self) -> "LandmarkDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect_all(self, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces in an image, largest first.

        Args:
            rgb: (H, W, 3) uint8.
        Returns:
            list of (478, 3) float64 image-space landmarks. Images whose long
            side exceeds 2048 px are analysed downscaled; coordinates are mapped
            back to the full image.
        """
        height, width = rgb.shape[:2]
        factor = min(1.0, MAX_ANALYSIS_SIDE / max(height, width))
        small = rgb
        if factor < 1.0:
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        with self._lock:
            if self._started:
                result = self._mesh.process(small)
            else:  # the first frame starts the graph's calculators, which log to fd 2
                from ..quiet import native_stderr_silenced

                with native_stderr_silenced():
                    result = self._mesh.process(small)
                    # Calculators finish opening (and logging) on the graph's threads after the result.
                    self._mesh._graph.wait_until_idle()
                self._started = True
        faces = []
        sh, sw = small.shape[:2]
        for face in result.multi_face_landmarks or []:
            points = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
            # Normalised -> pixels of the analysed image; z is scaled by width.
            points *= np.array([sw, sh, sw], dtype=np.float64)
            points *= np.array([width / sw, height / sh, width / sw])
            faces.append(points)
        faces.sort(key=lambda p: -np.ptp(p[:, 0]) * np.ptp(p[:, 1]))
        return faces

    def find(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Faces of an image, largest first; small faces are searched in tiles.

        When MediaPipe finds nothing on the whole image, overlapping square
        tiles (half, then a quarter of the short side) are searched; the first
        face found is re-detected on a window around it at full resolution.

        Returns:
            list of (478, 3) float64 image-space landmarks (one face at most
            from the tiled search).
        """
        faces = self.detect_all(rgb)
        if faces:
            return faces
        height, width = rgb.shape[:2]
        for fraction in TILE_FRACTIONS:
            side = int(min(height, width) * fraction)
            if side < MIN_TILE_SIDE:
                break
            stride = side // 2
            ys = sorted(set(list(range(0, height - side + 1, stride)) + [height - side]))
            xs = sorted(set(list(range(0, width - side + 1, stride)) + [width - side]))
            for y in ys:
                for x in xs:
                    found = self.detect_all(rgb[y : y + side, x : x + side])
                    if found:
                        points = found[0] + np.array([x, y, 0.0])
                        return [self._refine(rgb, points)]
        return []

    def _refine(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Re-detect a face on a window of twice its size around it (sharper input)."""
        height, width = rgb.shape[:2]
        low, high = points[:468, :2].min(axis=0), points[:468, :2].max(axis=0)
        centre, half = (low + high) / 2.0, float((high - low).max())
        x0, y0 = np.maximum(np.floor(centre - half).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(centre + half).astype(int), (width, height))
        found = self.detect_all(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        return found[0] + np.array([x0, y0, 0.0]) if found else points

    def detect_upright(self, photo: Photo) -> tuple[Photo, FaceLandmarks]:
        """The largest face, with the photo turned by quarter turns so it is upright.

        A face found sideways or upside down (or found only after turning the
        photo) is animated upright: the photo is turned, with a note. Upright is
        what every later stage expects (the mouth interior, blinks, the
        restorers' alignment), and a sideways photo is nearly always a camera
        photo whose orientation tag was lost.

        Returns:
            (photo, possibly turned with a note added; its landmarks).
        Raises:
            NoFaceError, FaceTooSmallError, InputError (a hand over the mouth).
        """
        faces = self.find(photo.rgb)
        turns = upright_turns(faces[0]) if faces else 0
        if not faces:
            for turns in (2, 1, 3):
                if self.detect_all(np.ascontiguousarray(np.rot90(photo.rgb, turns))):
                    break
            else:
                turns = 0
        if turns:
            degrees = {1: "90 degrees counter-clockwise", 2: "180 degrees", 3: "90 degrees clockwise"}[turns]
            turned = Photo(np.ascontiguousarray(np.rot90(photo.rgb, turns)), photo.source,
                           photo.notes + (f"the face was not upright: the photo was turned {degrees}",))
            try:
                return turned, self.detect(turned)
            except NoFaceError:
                pass  # the turned photo loses the face: keep the photo as it is
        return photo, self.detect(photo)

    def detect(self, photo: Photo) -> FaceLandmarks:
        """The largest face of a photo (tiled search for small faces).

        Raises:
            NoFaceError: no face found.
            FaceTooSmallError: the face is under 64 px across.
            InputError: a hand covers the mouth (other covers: ``lips_hidden``).
        """
        faces = self.find(photo.rgb)
        if not faces:
            raise NoFaceError(
                "No face found in the photo: use a clear, front-facing portrait with the whole face visible"
            )
        points = faces[0]
        across = float(np.ptp(points[:468, 0]))
        if across < MIN_FACE_PIXELS:
            raise FaceTooSmallError(
                f"The face is only {across:.0f} px across; use a photo where it is at least {MIN_FACE_PIXELS} px"
            )
        if hand_over_mouth(self.find_hands(photo.rgb, points), points, photo.rgb.shape[:2]):
            raise InputError("A hand covers the mouth: use a photo where the lips are visible")
        # A cover that is not a hand may be the face's own (a moustache over
        # the lips is common in portraits and paintings): animated, with the
        # cover moving with the jaw and no teeth painted on it.
        return FaceLandmarks(points=points, image_size=photo.size, num_faces=len(faces),
                             lips_hidden=mouth_covered(photo.rgb, points))
