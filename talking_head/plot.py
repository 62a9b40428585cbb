"""Plots of the pipeline's intermediate results (matplotlib, headless)."""

from __future__ import annotations

import numpy as np

from .types import CoefficientTrack

MAIN_COEFFICIENTS = ("jawOpen", "mouthFunnel", "mouthPucker", "mouthSmile_L", "mouthClose")


def plot_coefficients(track: CoefficientTrack, names: tuple[str, ...] = MAIN_COEFFICIENTS):
    """Matplotlib figure of the main coefficients over time, raw and final.

    The caller closes it (``matplotlib.pyplot.close(figure)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time_axis = np.arange(track.frames) / track.fps
    shown = [n for n in names if n in track.names]
    figure, axes = plt.subplots(len(shown), 1, figsize=(9, 1.6 * len(shown)), sharex=True, squeeze=False)
    for axis, name in zip(axes[:, 0], shown):
        column = track.names.index(name)
        axis.plot(time_axis, track.raw[:, column], color="0.6", lw=1, label="raw")
        axis.plot(time_axis, track.final[:, column], color="C0", lw=1.5, label="final")
        axis.set_ylabel(name, fontsize=8)
        axis.set_ylim(-0.05, 1.05)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
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
