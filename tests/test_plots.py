"""convbook.plots: the figures show what they claim (highlighted cells, numbers, titles)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from convbook.plots import show_images, sliding_window_figure


def _shaded_texts(ax):
    """Texts of the cells whose rectangle is shaded (not white)."""
    shaded = []
    for patch, text in zip(ax.patches, ax.texts):
        if patch.get_facecolor()[:3] != (1.0, 1.0, 1.0):
            shaded.append(text.get_text())
    return shaded


def test_sliding_window_highlights_the_window_kernel_and_output():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.arange(4.0).reshape(2, 2)
    Y = torch.tensor([[19.0, 25.0], [37.0, 43.0]])  # D2L's figure
    fig = sliding_window_figure(X, K, Y, 1, 0)
    axes = fig.axes
    assert _shaded_texts(axes[0]) == ["3", "4", "6", "7"]
    assert _shaded_texts(axes[2]) == ["0", "1", "2", "3"]
    assert _shaded_texts(axes[4]) == ["37"]
    assert fig._suptitle.get_text() == "Y[1, 0] = 3×0 + 4×1 + 6×2 + 7×3 = 37"
    plt.close(fig)


def test_show_images_grid():
    images = [torch.rand(4, 5), torch.rand(3, 4, 5), torch.rand(4, 5) - 0.5]
    fig = show_images(images, ["a", "b", "c"], ncols=2, normalize=[False, False, True])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a", "b", "c", ""]
    assert fig.axes[0].images[0].get_clim() == (0, 1)
    lo, hi = fig.axes[2].images[0].get_clim()
    assert (lo, hi) == (float(images[2].min()), float(images[2].max()))
    plt.close(fig)
