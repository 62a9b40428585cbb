"""Face restoration: GFPGAN v1.4 or Real-ESRGAN x4plus through spandrel, on
faces aligned from our own landmarks, once on the photo or on every frame."""

from .align import FACE_SIZE, TEMPLATE_512, five_points
from .restorer import (
    RESTORE_MODES,
    RESTORERS,
    Restorer,
    choose_restorer,
    iter_restore_frames,
    load_restorer,
    restore_frames,
    restore_photo,
)
from .weights import REGISTRY, WeightsEntry, fetch, get_entry, weights_main

__all__ = [
    "FACE_SIZE",
    "REGISTRY",
    "RESTORERS",
    "RESTORE_MODES",
    "TEMPLATE_512",
    "Restorer",
    "WeightsEntry",
    "choose_restorer",
    "fetch",
    "five_points",
    "get_entry",
    "iter_restore_frames",
    "load_restorer",
    "restore_frames",
    "restore_photo",
    "weights_main",
]
