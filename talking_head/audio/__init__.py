"""Audio front end: decoding any audio file and the paper's MFCC windows."""

from .decode import AudioClip, decode_audio, is_silent, rms_db
from .features import (
    FeatureConfig,
    feature_count,
    feature_windows,
    frame_count,
    iter_feature_windows,
    mfcc,
    window_indices,
)

__all__ = [
    "AudioClip",
    "FeatureConfig",
    "decode_audio",
    "feature_count",
    "feature_windows",
    "frame_count",
    "is_silent",
    "iter_feature_windows",
    "mfcc",
    "rms_db",
    "window_indices",
]
