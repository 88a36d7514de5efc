"""convbook.widgets.ConvExplorer, headless: sizes against torch layers, windows against
F.conv2d / F.conv_transpose2d with one-hot kernels, stepping, drawing, errors."""

from __future__ import annotations

import base64
import dataclasses
import io
import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from renders import count_calls

from convbook.widgets import ConvExplorer
from convbook.widgets.explorer_drawing import COLOURS, READ, TITLE_PX, Painter, legend_html
from convbook.widgets.explorer_geometry import INPUT, PADDING, ZERO


def _torch_conv_shape(n, k, s, p, d):
    """Output (H, W) of a real nn.Conv2d, or None when torch refuses."""
    # the meta device runs torch's real shape logic without allocating or computing
    layer = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False, device="meta")
    try:
        return tuple(layer(torch.zeros(1, 1, *n, device="meta")).shape[-2:])
    except RuntimeError:
        return None


def _torch_transposed_shape(n, k, s, p, d, op):
    """Output (H, W) of a real nn.ConvTranspose2d, or None when torch refuses or the output
    is empty (torch returns a 0-pixel result when the formula gives exactly 0)."""
    layer = torch.nn.ConvTranspose2d(
        1, 1, k, stride=s, padding=p, dilation=d, output_padding=op, bias=False, device="meta"
    )
    try:
        shape = tuple(layer(torch.zeros(1, 1, *n, device="meta")).shape[-2:])
    except RuntimeError:
        return None
    return shape if min(shape) > 0 else None


def _formula_results(formula: str) -> tuple[int, ...]:
    """The numbers after the final '=' of the H and W lines."""
    lines = formula.split("\n")
    assert [line[:6] for line in lines] == ["H_out ", "W_out "]
    return tuple(int(re.search(r"= (-?\d+)(: impossible)?$", line).group(1)) for line in lines)


pairs = st.tuples


@st.composite
def conv_args(draw):
    return dict(
        input_size=draw(pairs(st.integers(1, 12), st.integers(1, 12))),
        kernel_size=draw(pairs(st.integers(1, 7), st.integers(1, 7))),
        padding=draw(pairs(st.integers(0, 4), st.integers(0, 4))),
        stride=draw(pairs(st.integers(1, 4), st.integers(1, 4))),
        dilation=draw(pairs(st.integers(1, 4), st.integers(1, 4))),
    )


def _legal_output_padding(args: dict, op: tuple[int, int]) -> tuple[int, int]:
    """``op`` lowered to torch's rule: output_padding < stride or < dilation, per axis."""
    return tuple(min(o, max(s, d) - 1) for o, s, d in zip(op, args["stride"], args["dilation"]))


def _transposed_args(args: dict, op: tuple[int, int]) -> tuple:
    """``(n, k, s, p, d, op)`` pairs, in the order of :func:`_torch_transposed_shape`."""
    names = ("input_size", "kernel_size", "stride", "padding", "dilation")
    return (*(args[name] for name in names), op)


# ---------------------------------------------------------------- output size
def test_square_grid_matches_nn_conv2d():
    explorer = ConvExplorer()
    checked = impossible = 0
    # every small square case (hypothesis below covers per-axis ones up to the slider limits)
    for n, k, p, s, d in itertools.product(
        (1, 2, 3, 5), range(1, 5), range(3), range(1, 4), (1, 3)
    ):
        explorer.set(input_size=n, kernel_size=k, padding=p, stride=s, dilation=d)
        expected = _torch_conv_shape((n, n), k, s, p, d)
        assert explorer.output_size == expected, (n, k, p, s, d)
        assert (explorer.error is None) == (expected is not None)
        if expected is not None:
            assert _formula_results(explorer.formula) == expected
            checked += 1
        else:
            impossible += 1
    assert checked > 150 and impossible > 40


@settings(max_examples=100)
@given(conv_args())
def test_per_axis_matches_nn_conv2d(args):
    explorer = ConvExplorer()  # each example builds its own
    explorer.set(mode="conv", **args)
    expected = _torch_conv_shape(
        args["input_size"], args["kernel_size"], args["stride"], args["padding"], args["dilation"]
    )
    assert explorer.output_size == expected
    assert (explorer.error is None) == (expected is not None)
    if expected is not None:
        assert _formula_results(explorer.formula) == expected
        assert explorer.n_steps == expected[0] * expected[1]


