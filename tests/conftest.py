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


@pytest.fixture(scope="session")
def pipeline():
    """One pipeline (512 px) shared by the modules that render the astronaut."""
    from talking_head.config import GenerationConfig
    from talking_head.pipeline import TalkingHeadPipeline

    pipe = TalkingHeadPipeline(GenerationConfig(size=512))
    yield pipe
    pipe.close()


@pytest.fixture(scope="session")
def asset(pipeline, astronaut):
    """The astronaut's analysed face (landmarks, reconstruction, texture)."""
    from talking_head.media import load_image

    return pipeline.analyse(load_image(astronaut))
