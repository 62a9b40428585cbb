"""Face identity descriptors: dlib's ResNet (128-d), from `face-recognition-models`.

The model (``dlib_face_recognition_resnet_model_v1.dat``, with its 5-point
shape predictor) ships in the ``face-recognition-models`` wheel, so it works
offline; ``dlib-bin`` is a prebuilt dlib. Distances under 0.6 usually mean
the same person (dlib's documented threshold); our target is under 0.4.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np


def _models_dir() -> Path:
    # The package's __init__ imports pkg_resources (gone from new setuptools),
    # so locate its files without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face-recognition-models is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@lru_cache(maxsize=1)
def _models():
    import dlib

    folder = _models_dir()
    return (
        dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat")),
    )


def face_descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """128-d descriptor of the face whose MediaPipe landmarks are given.

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks: (>=468, >=2) image-space landmarks (gives the face box).
    Returns:
        (128,) float64.
    """
    import dlib

    predictor, recognizer = _models()
    x0, y0 = np.floor(landmarks[:468, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks[:468, :2].max(axis=0)).astype(int)
    box = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
    shape = predictor(np.ascontiguousarray(image), box)
    return np.asarray(recognizer.compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float64)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
