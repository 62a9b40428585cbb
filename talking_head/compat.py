"""Import shims for the pinned stack, applied only where the normal import fails."""

from __future__ import annotations


def import_torchvision():
    """Import torchvision beside a CPU build of torch.

    torchvision 0.28.0 from PyPI is a CUDA build; with CPU torch its import fails
    with ``operator torchvision::nms does not exist`` because its C++ ops did not
    load. Declaring the two schemas it registers fake kernels for lets the Python
    part import; its C++ ops (nms, roi_align, ...) stay unavailable, which is fine
    for the models we load.
    """
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::nms does not exist" not in str(error):
            raise
        import sys

        import torch.library

        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        # Must outlive this call: dropping the Library object unregisters the schemas.
        global _TORCHVISION_SCHEMAS
        _TORCHVISION_SCHEMAS = torch.library.Library("torchvision", "DEF")
        _TORCHVISION_SCHEMAS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_SCHEMAS.define(
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
        )
        import torchvision
    return torchvision


_TORCHVISION_SCHEMAS = None
