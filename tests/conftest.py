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


@pytest.fixture(scope="session")
def gradio_cache(tmp_path_factory):
    """A Gradio upload cache of this test session's own.

    /tmp/gradio is shared by every Gradio process on the machine, and files
    with the same bytes share a path there: another server's cleanup could
    delete this session's uploads mid-request.
    """
    import os

    folder = tmp_path_factory.mktemp("gradio-cache")
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = previous
