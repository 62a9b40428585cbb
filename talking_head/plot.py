"""Plots of the pipeline's intermediate results (matplotlib, headless)."""

from __future__ import annotations

import numpy as np

from .types import CoefficientTrack

MAIN_COEFFICIENTS = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthSmile_L", "mouthClose")


def plot_coefficients(track: CoefficientTrack, names: tuple[str, ...] = MAIN_COEFFICIENTS):
    """Matplotlib figure of the main coefficients over time, raw and final, and
    beside them the head pose (yaw, pitch, roll) when the head moves.

    The caller closes it (``matplotlib.pyplot.close(figure)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time_axis = np.arange(track.frames) / track.fps
    shown = [n for n in names if n in track.names]
    moving = track.head_pose is not None
    figure = plt.figure(figsize=(13 if moving else 9, 1.6 * len(shown)))
    grid = figure.add_gridspec(len(shown), 3 if moving else 1)
    axes = [figure.add_subplot(grid[row, :2] if moving else grid[row, 0]) for row in range(len(shown))]
    for axis, name in zip(axes, shown):
        column = track.names.index(name)
        axis.plot(time_axis, track.raw[:, column], color="0.6", lw=1, label="raw")
        axis.plot(time_axis, track.final[:, column], color="C0", lw=1.5, label="final")
        axis.set_ylabel(name, fontsize=8)
        axis.set_ylim(-0.05, 1.05)
        if axis is not axes[-1]:
            axis.tick_params(labelbottom=False)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds")
    if moving:
        pose = figure.add_subplot(grid[:, 2])
        for column, name in enumerate(("yaw", "pitch", "roll")):
            pose.plot(time_axis, track.head_pose[:, column], lw=1.3, label=name)
        pose.set_title("head pose (degrees from the photo's)", fontsize=9)
        pose.legend(loc="upper right", fontsize=8)
        pose.set_xlabel("seconds")
    figure.tight_layout()
    return figure


def save_coefficient_plot(track: CoefficientTrack, path) -> None:
    """Write the coefficient plot as a PNG and free the figure."""
    import matplotlib.pyplot as plt

    figure = plot_coefficients(track)
    try:
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
