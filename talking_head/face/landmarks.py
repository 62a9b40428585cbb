"""MediaPipe Face Mesh (refined, 478 landmarks) on a photo."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..errors import FaceTooSmallError, NoFaceError
from ..types import FaceLandmarks, Photo

MAX_ANALYSIS_SIDE = 2048
MIN_FACE_PIXELS = 64
# Face-detector confidence a photo must reach. Real portraits score 0.92-0.96
# with MediaPipe's short-range detector (astronaut, the first frames of four
# real talking videos); a drawn smiley scores 0.62 and would otherwise be
# "animated" with a nonsense mesh.
PHOTO_CONFIDENCE = 0.7


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

    def close(self) -> None:
        self._mesh.close()

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

    def detect(self, photo: Photo) -> FaceLandmarks:
        """The largest face of a photo.

        Raises:
            NoFaceError: no face found.
            FaceTooSmallError: the face is under 64 px across.
        """
        faces = self.detect_all(photo.rgb)
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
        return FaceLandmarks(points=points, image_size=photo.size, num_faces=len(faces))
