"""The intermediate results of one generation, written to a folder for inspection."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .types import CoefficientTrack, FaceAsset


def write_intermediates(folder: Path, asset: FaceAsset, track: CoefficientTrack) -> None:
    """Texture, raw and final coefficients and the head pose (.npy), their names and a plot of the main ones."""
    import cv2

    from .plot import save_coefficient_plot

    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "texture.png"), cv2.cvtColor(asset.texture.rgba, cv2.COLOR_RGBA2BGRA))
    np.save(folder / "coefficients_raw.npy", track.raw)
    np.save(folder / "coefficients_final.npy", track.final)
    if track.head_pose is not None:
        np.save(folder / "head_pose.npy", track.head_pose)  # (T, 5) yaw, pitch, roll deg; tx, ty IOD
    (folder / "coefficient_names.txt").write_text("\n".join(track.names) + "\n")
    save_coefficient_plot(track, folder / "coefficients.png")
