"""convbook.volume_figure: the volume view shows the shapes and the window it claims."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from convbook.volume_figure import MAX_KERNELS_DRAWN, layer_volume_figure


def _faces(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts) + " " + ax.get_title()


def test_labels_give_the_shapes_of_a_real_layer():
    fig = layer_volume_figure(3, (6, 7), 4, 3, (1, 2))
    ax = fig.axes[0]
    out = nn.Conv2d(3, 4, 3)(torch.zeros(1, 3, 6, 7))  # the output shape, from torch
    assert tuple(out.shape[1:]) == (4, 4, 5)
    text = _texts(ax)
    assert "= 3 × 6 × 7" in text and "4 kernels" in text and "= 3 × 3 × 3" in text
    assert "= 4 × 4 × 5" in text and "output (1, 2)" in text
    plt.close(fig)


def test_the_window_covers_the_rows_and_columns_the_output_reads():
    i, j, k = 2, 1, 3
    fig = layer_volume_figure(2, 8, 3, k, (i, j))
    ax = fig.axes[0]
    front = _faces(ax, "window")[-1]  # top, right, front: the front face is true to size
    corners = {tuple(round(float(v), 6) for v in xy) for xy in front.get_xy()}
    assert corners == {(j, -i), (j + k, -i), (j + k, -(i + k)), (j, -(i + k))}
    input_front = _faces(ax, "input")[-1]
    xs, ys = zip(*input_front.get_xy())
    assert (min(xs), max(xs), min(ys), max(ys)) == (0, 8, -8, 0)
    plt.close(fig)


def test_one_box_per_kernel_and_one_output_value_per_kernel():
    fig = layer_volume_figure(3, 6, 4, 3, (0, 0))
    ax = fig.axes[0]
    for o in range(4):
        assert len(_faces(ax, f"kernel {o}")) == 3 and len(_faces(ax, f"output {o}")) == 3
        kernel_colour = _faces(ax, f"kernel {o}")[-1].get_facecolor()
        assert _faces(ax, f"output {o}")[-1].get_facecolor() == kernel_colour
    assert not _faces(ax, "kernel 4")
    plt.close(fig)


def test_many_kernels_are_summarised():
    fig = layer_volume_figure(16, 10, 32, 5, (0, 3))
    ax = fig.axes[0]
    assert len({p.get_gid() for p in ax.patches if p.get_gid().startswith("kernel")}) == \
        MAX_KERNELS_DRAWN
    assert len([p for p in ax.patches if p.get_gid().startswith("output ")]) == 32 * 3
    assert f"... {32 - MAX_KERNELS_DRAWN} more" in _texts(ax)
    plt.close(fig)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(c_in=0), ValueError, "c_in must be >= 1, got 0"),
    (dict(c_out=65), ValueError, "c_out must be <= 64, got 65"),
    (dict(c_in=True), TypeError, "c_in must be an int, got True"),
    (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
    (dict(size=2), ValueError, r"size must be from kernel_size \(3\) to 64 in each axis"),
    (dict(size=(6, 100)), ValueError, "size must be from kernel_size"),
    (dict(size="6"), TypeError, "size must be an int or a tuple of 2 ints"),
    (dict(position=(4, 0)), ValueError, r"position must be inside the 4 x 4 output, got \(4, 0\)"),
    (dict(position=(-1, 0)), ValueError, "position must be >= 0"),
    (dict(position=1.5), TypeError, "position must be an int or a tuple of 2 ints"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        layer_volume_figure(**kwargs)
