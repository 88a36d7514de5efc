"""Matplotlib figures for the chapters: number grids, sliding windows, image grids."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

_HIGHLIGHT = "#9ecae1"


def draw_grid(
    ax: Axes,
    values: torch.Tensor,
    *,
    highlight: tuple[int, int, int, int] | None = None,
    title: str | None = None,
    fmt: str = "{:g}",
) -> None:
    """Draw the ``(h, w)`` tensor ``values`` as a table of numbers on ``ax``.

    ``highlight = (row, col, height, width)`` shades that block of cells.
    """
    h, w = values.shape
    for i in range(h):
        for j in range(w):
            inside = highlight is not None and (
                highlight[0] <= i < highlight[0] + highlight[2]
                and highlight[1] <= j < highlight[1] + highlight[3]
            )
            ax.add_patch(
                Rectangle((j, i), 1, 1, facecolor=_HIGHLIGHT if inside else "white",
                          edgecolor="black", linewidth=1)
            )
            ax.text(j + 0.5, i + 0.5, fmt.format(float(values[i, j])),
                    ha="center", va="center", fontsize=13)
    ax.set_xlim(-0.05, w + 0.05)
    ax.set_ylim(h + 0.05, -0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=12)


def sliding_window_figure(
    X: torch.Tensor, K: torch.Tensor, Y: torch.Tensor, i: int = 0, j: int = 0
) -> Figure:
    """Input ``X``, kernel ``K`` and output ``Y`` side by side, with the window of ``X``
    that produces ``Y[i, j]`` shaded, as in D2L's cross-correlation figure.

    ``X``: ``(n_h, n_w)``; ``K``: ``(k_h, k_w)``; ``Y``: ``(n_h - k_h + 1, n_w - k_w + 1)``.
    """
    kh, kw = K.shape
    widths = [X.shape[1], 0.8, K.shape[1], 0.8, Y.shape[1]]
    fig, axes = plt.subplots(
        1, 5, figsize=(1.0 * sum(widths) + 0.5, 0.9 * X.shape[0] + 0.6),
        gridspec_kw={"width_ratios": widths},
    )
    draw_grid(axes[0], X, highlight=(i, j, kh, kw), title="input X")
    draw_grid(axes[2], K, highlight=(0, 0, kh, kw), title="kernel K")
    draw_grid(axes[4], Y, highlight=(i, j, 1, 1), title="output Y")
    for ax, symbol in ((axes[1], "⋆"), (axes[3], "=")):
        ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=26)
        ax.axis("off")
    terms = " + ".join(
        f"{float(X[i + a, j + b]):g}×{float(K[a, b]):g}" for a in range(kh) for b in range(kw)
    )
    fig.suptitle(f"Y[{i}, {j}] = {terms} = {float(Y[i, j]):g}", y=0.02, va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def show_images(
    images: Sequence[torch.Tensor],
    titles: Sequence[str],
    *,
    ncols: int = 4,
    cmap: str = "gray",
    size: float = 2.6,
    normalize: Sequence[bool] | None = None,
) -> Figure:
    """A grid of ``(H, W)`` or ``(3, H, W)`` images with titles.

    Grayscale images are shown on the fixed range [0, 1] unless ``normalize[i]`` is
    true, in which case they are stretched from their own min to max (for signed maps
    such as edge responses).
    """
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        image = images[k].detach().float()
        if image.dim() == 3:
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        elif normalize is not None and normalize[k]:
            ax.imshow(image.numpy(), cmap=cmap)
        else:
            ax.imshow(image.numpy(), cmap=cmap, vmin=0, vmax=1)
        ax.set_title(titles[k], fontsize=10)
    fig.tight_layout()
    return fig
