"""Shared fixtures: a real photo from a package and a landmark detector."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8, NASA photo (public domain) shipped in scikit-image."""
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def detector():
    from talking_head.face.landmarks import LandmarkDetector

    with LandmarkDetector() as det:
        yield det