@settings(max_examples=100)
@given(conv_args(), pairs(st.integers(0, 3), st.integers(0, 3)))
def test_transposed_matches_nn_convtranspose2d(args, op):
    explorer = ConvExplorer()  # each example builds its own
    op = _legal_output_padding(args, op)
    explorer.set(mode="transposed", output_padding=op, **args)
    expected = _torch_transposed_shape(*_transposed_args(args, op))
    assert explorer.output_padding == op
    assert explorer.output_size == expected
    assert (explorer.error is None) == (expected is not None)
    if expected is not None:
        assert _formula_results(explorer.formula) == expected


def test_formula_text_hand_worked():
    ex = ConvExplorer(input_size=5, kernel_size=3, padding=1, stride=2, dilation=2)
    # floor((5 + 2 - 4 - 1) / 2) + 1 = floor(2 / 2) + 1 = 2
    assert ex.formula == (
        "H_out = floor((5 + 2·1 − 2·(3 − 1) − 1) / 2) + 1 = 2\n"
        "W_out = floor((5 + 2·1 − 2·(3 − 1) − 1) / 2) + 1 = 2"
    )
    ex.set(mode="transposed", input_size=(3, 2), stride=(2, 3), output_padding=(1, 0))
    # (3 - 1)·2 - 2 + 4 + 1 + 1 = 8 and (2 - 1)·3 - 2 + 4 + 0 + 1 = 6
    assert ex.formula == (
        "H_out = (3 − 1)·2 − 2·1 + 2·(3 − 1) + 1 + 1 = 8\n"
        "W_out = (2 − 1)·3 − 2·1 + 2·(3 − 1) + 0 + 1 = 6"
    )
    assert ex.output_size == (8, 6)


# ---------------------------------------------------------------- windows
def _decode(values: torch.Tensor, cols: int) -> list[tuple[int, int]]:
    """Index-image values 1 + r * cols + c back to (r, c); 0 stays None."""
    return [None if v == 0 else divmod(int(v) - 1, cols) for v in values.flatten().tolist()]


def _conv_windows_by_torch(ex: ConvExplorer) -> list[list[tuple[int, int]]]:
    """windows[step][tap]: run F.conv2d over an index image of the padded grid, one one-hot
    kernel per tap, so torch says which padded cell each tap reads."""
    (n_h, n_w), (k_h, k_w) = ex.input_size, ex.kernel_size
    (p_h, p_w) = ex.padding
    rows, cols = n_h + 2 * p_h, n_w + 2 * p_w
    index = torch.arange(1, rows * cols + 1, dtype=torch.float64).reshape(1, 1, rows, cols)
    per_tap = []
    for a, b in itertools.product(range(k_h), range(k_w)):
        weight = torch.zeros(1, 1, k_h, k_w, dtype=torch.float64)
        weight[0, 0, a, b] = 1
        out = F.conv2d(index, weight, stride=ex.stride, dilation=ex.dilation)
        per_tap.append(_decode(out, cols))
    return [list(taps) for taps in zip(*per_tap)]


def _transposed_windows_by_torch(ex: ConvExplorer) -> list[list[object]]:
    """windows[step][tap] as the input pixel (i, j) each tap reads, or None for a zero
    (inserted or padding), by F.conv_transpose2d with one-hot (flipped) kernels."""
    (n_h, n_w), (k_h, k_w) = ex.input_size, ex.kernel_size
    index = torch.arange(1, n_h * n_w + 1, dtype=torch.float64).reshape(1, 1, n_h, n_w)
    per_tap = []
    for a, b in itertools.product(range(k_h), range(k_w)):
        weight = torch.zeros(1, 1, k_h, k_w, dtype=torch.float64)
        weight[0, 0, k_h - 1 - a, k_w - 1 - b] = 1
        out = F.conv_transpose2d(
            index,
            weight,
            stride=ex.stride,
            padding=ex.padding,
            dilation=ex.dilation,
            output_padding=ex.output_padding,
        )
        per_tap.append(_decode(out, n_w))
    return [list(taps) for taps in zip(*per_tap)]


