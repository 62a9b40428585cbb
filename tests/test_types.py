"""Records passed between stages cannot be changed by the next stage."""

import numpy as np
import pytest

from talking_head.types import CoefficientTrack, FaceTexture, Photo


def test_record_arrays_are_read_only_views():
    rgba = np.zeros((4, 4, 4), np.uint8)
    texture = FaceTexture(rgba, np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="read-only"):
        texture.rgba[0, 0, 0] = 1
    rgba[0, 0, 0] = 7  # the caller's array stays its own, writable
    assert texture.rgba[0, 0, 0] == 7
    track = CoefficientTrack(("jawOpen",), np.zeros((3, 1)), np.zeros((3, 1)), 25.0)
    with pytest.raises(ValueError, match="read-only"):
        track.final += 1
    assert Photo(np.zeros((2, 2, 3), np.uint8)).rgb.flags.writeable is False


def test_timings_are_read_only(asset):
    assert asset.timings["analysis"] > 0
    with pytest.raises(TypeError):
        asset.timings["analysis"] = 0.0
