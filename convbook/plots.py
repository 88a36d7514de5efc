"""Matplotlib figures for the chapters: number grids, sliding windows, image grids."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convbook.fonts import drawn_text, use_reader_font
from convbook.ops import avg_pool2d, max_pool2d

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
    draw_grid(axes[0], X, highlight=(i, j, kh, kw),
              title=drawn_text("figures.sliding_window.input"))
    draw_grid(axes[2], K, highlight=(0, 0, kh, kw),
              title=drawn_text("figures.sliding_window.kernel"))
    draw_grid(axes[4], Y, highlight=(i, j, 1, 1),
              title=drawn_text("figures.sliding_window.output"))
    for ax, symbol in ((axes[1], "⋆"), (axes[3], "=")):
        ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=26)
        ax.axis("off")
    terms = " + ".join(
        f"{float(X[i + a, j + b]):g}×{float(K[a, b]):g}" for a in range(kh) for b in range(kw)
    )
    fig.suptitle(f"Y[{i}, {j}] = {terms} = {float(Y[i, j]):g}", y=0.02, va="bottom")
    use_reader_font(fig)
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
    use_reader_font(fig)
    fig.tight_layout()
    return fig


def _operator(ax: Axes, symbol: str, fontsize: int = 22) -> None:
    """An axis that shows only ``symbol`` (⋆, +, =, ×) in its centre."""
    ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=fontsize)
    ax.axis("off")


def multi_channel_figure(X: torch.Tensor, K: torch.Tensor, i: int = 0, j: int = 0) -> Figure:
    """Cross-correlation with several input channels, as in D2L's figure: one row per
    channel (its input, ``⋆``, its kernel slice, and the slice's partial sum), and the
    output, the sum of the rows, on the right.  The window producing ``Y[i, j]`` is shaded.

    ``X``: ``(c_i, n_h, n_w)``; ``K``: ``(c_i, k_h, k_w)``.  Axes, in order: for each channel
    input, ``⋆``, kernel, partial sum; then ``=`` and the output.
    """
    if X.dim() != 3 or K.dim() != 3 or X.shape[0] != K.shape[0]:
        raise ValueError(
            f"X must be (c_i, n_h, n_w) and K (c_i, k_h, k_w) with the same c_i, got "
            f"{tuple(X.shape)} and {tuple(K.shape)}"
        )
    c, (kh, kw) = X.shape[0], K.shape[1:]
    windows = X[:, i : i + kh, j : j + kw]
    if windows.shape[1:] != K.shape[1:]:
        raise ValueError(f"the window at ({i}, {j}) does not fit in X of shape {tuple(X.shape)}")
    parts = (windows * K).sum(dim=(1, 2))  # one partial sum per channel
    Y = sum(
        (X[ch].unfold(0, kh, 1).unfold(1, kw, 1) * K[ch]).sum(dim=(-2, -1)) for ch in range(c)
    )
    widths = [X.shape[2], 0.6, kw, 1.6, 0.6, Y.shape[1]]
    fig = plt.figure(figsize=(0.9 * sum(widths) + 0.5, 0.95 * c * X.shape[1] + 0.8))
    grid = fig.add_gridspec(c, 6, width_ratios=widths)
    for ch in range(c):
        draw_grid(fig.add_subplot(grid[ch, 0]), X[ch], highlight=(i, j, kh, kw),
                  title=drawn_text("figures.multi_channel.input", channel=ch))
        _operator(fig.add_subplot(grid[ch, 1]), "⋆")
        draw_grid(fig.add_subplot(grid[ch, 2]), K[ch], highlight=(0, 0, kh, kw),
                  title=drawn_text("figures.multi_channel.kernel", channel=ch))
        ax = fig.add_subplot(grid[ch, 3])
        sign = "" if ch == 0 else "+ "
        _operator(ax, f"→ {sign}{float(parts[ch]):g}", fontsize=14)
    _operator(fig.add_subplot(grid[:, 4]), "=")
    draw_grid(fig.add_subplot(grid[:, 5]), Y, highlight=(i, j, 1, 1),
              title=drawn_text("figures.multi_channel.output"))
    terms = " + ".join(f"{float(p):g}" for p in parts)
    fig.suptitle(f"Y[{i}, {j}] = {terms} = {float(Y[i, j]):g}", y=0.02, va="bottom")
    use_reader_font(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def one_by_one_figure(X: torch.Tensor, K: torch.Tensor, i: int = 0, j: int = 0) -> Figure:
    """A 1x1 convolution as a matrix product at one pixel: the ``c_o x c_i`` weight matrix
    ``W`` times the ``c_i`` input channels, whose pixel ``(i, j)`` is shaded, gives the
    ``c_o`` output channels, whose pixel ``(i, j)`` is ``W`` times the shaded values.

    ``X``: ``(c_i, h, w)``; ``K``: ``(c_o, c_i, 1, 1)``.  Axes, in order: ``W``, ``·``, the
    ``c_i`` input channels, ``=``, the ``c_o`` output channels (``c_i + c_o + 3`` in all).
    """
    if X.dim() != 3 or K.dim() != 4 or K.shape[1] != X.shape[0] or K.shape[2:] != (1, 1):
        raise ValueError(
            f"X must be (c_i, h, w) and K (c_o, c_i, 1, 1), got {tuple(X.shape)} and "
            f"{tuple(K.shape)}"
        )
    c_i, c_o = X.shape[0], K.shape[0]
    h, w = X.shape[1:]
    W = K[:, :, 0, 0]  # (c_o, c_i)
    Y = torch.einsum("oc,chw->ohw", W, X)
    rows = max(c_i, c_o) * h
    fig = plt.figure(figsize=(0.9 * (c_i + 2 * w + 2) + 1, 0.75 * rows + 1.2))
    grid = fig.add_gridspec(rows, 5, width_ratios=[c_i, 0.7, w, 0.7, w])
    draw_grid(fig.add_subplot(grid[:, 0]), W, title=drawn_text("figures.one_by_one.weights"),
              fmt="{:.1f}")
    _operator(fig.add_subplot(grid[:, 1]), "·")
    for ch in range(c_i):
        draw_grid(fig.add_subplot(grid[ch * h : (ch + 1) * h, 2]), X[ch],
                  highlight=(i, j, 1, 1), title=drawn_text("figures.one_by_one.input", channel=ch),
                  fmt="{:.1f}")
    _operator(fig.add_subplot(grid[:, 3]), "=")
    for o in range(c_o):
        draw_grid(fig.add_subplot(grid[o * h : (o + 1) * h, 4]), Y[o],
                  highlight=(i, j, 1, 1), title=drawn_text("figures.one_by_one.output", channel=o),
                  fmt="{:.1f}")
    vector = ", ".join(f"{float(v):.1f}" for v in X[:, i, j])
    result = ", ".join(f"{float(v):.1f}" for v in Y[:, i, j])
    fig.suptitle(f"Y[:, {i}, {j}] = W · ({vector}) = ({result})", y=0.02, va="bottom")
    use_reader_font(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def im2col_figure(X: torch.Tensor, K: torch.Tensor, row: int = 0) -> Figure:
    """Cross-correlation as one matrix product: the input ``X`` with window ``row`` shaded,
    the matrix of all windows (one per row, in row-major order of the output positions)
    with that row shaded, times the flattened kernel, equals the flattened output.

    ``X``: ``(n_h, n_w)``; ``K``: ``(k_h, k_w)``.  Axes: input, matrix, ``×``, kernel
    column, ``=``, output column.
    """
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(f"X and K must be 2D, got {tuple(X.shape)} and {tuple(K.shape)}")
    kh, kw = K.shape
    windows = X.unfold(0, kh, 1).unfold(1, kw, 1)  # (h_out, w_out, k_h, k_w)
    h_out, w_out = windows.shape[:2]
    matrix = windows.reshape(h_out * w_out, kh * kw)
    column = K.reshape(-1, 1)
    out = matrix @ column
    i, j = divmod(row, w_out)
    widths = [X.shape[1], kh * kw, 0.6, 1, 0.6, 1]
    fig, axes = plt.subplots(
        1, 6, figsize=(0.9 * sum(widths) + 0.8, 0.8 * max(X.shape[0], matrix.shape[0]) + 0.8),
        gridspec_kw={"width_ratios": widths},
    )
    draw_grid(axes[0], X, highlight=(i, j, kh, kw), title=drawn_text("figures.im2col.input"))
    draw_grid(axes[1], matrix, highlight=(row, 0, 1, kh * kw),
              title=drawn_text("figures.im2col.windows"))
    _operator(axes[2], "×")
    draw_grid(axes[3], column, title="K")
    _operator(axes[4], "=")
    draw_grid(axes[5], out, highlight=(row, 0, 1, 1), title="Y")
    fig.suptitle(drawn_text("figures.im2col.caption", row=row, i=i, j=j), y=0.02, va="bottom")
    use_reader_font(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def pooling_figure(image: torch.Tensor, windows: Sequence[int] = (2, 4, 8)) -> Figure:
    """A grayscale photo ``(H, W)`` and its max and average pooling (stride = window) for
    each window size: a 2 x (1 + len(windows)) grid, max pooling on the top row, average
    pooling on the bottom one; the photo sits top-left, and bottom-left stays empty.

    Pooled images are drawn with nearest-neighbour interpolation, so each output pixel is
    one visible block.
    """
    if image.dim() != 2:
        raise ValueError(f"image must be a grayscale (H, W) tensor, got {tuple(image.shape)}")
    n = len(windows)
    fig, axes = plt.subplots(2, n + 1, figsize=(2.6 * (n + 1), 5.6), squeeze=False)
    axes[0, 0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0, 0].set_title(drawn_text("figures.pooling.input", height=image.shape[0],
                                    width=image.shape[1]), fontsize=10)
    x = image[None, None]
    for col, k in enumerate(windows, start=1):
        for row, pool in enumerate((max_pool2d, avg_pool2d)):
            pooled = pool(x, k)[0, 0]
            axes[row, col].imshow(pooled.numpy(), cmap="gray", vmin=0, vmax=1,
                                  interpolation="nearest")
            title = (drawn_text("figures.pooling.max", k=k, height=pooled.shape[0],
                                width=pooled.shape[1]) if pool is max_pool2d else
                     drawn_text("figures.pooling.average", k=k, height=pooled.shape[0],
                                width=pooled.shape[1]))
            axes[row, col].set_title(title, fontsize=10)
    for ax in axes.flat:
        ax.axis("off")
    use_reader_font(fig)
    fig.tight_layout()
    return fig


_GROUP_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860",
                  "#da8bc3", "#8c8c8c")


def _channel_column(
    ax: Axes, x: float, n: int, groups: int, label: str, origin: Sequence[int] | None = None
) -> list[float]:
    """Draw ``n`` channel boxes at ``x``, numbered and coloured by the group of the channel
    they hold (``origin[c]``, default ``c``); return their centres' y."""
    ys = [n - 1 - c for c in range(n)]
    size = n // groups
    origin = list(range(n)) if origin is None else origin
    for c, y in enumerate(ys):
        colour = _GROUP_COLOURS[(origin[c] // size) % len(_GROUP_COLOURS)]
        ax.add_patch(Rectangle((x - 0.12, y - 0.35), 0.24, 0.7, facecolor=colour,
                               edgecolor="black", linewidth=0.8))
        ax.text(x, y, str(origin[c]), ha="center", va="center", fontsize=8, color="white")
    ax.text(x, n - 0.2, label, ha="center", va="bottom", fontsize=8)
    return ys


def group_diagram(
    in_channels: int, out_channels: int, groups: int = 1, *, ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Which input channels each output channel of a (grouped) convolution reads: inputs on
    the left, outputs on the right, one line per connection, boxes coloured by group.

    A standard convolution (``groups=1``) connects every pair; ``groups=g`` keeps
    ``out_channels * in_channels / g`` lines; ``groups=in_channels`` is depthwise.
    """
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
            f"by groups ({groups})"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(2.8, 0.35 * max(in_channels, out_channels) + 1))
    n = max(in_channels, out_channels)
    left = _channel_column(ax, 0, in_channels, groups, drawn_text("figures.channels.input"))
    right = _channel_column(ax, 1, out_channels, groups, drawn_text("figures.channels.output"))
    cin, cout = in_channels // groups, out_channels // groups
    for o in range(out_channels):
        g = o // cout
        for c in range(g * cin, (g + 1) * cin):
            ax.plot([0.12, 0.88], [left[c], right[o]], color="0.3", linewidth=0.7)
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylim(-0.8, n + 0.6)
    ax.axis("off")
    ax.set_title(title or drawn_text("figures.channels.groups", groups=groups), fontsize=10)
    return use_reader_font(ax.figure)


def shuffle_diagram(
    channels: int, groups: int, shuffle: bool = True, *, ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Two grouped 1x1 layers (``groups`` groups each), with or without a channel shuffle
    between them: columns input, first layer, (shuffled,) second layer; lines show which
    channel feeds which.  With the shuffle, each group of the second layer receives one
    channel from every group of the first.
    """
    if groups < 1 or channels % groups:
        raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 0.35 * channels + 1))
    size = channels // groups
    # channel_shuffle: position p of its output holds channel (p % g) * size + p // g
    source = [(p % groups) * size + p // groups for p in range(channels)]
    xs = [0.0, 1.2, 2.4, 3.6] if shuffle else [0.0, 1.2, 2.4]
    labels = [drawn_text("figures.channels.input"), drawn_text("figures.channels.layer_1"),
              drawn_text("figures.channels.shuffled"), drawn_text("figures.channels.layer_2")]
    if not shuffle:
        del labels[2]
    origins = [None, None, source, None] if shuffle else [None, None, None]
    columns = [_channel_column(ax, x, channels, groups, label, origin)
               for x, label, origin in zip(xs, labels, origins)]

    def grouped(a: int, b: int) -> None:
        for o in range(channels):
            g = o // size
            for c in range(g * size, (g + 1) * size):
                ax.plot([xs[a] + 0.12, xs[b] - 0.12], [columns[a][c], columns[b][o]],
                        color="0.3", linewidth=0.7)

    grouped(0, 1)
    if shuffle:
        for p in range(channels):
            ax.plot([xs[1] + 0.12, xs[2] - 0.12], [columns[1][source[p]], columns[2][p]],
                    color="#c44e52", linewidth=1.0, linestyle="--")
        grouped(2, 3)
    else:
        grouped(1, 2)
    ax.set_xlim(-0.4, xs[-1] + 0.4)
    ax.set_ylim(-0.8, channels + 0.6)
    ax.axis("off")
    default = (drawn_text("figures.channels.with_shuffle") if shuffle else
               drawn_text("figures.channels.without_shuffle"))
    ax.set_title(title or default, fontsize=10)
    return use_reader_font(ax.figure)


def rate_distortion_figure(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """PSNR against bits per pixel: one line with markers per method; ``title`` defaults to
    "quality against size", in the reader's language.

    ``curves`` maps a method's name to ``(bits_per_pixel, psnr_db)``, two sequences of the
    same length, one point per setting (a quantization step, a JPEG quality, ...).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, (bpp, psnr) in curves.items():
        if len(bpp) != len(psnr) or not len(bpp):
            raise ValueError(f"{name}: bits per pixel and PSNR need the same number (> 0) "
                             f"of points, got {len(bpp)} and {len(psnr)}")
        order = sorted(range(len(bpp)), key=lambda k: bpp[k])
        ax.plot([bpp[k] for k in order], [psnr[k] for k in order], marker="o", label=name)
    ax.set_xlabel(drawn_text("figures.rate_distortion.bits_per_pixel"))
    ax.set_ylabel(drawn_text("figures.rate_distortion.psnr"))
    ax.set_title(drawn_text("figures.rate_distortion.title") if title is None else title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return use_reader_font(ax.figure)


def padding_rows_figure(
    n: int, kernel_size: int, stride: int, paddings: dict[str, tuple[int, int]]
) -> Figure:
    """One row per padding scheme: an input of ``n`` cells along one axis, with
    ``(before, after)`` padding cells (grey, blank) around it, its cells numbered from 0,
    and above it a bracket for every
    window of ``kernel_size`` cells, ``stride`` apart, that fits in the padded row.

    Compares, for example, TensorFlow's ``'same'`` padding, which puts the odd extra cell
    after the input, with PyTorch's symmetric integer padding.  The rows are aligned on the
    input's first cell, so that windows of different schemes can be compared by eye.  One
    axis per scheme; its title names the scheme and the number of windows.
    """
    if n < 1 or kernel_size < 1 or stride < 1:
        raise ValueError(f"n, kernel_size and stride must be >= 1, got {n}, {kernel_size}, "
                         f"{stride}")
    most_before = max(before for before, _ in paddings.values())
    widest = most_before + n + max(after for _, after in paddings.values())
    fig, axes = plt.subplots(len(paddings), 1, figsize=(0.55 * widest + 1, 1.6 * len(paddings)),
                             squeeze=False)
    for ax, (label, (before, after)) in zip(axes[:, 0], paddings.items()):
        if before < 0 or after < 0:
            raise ValueError(f"{label}: padding must be >= 0, got ({before}, {after})")
        total, shift = before + n + after, most_before - before  # x of padded cell 0
        for cell in range(total):
            inside = before <= cell < before + n
            ax.add_patch(Rectangle((shift + cell, 0), 1, 1,
                                   facecolor="white" if inside else "#d9d9d9",
                                   edgecolor="black", linewidth=0.8))
            if inside:  # the input cells carry their index; padding cells stay blank
                ax.text(shift + cell + 0.5, 0.5, str(cell - before), ha="center",
                        va="center", fontsize=8)
        windows = (total - kernel_size) // stride + 1 if total >= kernel_size else 0
        for w in range(windows):
            start, level = shift + w * stride, 1.25 + 0.3 * (w % 3)
            ax.plot([start + 0.1, start + kernel_size - 0.1], [level, level],
                    color=_GROUP_COLOURS[w % len(_GROUP_COLOURS)], linewidth=2.5)
        ax.set_xlim(-0.2, widest + 0.2)
        ax.set_ylim(-0.2, 2.3)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(drawn_text("figures.padding_rows.title", scheme=label, before=before,
                                after=after, windows=windows), fontsize=10)
    use_reader_font(fig)
    fig.tight_layout()
    return fig