def _input_pixel(ex: ConvExplorer, r: int, c: int):
    """In transposed mode: padded cell (r, c) -> input pixel (i, j), or None for a zero."""
    pixel = []
    for x, n, k, s, p, d in zip(
        (r, c), ex.input_size, ex.kernel_size, ex.stride, ex.padding, ex.dilation
    ):
        z = x - (d * (k - 1) - p)  # position in the zero-inserted input
        if z < 0 or z > (n - 1) * s or z % s:
            return None
        pixel.append(z // s)
    return tuple(pixel)


def _all_windows(ex: ConvExplorer) -> list[list[tuple[int, int]]]:
    """Every step's window; the first, last and a middle one also by moving the slider."""
    windows = [ex.window_at(step) for step in range(ex.n_steps)]
    for step in {0, ex.n_steps // 2, ex.n_steps - 1}:
        ex.step_slider.value = step
        assert ex.window == windows[step]
    return windows


@settings(max_examples=50)
@given(conv_args())
def test_conv_windows_match_torch(args):
    explorer = ConvExplorer()  # each example builds its own
    explorer.set(mode="conv", step=0, **args)
    if explorer.error is not None:
        assert explorer.window == []
        return
    assert explorer.padded_size == tuple(
        n + 2 * p for n, p in zip(args["input_size"], args["padding"])
    )
    windows = _all_windows(explorer)
    assert windows == _conv_windows_by_torch(explorer)
    (n_h, n_w), (p_h, p_w) = args["input_size"], args["padding"]
    expected = np.full(explorer.padded_size, PADDING)
    expected[p_h : p_h + n_h, p_w : p_w + n_w] = INPUT
    np.testing.assert_array_equal(explorer.cell_kinds(), expected)
    assert len(windows[0]) == args["kernel_size"][0] * args["kernel_size"][1]


@settings(max_examples=50)
@given(conv_args(), pairs(st.integers(0, 3), st.integers(0, 3)))
def test_transposed_windows_match_torch(args, op):
    explorer = ConvExplorer()  # each example builds its own
    op = _legal_output_padding(args, op)
    explorer.set(mode="transposed", output_padding=op, step=0, **args)
    if explorer.error is not None:
        assert explorer.window == []
        return
    windows = _all_windows(explorer)
    read = [[_input_pixel(explorer, r, c) for r, c in window] for window in windows]
    assert read == _transposed_windows_by_torch(explorer)
    rows, cols = explorer.padded_size
    assert all(0 <= r < rows and 0 <= c < cols for w in windows for r, c in w)
    # zero insertion, then d(k - 1) - p on each side, plus output_padding after
    assert explorer.padded_size == tuple(
        (n - 1) * s + 1 + 2 * (d * (k - 1) - p) + o
        for n, k, s, p, d, o in zip(*_transposed_args(args, op))
    )
    kinds = explorer.cell_kinds()
    assert kinds.shape == (rows, cols)
    is_input = [
        [_input_pixel(explorer, r, c) is not None for c in range(cols)] for r in range(rows)
    ]
    np.testing.assert_array_equal(kinds == INPUT, np.array(is_input))


def test_cell_kinds():
    ex = ConvExplorer(input_size=(2, 3), padding=(1, 2), kernel_size=1)
    kinds = ex.cell_kinds()
    expected = np.full((4, 7), PADDING)
    expected[1:3, 2:5] = INPUT
    np.testing.assert_array_equal(kinds, expected)

    # transposed, stride 2, k 2, p 0: one zero between pixels, a ring of d(k-1) - p = 1
    ex.set(mode="transposed", input_size=2, padding=0, stride=2, kernel_size=2)
    row = [PADDING, INPUT, ZERO, INPUT, PADDING]
    expected = np.array(
        [[PADDING] * 5, row, [PADDING, ZERO, ZERO, ZERO, PADDING], row, [PADDING] * 5]
    )
    np.testing.assert_array_equal(ex.cell_kinds(), expected)

    # padding beyond d(k-1) crops the zero-inserted input: 3x3 -> 1x1
    ex.set(padding=1, kernel_size=1)
    np.testing.assert_array_equal(ex.cell_kinds(), [[ZERO]])
    assert ex.output_size == (1, 1) == _torch_transposed_shape((2, 2), 1, 2, 1, 1, 0)
    assert ex.window == [(0, 0)]


def test_dilation_leaves_gaps():
    ex = ConvExplorer(input_size=7, kernel_size=3, dilation=3)
    assert ex.output_size == (1, 1)
    assert ex.window == [(r, c) for r in (0, 3, 6) for c in (0, 3, 6)]


# ---------------------------------------------------------------- stepping
def test_stepping_visits_every_position_once():
    ex = ConvExplorer(input_size=(7, 6), kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))
    h, w = _torch_conv_shape((7, 6), (3, 2), (2, 1), (1, 0), 1)
    assert ex.step_slider.max == h * w - 1 == ex.play.max
    seen = []
    for step in range(h * w):
        ex.play.value = step  # the play button drives the step slider
        assert ex.step == step
        seen.append(ex.output_position)
    assert seen == [(i, j) for i in range(h) for j in range(w)]  # row-major, each once
    assert seen == ex.positions()
    assert len(set(seen)) == h * w


def test_step_is_clamped_when_output_shrinks():
    ex = ConvExplorer(input_size=6, kernel_size=3)
    ex.step_slider.value = 15
    redraws = []
    ex.drawing_view.observe(redraws.append, names="value")
    ex.stride_slider.value = 2  # output 2x2: 4 positions
    assert ex.step_slider.max == 3 and ex.step == 3 and ex.output_position == (1, 1)
    assert len(redraws) == 1  # both axes, the step range and the step: one picture
    ex.set(kernel_size=(3, 1), padding=1, dilation=2, mode="transposed", step=2)
    assert len(redraws) == 2
    ex = ConvExplorer(input_size=3)  # one output position
    ex.set(input_size=8, step=30)  # the step range of the new size counts: 6 x 6
    assert ex.step == 30 and ex.output_position == (5, 0)


# ---------------------------------------------------------------- sliders and drawing
def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_sliders_update_everything_and_the_png_changes():
    ex = ConvExplorer(input_size=5, kernel_size=3, padding=1)
    assert bytes(ex.drawing_view.value) == ex.png
    _png_size(ex.png)
    before, repr_before = ex.png, repr(ex)
    ex.stride_slider.value = 2
    assert ex.stride == (2, 2) and ex.output_size == (3, 3)
    assert ex.png != before and bytes(ex.drawing_view.value) == ex.png
    assert repr(ex) != repr_before
    for name, value in [("padding", 0), ("dilation", 2), ("kernel_size", 2), ("input_size", 9)]:
        before = ex.png
        getattr(ex, f"{name}_slider").value = value
        assert getattr(ex, name) == (value, value)
        assert ex.png != before, name
    before = ex.png
    ex.step_slider.value = 1
    assert ex.png != before


@pytest.mark.parametrize(
    "args",
    [
        dict(input_size=5, kernel_size=3, padding=1, stride=2),
        dict(input_size=(6, 5), kernel_size=(2, 3), padding=(2, 0), stride=(1, 2), dilation=2),
        dict(input_size=7, kernel_size=3, dilation=3),
        dict(input_size=(11, 12), kernel_size=4, padding=3, stride=3, dilation=(1, 2)),
    ],
)
def test_png_highlights_the_cells_torch_reads(args):
    """Decode the PNG and check the colour of every padded-input cell: the cells that the
    one-hot F.conv2d runs read are drawn as read, the others by kind."""
    ex = ConvExplorer(**args)
    rows, cols = ex.padded_size
    (n_h, n_w), (p_h, p_w) = ex.input_size, ex.padding
    windows = _conv_windows_by_torch(ex)
    for step in sorted({0, ex.n_steps // 2, ex.n_steps - 1}):
        ex.set(step=step)
        with Image.open(io.BytesIO(ex.png)) as image:
            pixels = np.asarray(image.convert("RGB"))
        read = set(windows[step])
        for r in range(rows):
            for c in range(cols):
                inside = p_h <= r < p_h + n_h and p_w <= c < p_w + n_w
                kind = INPUT if inside else PADDING
                expected = READ[kind] if (r, c) in read else COLOURS[kind]
                # 2 pixels in from the cell's top-left corner: clear of grid lines, the
                # window's frame and the (centred) numbers
                y, x = 14 + r * ex.cell_px + 2, c * ex.cell_px + 2
                assert tuple(pixels[y, x]) == expected, (step, r, c)


@pytest.mark.parametrize(
    "args",
    [
        dict(input_size=3, kernel_size=3, padding=1, stride=2, output_padding=1),
        dict(input_size=(2, 3), kernel_size=(2, 3), stride=(3, 2), dilation=(2, 1)),
        dict(input_size=3, kernel_size=2, padding=2, stride=3),  # q = -1: crops a ring
    ],
)
def test_transposed_png_shows_zero_insertion(args):
    ex = ConvExplorer(mode="transposed", **args)
    rows, cols = ex.padded_size
    q = [d * (k - 1) - p for k, p, d in zip(ex.kernel_size, ex.padding, ex.dilation)]
    inserted = [(n - 1) * s + 1 for n, s in zip(ex.input_size, ex.stride)]
    crop = [max(0, -v) for v in q]  # cropped cells drawn before the padded grid
    for step in sorted({0, ex.n_steps - 1}):
        ex.set(step=step)
        with Image.open(io.BytesIO(ex.png)) as image:
            pixels = np.asarray(image.convert("RGB"))
        read = set(ex.window)
        for r in range(rows):
            for c in range(cols):
                z = (r - q[0], c - q[1])  # position in the zero-inserted input
                if _input_pixel(ex, r, c) is not None:
                    kind = INPUT
                elif 0 <= z[0] < inserted[0] and 0 <= z[1] < inserted[1]:
                    kind = ZERO
                else:
                    kind = PADDING
                expected = READ[kind] if (r, c) in read else COLOURS[kind]
                y = 14 + (r + crop[0]) * ex.cell_px + 2
                x = (c + crop[1]) * ex.cell_px + 2
                assert tuple(pixels[y, x]) == expected, (step, r, c)


def test_per_axis_sliders():
    ex = ConvExplorer()
    assert not ex.per_axis
    assert ex.per_axis_box.layout.display == "none"
    assert ex.square_box.layout.display is None
    ex.stride_w_slider.value = 3  # differing axes switch per-axis on
    assert ex.per_axis and ex.stride == (1, 3)
    assert ex.square_box.layout.display == "none"
    assert ex.per_axis_box.layout.display is None
    assert ex.output_size == _torch_conv_shape((5, 5), 3, (1, 3), 0, 1)
    ex.per_axis_checkbox.value = False  # back to square: the height value for both
    assert ex.stride == (1, 1)
    ex.stride_slider.value = 2
    assert ex.stride == (2, 2)
    assert ConvExplorer(kernel_size=(3, 1)).per_axis
    assert ConvExplorer(kernel_size=(3, 1), per_axis=False).per_axis  # needed, so on
    assert ConvExplorer(per_axis=True).square_box.layout.display == "none"


def test_output_padding_is_limited_by_stride_and_dilation():
    ex = ConvExplorer(mode="transposed", stride=3)
    assert ex.output_padding_slider.max == 2
    ex.output_padding_slider.value = 2
    assert ex.output_padding == (2, 2)
    ex.stride_slider.value = 2  # output_padding must now be < 2
    assert ex.output_padding == (1, 1) and ex.output_padding_slider.max == 1
    assert ex.output_size == _torch_transposed_shape((5, 5), 3, 2, 0, 1, 1)
    ex.set(dilation=(1, 4))
    assert ex.output_padding_w_slider.max == 3
    with pytest.raises(ValueError, match=r"output_padding must be < stride or < dilation"):
        ex.set(output_padding=(2, 0))
    assert ex.output_padding_w_slider.layout.display is None  # shown in transposed mode
    ex.set(mode="conv")
    assert ex.output_padding_w_slider.layout.display == "none"
    assert ex.output_padding_slider.layout.display == "none"
    assert ex.stride_slider.layout.display is None


# ---------------------------------------------------------------- errors
def test_impossible_combination_shows_message_and_recovers():
    ex = ConvExplorer(input_size=5, kernel_size=3)
    ex.dilation_slider.value = 3  # 3·(3 − 1) + 1 = 7 > 5: impossible
    assert ex.error is not None
    assert "Impossible" in ex.error and "kernel spans 7 cells" in ex.error
    assert "padded input has only 5" in ex.error
    assert ex.output_size is None and ex.window == [] and ex.n_steps == 0
    assert ex.step_slider.disabled
    assert "impossible" in ex.formula
    assert "Impossible" in ex.message.value
    assert repr(ex).endswith("-> impossible)")
    _png_size(ex.png)
    ex.padding_slider.value = 1  # 5 + 2 = 7: fits again
    assert ex.error is None and "Impossible" not in ex.message.value
    assert ex.output_size == (1, 1) == _torch_conv_shape((5, 5), 3, 1, 1, 3)
    assert not ex.step_slider.disabled
    assert "step 1 of 1: output (0, 0)" in ex.message.value


def test_impossible_transposed():
    ex = ConvExplorer(mode="transposed", input_size=1, kernel_size=1, padding=1)
    assert _torch_transposed_shape((1, 1), 1, 1, 1, 1, 0) is None
    assert ex.error is not None and "padding" in ex.error
    ex.padding_slider.value = 0
    assert ex.error is None and ex.output_size == (1, 1)


def test_set_rejects_bad_values():
    ex = ConvExplorer()
    with pytest.raises(ValueError, match=r"stride must be >= 1, got 0"):
        ex.set(stride=0)
    with pytest.raises(ValueError, match=r"input_size must be <= 12 in the explorer, got 13"):
        ex.set(input_size=13)
    with pytest.raises(ValueError, match=r"mode must be one of 'conv', 'transposed', got 'x'"):
        ConvExplorer(mode="x")
    with pytest.raises(ValueError, match=r"output_padding must be < stride or < dilation"):
        ConvExplorer(mode="transposed", stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"max_width must be >= 1, got 0"):
        ConvExplorer(max_width=0)
    with pytest.raises(TypeError, match=r"unexpected argument"):
        ex.set(strides=2)
    with pytest.raises(ValueError, match=r"step must be in 0\.\.8, got 9"):
        ex.set(step=9)
    assert ex.stride == (1, 1)


def test_repr():
    ex = ConvExplorer(input_size=5, kernel_size=3, padding=1, stride=2)
    # floor((5 + 2 - 2 - 1) / 2) + 1 = 3
    assert repr(ex) == (
        "ConvExplorer(mode='conv', input=(5, 5), kernel=(3, 3), padding=(1, 1), "
        "stride=(2, 2), dilation=(1, 1) -> output (3, 3))"
    )
    ex.set(mode="transposed", stride=(2, 1), output_padding=(1, 0))
    # (5 - 1)·2 - 2 + 2 + 1 + 1 = 10 and (5 - 1)·1 - 2 + 2 + 0 + 1 = 5
    assert repr(ex) == (
        "ConvExplorer(mode='transposed', input=(5, 5), kernel=(3, 3), padding=(1, 1), "
        "stride=(2, 1), dilation=(1, 1), output_padding=(1, 0) -> output (10, 5))"
    )
    assert ex._repr_mimebundle_()["text/plain"] == repr(ex)


def test_settings_are_a_frozen_dataclass_read_through_attributes():
    ex = ConvExplorer()
    ex.set(stride=2, padding=(1, 0), mode="transposed", step=3)
    state = ex.state
    assert dataclasses.is_dataclass(state)
    assert (state.stride, state.padding, state.mode, state.step, state.per_axis) == (
        (2, 2), (1, 0), "transposed", 3, True,
    )
    assert (ex.stride, ex.padding, ex.mode, ex.step, ex.per_axis) == (
        (2, 2), (1, 0), "transposed", 3, True,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.stride = (1, 1)
    with pytest.raises(AttributeError):
        ex.stride = 1  # read-only: set() is the one way in
    ex.set(per_axis=False)  # back to square, from the height values
    assert ex.padding == (1, 1) and ex.state is not state and state.padding == (1, 0)
    with pytest.raises(ValueError, match=r"kernel_size must be <= 7 in the explorer, got 8"):
        ex.set(kernel_size=8)
    assert ex.kernel_size == (3, 3)
    # the settings are documented on the class
    assert "stride" in ConvExplorer.stride.__doc__ and "step" in ConvExplorer.step.__doc__


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (dict(input_size=7, step=999), ValueError, r"step must be in 0\.\.8, got 999"),
        (dict(stride=2, kernel_size=1, step=1.5), TypeError, r"step must be an int"),
        (dict(input_size=3, mode="x"), ValueError, r"mode must be one of 'conv', 'transposed'"),
        (dict(padding=2, per_axis="yes"), TypeError, r"per_axis must be True or False"),
        (dict(stride=1, output_padding=1, mode="transposed"), ValueError, r"output_padding must"),
        (dict(dilation=2, input_size=13), ValueError, r"input_size must be <= 12"),
    ],
)
def test_set_checks_every_value_before_changing_any(bad, error, message):
    ex = ConvExplorer(input_size=5, kernel_size=3, stride=2, step=2)
    before, png = repr(ex), ex.png
    with pytest.raises(error, match=message):
        ex.set(**bad)
    assert repr(ex) == before and ex.png == png
    assert (ex.step, ex.per_axis) == (2, False)


def test_set_step_counts_the_new_sizes_and_lowered_output_padding():
    ex = ConvExplorer(mode="transposed", input_size=2, stride=3, output_padding=2)
    # stride 1 lowers output_padding to 0: output 2 + 2 = 4 per axis, 16 steps
    ex.set(stride=1, step=15)
    assert ex.output_padding == (0, 0) and ex.output_size == (4, 4) and ex.step == 15
    with pytest.raises(ValueError, match=r"step must be in 0\.\.15, got 16"):
        ex.set(input_size=2, step=16)


def test_a_failing_callback_shows_an_error_and_never_raises(monkeypatch):
    ex = ConvExplorer(input_size=5, kernel_size=3)
    before, png = ex.state, ex.png

    def broken(*args, **kwargs):
        raise RuntimeError("the drawing broke")

    monkeypatch.setattr(Painter, "draw", broken)
    ex.stride_slider.value = 2  # a reader drags a slider: no exception reaches the kernel
    assert ex.error == "could not update: RuntimeError: the drawing broke"
    assert "convbook-error" in ex.message.value and "the drawing broke" in ex.message.value
    # nothing changed, and the slider is back where the state is
    assert ex.state == before and ex.png == png and ex.stride_slider.value == 1
    monkeypatch.undo()
    ex.stride_slider.value = 2  # the next good update clears the error
    assert ex.error is None and "convbook-error" not in ex.message.value
    assert ex.output_size == (2, 2)


def test_css_classes_name_the_parts():
    ex = ConvExplorer()
    assert "convbook-conv-explorer" in ex._dom_classes
    assert "convbook-drawing" in ex.drawing_view._dom_classes
    assert "convbook-step" in ex.step_slider._dom_classes
    assert "convbook-message" in ex.message._dom_classes
    assert ex.children[-1] is ex.message


_SLIDERS = [
    f"{name}{axis}_slider"
    for name in ("input_size", "kernel_size", "padding", "stride", "dilation", "output_padding")
    for axis in ("", "_h", "_w")
]


@settings(max_examples=40)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(_SLIDERS), st.integers(0, 12)),
            st.tuples(st.just("per_axis_checkbox"), st.booleans()),
            st.tuples(st.just("mode_toggle"), st.sampled_from(["conv", "transposed"])),
            st.tuples(st.just("step_slider"), st.integers(0, 200)),
        ),
        max_size=12,
    )
)
def test_random_slider_moves_keep_the_state_consistent(moves):
    """Whatever a user drags, in any order, the state stays valid and agrees with torch."""
    ex = ConvExplorer()
    for widget, value in moves:
        getattr(ex, widget).value = value  # sliders clamp out-of-range values themselves
        names = ("input_size", "kernel_size", "padding", "stride", "dilation", "output_padding")
        if not ex.per_axis:
            for name in names:
                h, w = getattr(ex, name)
                assert h == w == getattr(ex, f"{name}_slider").value, name
        for o, s, d in zip(ex.output_padding, ex.stride, ex.dilation):
            assert o < max(s, d)
        args = (ex.input_size, ex.kernel_size, ex.stride, ex.padding, ex.dilation)
        if ex.mode == "conv":
            expected = _torch_conv_shape(*args)
        else:
            expected = _torch_transposed_shape(*args, ex.output_padding)
        assert ex.output_size == expected
        assert (ex.error is None) == (expected is not None)
        assert 0 <= ex.step <= max(ex.n_steps - 1, 0) == ex.step_slider.max == ex.play.max
        assert repr(ex).startswith(f"ConvExplorer(mode={ex.mode!r}")


