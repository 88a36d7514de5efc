"""convbook.plots: the figures show what they claim (highlighted cells, numbers, titles)."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convbook.plots import (
    group_diagram,
    im2col_figure,
    multi_channel_figure,
    one_by_one_figure,
    padding_rows_figure,
    pooling_figure,
    rate_distortion_figure,
    show_images,
    shuffle_diagram,
    sliding_window_figure,
)


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


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _grid_values(ax):
    """The numbers written in the cells of a grid drawn by draw_grid, as floats."""
    return [float(t) for t in _texts(ax)]


def test_multi_channel_figure_matches_torch():
    X = torch.tensor([[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
    K = torch.tensor([[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]])
    fig = multi_channel_figure(X, K, 1, 0)
    assert len(fig.axes) == 2 * 4 + 2  # per channel: input, ⋆, kernel, partial sum; =, output
    Y = F.conv2d(X[None], K[None])[0, 0]
    assert _grid_values(fig.axes[-1]) == Y.flatten().tolist()  # [56, 72, 104, 120], D2L's
    assert _shaded_texts(fig.axes[-1]) == ["104"]
    for ch in range(2):
        part = F.conv2d(X[None, ch : ch + 1], K[None, ch : ch + 1])[0, 0, 1, 0]
        assert _texts(fig.axes[4 * ch + 3])[0].endswith(f"{float(part):g}")
        window = X[ch, 1:3, 0:2].flatten().tolist()
        assert _shaded_texts(fig.axes[4 * ch]) == [f"{v:g}" for v in window]
    assert fig._suptitle.get_text() == "Y[1, 0] = 37 + 67 = 104"
    plt.close(fig)
    with pytest.raises(ValueError, match="same c_i"):
        multi_channel_figure(X, K[:1])


def test_one_by_one_figure_matches_torch():
    torch.manual_seed(0)
    X = torch.randint(0, 9, (3, 3, 4)).float()
    K = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]).reshape(2, 3, 1, 1)
    fig = one_by_one_figure(X, K, 1, 2)
    assert len(fig.axes) == 3 + 2 + 3  # W, ·, 3 inputs, =, 2 outputs
    Y = F.conv2d(X[None], K)[0]
    outputs = fig.axes[-2:]
    for o, ax in enumerate(outputs):
        assert _grid_values(ax) == [round(v, 1) for v in Y[o].flatten().tolist()]
        assert _shaded_texts(ax) == [f"{float(Y[o, 1, 2]):.1f}"]
    for ch, ax in enumerate(fig.axes[2:5]):
        assert _shaded_texts(ax) == [f"{float(X[ch, 1, 2]):.1f}"]
    assert _grid_values(fig.axes[0]) == K.flatten().tolist()
    plt.close(fig)
    with pytest.raises(ValueError, match="c_o, c_i, 1, 1"):
        one_by_one_figure(X, torch.ones(2, 3, 3, 3))


def test_im2col_figure_rows_are_torch_unfold_windows():
    X = torch.arange(12.0).reshape(3, 4)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    fig = im2col_figure(X, K, row=4)  # output (1, 1): 3 windows per row
    matrix, out = fig.axes[1], fig.axes[5]
    assert len(fig.axes) == 6
    assert _grid_values(matrix) == F.unfold(X[None, None], (2, 2))[0].T.flatten().tolist()
    assert _grid_values(out) == F.conv2d(X[None, None], K[None, None]).flatten().tolist()
    assert _shaded_texts(fig.axes[0]) == ["5", "6", "9", "10"]
    assert _shaded_texts(matrix) == ["5", "6", "9", "10"]
    assert _shaded_texts(out) == ["54"]  # 5 * 0 + 6 * 1 + 9 * 2 + 10 * 3
    plt.close(fig)


def test_pooling_figure_shows_torch_pooling():
    image = torch.rand(16, 24)
    fig = pooling_figure(image, windows=(2, 4))
    axes = fig.axes
    assert len(axes) == 2 * 3
    assert axes[0].get_title() == "input 16×24"
    assert axes[1].get_title() == "max 2×2 → 8×12" and axes[5].get_title() == "average 4×4 → 4×6"
    for col, k in ((1, 2), (2, 4)):
        shown_max = torch.from_numpy(axes[col].images[0].get_array().data)
        shown_avg = torch.from_numpy(axes[3 + col].images[0].get_array().data)
        torch.testing.assert_close(shown_max, F.max_pool2d(image[None, None], k)[0, 0])
        torch.testing.assert_close(shown_avg, F.avg_pool2d(image[None, None], k)[0, 0])
        assert axes[col].images[0].get_interpolation() == "nearest"
    assert not axes[3].images  # bottom-left stays empty
    plt.close(fig)


def _line_ends(ax, x_from, x_to):
    """(from y, to y) of every straight line drawn between columns x_from and x_to."""
    ends = []
    for line in ax.lines:
        xs, ys = line.get_xdata(), line.get_ydata()
        if abs(xs[0] - x_from) < 0.2 and abs(xs[1] - x_to) < 0.2:
            ends.append((round(ys[0]), round(ys[1])))
    return ends


def _depends(model, channels):
    """For each output channel, the set of input channels its gradient reaches (torch)."""
    found = []
    for o in range(channels):
        x = torch.rand(1, channels, 3, 3, requires_grad=True)
        (grad,) = torch.autograd.grad(model(x)[0, o].sum(), x)
        found.append({c for c in range(channels) if grad[0, c].abs().sum() > 0})
    return found


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_group_diagram_draws_the_connections_torch_has(groups):
    fig = group_diagram(8, 8, groups)
    ax = fig.axes[0]
    n = 8
    drawn = [set() for _ in range(n)]
    for y_in, y_out in _line_ends(ax, 0.12, 0.88):
        drawn[n - 1 - y_out].add(n - 1 - y_in)
    torch.manual_seed(0)
    layer = nn.Conv2d(8, 8, 1, groups=groups, bias=False)
    with torch.no_grad():
        layer.weight.abs_().add_(0.1)  # no weight is zero, so no connection hides
    assert drawn == _depends(layer, 8)
    assert len(ax.lines) == 8 * 8 // groups
    assert ax.get_title() == f"groups={groups}"
    plt.close(fig)
    with pytest.raises(ValueError, match="divisible by groups"):
        group_diagram(8, 6, 4)


@pytest.mark.parametrize("shuffle", [False, True])
def test_shuffle_diagram_reaches_what_torch_reaches(shuffle):
    channels, groups = 6, 2
    fig = shuffle_diagram(channels, groups, shuffle)
    ax = fig.axes[0]
    xs = [0.0, 1.2, 2.4, 3.6] if shuffle else [0.0, 1.2, 2.4]
    # follow the lines column by column: reach[c] = inputs that reach channel c
    reach = [{c} for c in range(channels)]
    for a, b in itertools.pairwise(xs):
        new = [set() for _ in range(channels)]
        for y_from, y_to in _line_ends(ax, a + 0.12, b - 0.12):
            new[channels - 1 - y_to] |= reach[channels - 1 - y_from]
        reach = new
    torch.manual_seed(0)
    first = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
    second = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
    with torch.no_grad():
        first.weight.abs_().add_(0.1)
        second.weight.abs_().add_(0.1)
    middle = [first, nn.ChannelShuffle(groups)] if shuffle else [first]
    assert reach == _depends(nn.Sequential(*middle, second), channels)
    assert all(len(r) == (channels if shuffle else channels // groups) for r in reach)
    shuffled = [t.get_text() for t in ax.texts if abs(t.get_position()[0] - 2.4) < 1e-9]
    if shuffle:  # the shuffled column lists the channels in nn.ChannelShuffle's order
        order = nn.ChannelShuffle(groups)(torch.arange(6.0).view(1, 6, 1, 1)).flatten()
        assert shuffled[:-1] == [str(int(v)) for v in order]
    plt.close(fig)


def test_rate_distortion_figure():
    curves = {"JPEG": ([0.4, 0.1, 0.2], [33.0, 27.0, 30.0]), "ours": ([0.3], [29.0])}
    fig = rate_distortion_figure(curves)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["JPEG", "ours"]
    assert list(ax.lines[0].get_xdata()) == [0.1, 0.2, 0.4]  # sorted by rate, pairs kept
    assert list(ax.lines[0].get_ydata()) == [27.0, 30.0, 33.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["JPEG", "ours"]
    assert ax.get_xlabel() == "bits per pixel" and ax.get_ylabel() == "PSNR (dB)"
    plt.close(fig)
    with pytest.raises(ValueError, match="same number"):
        rate_distortion_figure({"bad": ([0.1, 0.2], [30.0])})


def test_padding_rows_figure_draws_cells_and_windows():
    fig = padding_rows_figure(10, 5, 2, {"TensorFlow 'same'": (1, 2), "PyTorch padding=2": (2, 2)})
    tf_ax, torch_ax = fig.axes
    assert len(tf_ax.patches) == 13 and len(torch_ax.patches) == 14
    grey = [p for p in tf_ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    # rows aligned on input cell 0 (x = 2): one padding cell before it, two after the input
    assert [p.get_x() for p in grey] == [1, 12, 13]
    # windows: as many as torch's convolution gives on the padded row, 2 cells apart,
    # starting at the first padding cell
    for ax, pads in ((tf_ax, (1, 2)), (torch_ax, (2, 2))):
        expected = F.conv1d(F.pad(torch.ones(1, 1, 10), pads), torch.ones(1, 1, 5), stride=2)
        starts = [line.get_xdata()[0] - 0.1 for line in ax.lines]
        assert len(starts) == expected.shape[-1] == 5
        assert starts == pytest.approx([2 - pads[0] + 2 * w for w in range(5)])
    assert tf_ax.get_title() == "TensorFlow 'same': padding (1, 2), 5 windows"
    assert [t.get_text() for t in tf_ax.texts] == [str(i) for i in range(10)]
    assert [t.get_position()[0] for t in tf_ax.texts][:2] == [2.5, 3.5]
    assert [t.get_position()[0] for t in torch_ax.texts][:2] == [2.5, 3.5]
    plt.close(fig)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        padding_rows_figure(4, 3, 1, {"bad": (-1, 0)})