def test_mimebundle_has_a_still_of_the_current_picture():
    ex = ConvExplorer(input_size=4, kernel_size=3, padding=1, stride=2)

    def still() -> np.ndarray:
        bundle = ex._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        with Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))) as image:
            return np.asarray(image.convert("RGB"))

    def shown() -> np.ndarray:  # what the widget's Image view displays
        with Image.open(io.BytesIO(ex.drawing_view.value)) as image:
            return np.asarray(image.convert("RGB"))

    first = still()
    assert first.shape[0] > 0 and first.shape[1] > 0
    assert np.array_equal(first, shown())
    ex.set(step=3)
    assert np.array_equal(still(), shown())
    assert not np.array_equal(still(), first)  # the last output cell is now current


# ---------------------------------------------------------------- state as data
def _count_renders(monkeypatch) -> list:
    """One entry per render."""
    import convbook.widgets.explorer as module

    return count_calls(monkeypatch, module, "png_bytes")


@pytest.mark.parametrize(
    "control, value",
    [("stride_slider", 2), ("dilation_slider", 2), ("stride_w_slider", 3),
     ("per_axis_checkbox", True), ("mode_toggle", "transposed"), ("step_slider", 4),
     ("input_size_h_slider", 7), ("kernel_size_slider", 1), ("play", 2)],
)
def test_one_control_change_renders_once(monkeypatch, control, value):
    ex = ConvExplorer(input_size=6, kernel_size=3, step=8)
    renders = _count_renders(monkeypatch)
    pictures, messages = [], []
    ex.drawing_view.observe(pictures.append, names="value")
    ex.message.observe(messages.append, names="value")
    getattr(ex, control).value = value
    assert len(renders) == 1 and len(pictures) <= 1 and len(messages) <= 1
    assert ex.error is None


def test_set_renders_once_and_not_at_all_without_a_change(monkeypatch):
    ex = ConvExplorer()
    renders = _count_renders(monkeypatch)
    ex.set(input_size=(9, 8), stride=2, padding=1, mode="transposed", output_padding=1, step=5)
    assert len(renders) == 1
    ex.set(stride=2, step=5)  # the state it already has
    assert len(renders) == 1


def test_a_bad_value_leaves_state_and_view_unchanged():
    ex = ConvExplorer(input_size=5, kernel_size=3, stride=2, step=2)
    state, png = ex.state, ex.png
    sliders = {name: getattr(ex, name).value for name in [*_SLIDERS, "step_slider"]}
    with pytest.raises(ValueError, match=r"stride must be <= 4 in the explorer, got 5"):
        ex.set(stride=5, kernel_size=2)
    assert ex.state is state and ex.png == png and bytes(ex.drawing_view.value) == png
    assert {name: getattr(ex, name).value for name in sliders} == sliders


def test_numpy_values_follow_the_shared_rules():
    ex = ConvExplorer(per_axis=np.bool_(True), step=np.int64(1))
    assert ex.per_axis is True and ex.step == 1
    ex.set(stride=np.int64(2), per_axis=np.bool_(False))
    assert ex.stride == (2, 2) and ex.per_axis is False
    with pytest.raises(TypeError, match=r"per_axis must be True or False, got 1"):
        ex.set(per_axis=1)


def test_sliders_whose_range_changes_are_new_sliders():
    """JupyterLab's slider keeps its first range for the Home and End keys; a new range
    gets a new slider, in the old one's place, driving the explorer as before."""
    ex = ConvExplorer(input_size=3, kernel_size=3)  # 1 output position
    old = ex.step_slider
    ex.set(input_size=8)  # 36 positions
    new = ex.step_slider
    assert new is not old and (new.min, new.max) == (0, 35)
    assert new in ex.children[3].children and old not in ex.children[3].children
    assert "convbook-step" in new._dom_classes
    old.value = 0  # the old slider, closed, drives nothing
    new.value = 20
    assert ex.step == 20 and ex.play.value == 20 and ex.play.max == 35
    ex.set(stride=3)  # output padding now up to 2: new output-padding sliders
    assert ex.output_padding_slider.max == 2 and ex.output_padding_w_slider.max == 2
    ex.set(mode="transposed")
    ex.output_padding_w_slider.value = 2
    assert ex.output_padding == (0, 2)


# ---------------------------------------------------------------- the picture's layout
def test_the_colour_key_gives_every_meaning_its_own_colour():
    for transposed in (False, True):
        colours = re.findall(r"background:rgb(\(\d+, \d+, \d+\))", legend_html(transposed))
        assert len(colours) == (8 if transposed else 6)
        assert len(set(colours)) == len(colours), colours


@pytest.mark.parametrize(
    "args",
    [dict(input_size=1, kernel_size=7), dict(input_size=12, kernel_size=7, dilation=4),
     dict(input_size=(1, 12), kernel_size=7, padding=(0, 3)), dict(input_size=1, kernel_size=1)],
)
def test_every_title_fits_on_the_picture(args):
    """The titles are drawn whole: text in the title strip ends before the right edge, and
    no title runs into the next panel."""
    ex = ConvExplorer(**args)
    with Image.open(io.BytesIO(ex.png)) as image:
        pixels = np.asarray(image.convert("L"))
    strip = pixels[:TITLE_PX] < 200  # dark pixels: text
    assert not strip[:, -2:].any()
    columns = np.flatnonzero(strip.any(axis=0))
    gaps = np.flatnonzero(np.diff(columns) > 8)  # the three titles, separated by gaps
    assert len(gaps) == 2, "expected three separate titles"
    title = "output: impossible" if ex.output_size is None else "output"
    width = ImageDraw.Draw(Image.new("L", (1, 1))).textlength(title)
    assert pixels.shape[1] - columns[gaps[-1] + 1] >= width
