"""convbook.widgets.frame_strip: the convolution explorer's picture at several steps, as one
PNG.  Each frame must be the PNG a ConvExplorer with the same settings shows at that step."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from IPython.core.formatters import PNGFormatter
from PIL import Image

from convbook.widgets import ConvExplorer, FrameStrip, frame_strip
from convbook.widgets.explorer_drawing import legend_items
from convbook.widgets.explorer_frames import MAX_FRAMES
from convbook.widgets.explorer_geometry import INPUT


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _explorer_pictures(settings: dict, steps, max_width: int) -> list[np.ndarray]:
    """What a ConvExplorer with ``settings`` shows at each of ``steps``, decoded."""
    explorer = ConvExplorer(**settings, max_width=max_width)
    pictures = []
    for step in steps:
        explorer.set(step=step)
        pictures.append(_pixels(explorer.png))
    return pictures


def _assert_frames_are_the_explorers(strip: FrameStrip, settings: dict, max_width: int):
    pictures = _explorer_pictures(settings, strip.steps, max_width)
    decoded = _pixels(strip.png)
    assert np.array_equal(decoded, strip.image)
    (h, w) = strip.frame_size
    for index, ((y, x), picture) in enumerate(zip(strip.origins, pictures)):
        assert picture.shape == (h, w, 3)
        assert np.array_equal(decoded[y : y + h, x : x + w], picture), index
        assert np.array_equal(strip.frame(index), picture), index


CASES = [
    # the chapters' strips: 'same' padding, stride, dilation (ch02), transposed (ch05)
    (dict(input_size=4, kernel_size=3, padding=1), [0, 1, 5, 15]),
    (dict(input_size=8, kernel_size=3, padding=1, stride=2), [0, 1, 4, 5]),
    (dict(input_size=8, kernel_size=3, dilation=2), [0, 1, 4, 5]),
    (dict(mode="transposed", input_size=2, kernel_size=3, stride=2), [6, 7, 11, 12]),
    # per axis, a crop (negative transposed padding), output padding, one frame, repeats
    (dict(input_size=(3, 7), kernel_size=(1, 3), padding=(0, 2), stride=(1, 3)), [4, 0, 4]),
    (dict(mode="transposed", input_size=3, kernel_size=2, padding=2, stride=3), [0, 3]),
    (dict(mode="transposed", input_size=2, kernel_size=3, stride=2, padding=1,
          output_padding=1), [3]),
    (dict(input_size=1, kernel_size=1), [0]),
]


@pytest.mark.parametrize(("settings", "steps"), CASES)
def test_each_frame_is_the_explorers_png_at_its_step(settings, steps):
    strip = frame_strip(**settings, steps=steps)
    assert strip.steps == tuple(steps)
    _assert_frames_are_the_explorers(strip, settings, max_width=440)


@settings(max_examples=25)
@given(
    input_size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    kernel_size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    padding=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    dilation=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    mode=st.sampled_from(["conv", "transposed"]),
    data=st.data(),
    columns=st.integers(1, 4),
    max_width=st.integers(60, 900),
)
def test_frames_match_the_explorer_for_any_settings(input_size, kernel_size, padding, stride,
                                                    dilation, mode, data, columns, max_width):
    settings = dict(input_size=input_size, kernel_size=kernel_size, padding=padding,
                    stride=stride, dilation=dilation, mode=mode)
    explorer = ConvExplorer(**settings)
    assume(explorer.n_steps > 0)
    steps = data.draw(st.lists(st.integers(0, explorer.n_steps - 1), min_size=1, max_size=5))
    strip = frame_strip(**settings, steps=steps, columns=columns, max_width=max_width)
    _assert_frames_are_the_explorers(strip, settings, max_width)
    # and what the frames show, as the explorer's headless API says it
    assert strip.output_size == explorer.output_size
    assert np.array_equal(strip.cell_kinds(), explorer.cell_kinds())
    for step, position, window in zip(steps, strip.output_positions, strip.windows):
        explorer.set(step=step)
        assert position == explorer.output_position and window == explorer.window
    assert repr(strip) == f"FrameStrip(steps={tuple(steps)}, {repr(explorer)[13:-1]})"


def test_frames_sit_in_rows_of_columns_without_overlapping():
    strip = frame_strip(input_size=5, steps=[0, 1, 2, 3, 4], columns=2)
    (h, w), (height, width) = strip.frame_size, strip.image.shape[:2]
    ys = sorted({y for y, _ in strip.origins})
    xs = sorted({x for _, x in strip.origins})
    assert len(ys) == 3 and len(xs) == 2  # 2 + 2 + 1
    assert [strip.origins[i] for i in (0, 1, 2)] == [(ys[0], xs[0]), (ys[0], xs[1]),
                                                     (ys[1], xs[0])]
    assert ys[1] - ys[0] > h and xs[1] - xs[0] > w  # a gap between neighbours
    assert all(y + h < height and x + w < width for y, x in strip.origins)
    one_row = frame_strip(input_size=5, steps=[0, 1], columns=4)  # no more columns than frames
    assert one_row.image.shape[1] < strip.image.shape[1] + w


def test_the_formula_is_the_explorers_one_line_when_both_axes_agree():
    square = frame_strip(input_size=8, kernel_size=3, padding=1, stride=2, steps=[0])
    h_line = ConvExplorer(input_size=8, kernel_size=3, padding=1, stride=2).formula
    assert square.formula == ("H_out = W_out" + h_line.split("\n")[0].removeprefix("H_out"),)
    assert square.formula == ("H_out = W_out = floor((8 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = 4",)
    per_axis = frame_strip(input_size=(8, 5), stride=(2, 1), steps=[0])
    assert per_axis.formula == tuple(ConvExplorer(input_size=(8, 5), stride=(2, 1))
                                     .formula.split("\n"))
    assert len(per_axis.formula) == 2
    # the title lines take room above the first frame
    assert per_axis.origins[0][0] > square.origins[0][0]


@pytest.mark.parametrize("mode", ["conv", "transposed"])
def test_the_colour_key_is_drawn_below_the_frames(mode):
    strip = frame_strip(mode=mode, input_size=5, stride=2, steps=[0, 1])
    below = strip.origins[0][0] + strip.frame_size[0] + 4
    key = strip.image[below:]
    for colour, label in legend_items(mode == "transposed"):
        # a whole swatch of the colour: a 12 x 12 block (minus its outline) somewhere
        match = np.all(key == np.asarray(colour, dtype=np.uint8), axis=-1)
        found = any(match[y : y + 10, x : x + 10].all()
                    for y, x in zip(*np.nonzero(match)))
        assert found, label


def test_frames_differ_as_the_step_advances():
    # every step of a small setting draws its own picture (the window and the output cell
    # move); a repeated step draws the same picture again
    strip = frame_strip(input_size=4, kernel_size=3, padding=1, steps=range(MAX_FRAMES))
    frames = [strip.frame(index).tobytes() for index in range(MAX_FRAMES)]
    assert len(set(frames)) == MAX_FRAMES
    repeated = frame_strip(input_size=4, kernel_size=3, padding=1, steps=[5, 6, 5])
    assert np.array_equal(repeated.frame(0), repeated.frame(2))
    assert not np.array_equal(repeated.frame(0), repeated.frame(1))


def test_the_transposed_strip_counts_the_scattered_overlap():
    # chapter 05's strip: the input pixels each frame reads are those whose scattered
    # kernels overlap at that output, counted here by a transposed convolution of ones
    overlap = F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 3, 3), stride=2)[0, 0]
    read, expected = [], []
    for steps in (range(MAX_FRAMES), range(MAX_FRAMES, 25)):  # all 25 output positions
        strip = frame_strip(mode="transposed", input_size=2, kernel_size=3, stride=2,
                            steps=steps)
        kinds = strip.cell_kinds()
        read += [sum(kinds[r, c] == INPUT for r, c in window) for window in strip.windows]
        expected += [int(overlap[i, j]) for i, j in strip.output_positions]
    assert len(read) == 25 and read == expected and sorted(set(read)) == [1, 2, 4]


def test_a_notebook_shows_the_png_and_a_short_repr():
    strip = frame_strip(input_size=4, kernel_size=3, padding=1, steps=[0, 5])
    assert PNGFormatter()(strip) == strip.png
    assert repr(strip) == (
        "FrameStrip(steps=(0, 5), mode='conv', input=(4, 4), kernel=(3, 3), padding=(1, 1), "
        "stride=(1, 1), dilation=(1, 1) -> output (4, 4))")
    transposed = frame_strip(mode="transposed", input_size=2, stride=2, steps=[0])
    assert "output_padding=(0, 0) -> output (5, 5)" in repr(transposed)
    # the same settings draw the same picture
    again = frame_strip(input_size=4, kernel_size=3, padding=1, steps=[0, 5])
    assert again.png == strip.png


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (dict(steps=[]), ValueError, f"steps must have 1 to {MAX_FRAMES} entries, got 0"),
        (dict(steps=list(range(MAX_FRAMES + 1))), ValueError,
         f"steps must have 1 to {MAX_FRAMES} entries, got {MAX_FRAMES + 1}"),
        (dict(steps=None), TypeError, "steps must be a list of ints, got None"),
        (dict(steps=3), TypeError, "steps must be a list of ints, got 3"),
        (dict(steps="01"), TypeError, "steps must be a list of ints, got '01'"),
        (dict(steps=[0, 9]), ValueError,
         r"steps\[1\] must be in 0..8 \(the output has 9 positions\), got 9"),
        (dict(steps=[-1]), ValueError, r"steps\[0\] must be in 0..8"),
        (dict(input_size=3, steps=[1]), ValueError,
         r"steps\[0\] must be in 0..0 \(the output has 1 position\), got 1"),
        (dict(steps=[True]), TypeError, r"steps\[0\] must be an int, got True"),
        (dict(steps=[1.5]), TypeError, r"steps\[0\] must be an int, got 1.5"),
        (dict(steps=[float("nan")]), TypeError, r"steps\[0\] must be an int, got nan"),
        (dict(columns=0), ValueError, "columns must be >= 1, got 0"),
        (dict(columns=2.0), TypeError, "columns must be an int"),
        (dict(columns=True), TypeError, "columns must be an int"),
        (dict(max_width=0), ValueError, "max_width must be >= 1, got 0"),
        (dict(max_width="440"), TypeError, "max_width must be an int"),
        (dict(padding=5), ValueError, "padding must be <= 4 in the explorer, got 5"),
        (dict(kernel_size=(3, 0)), ValueError, "kernel_size"),
        (dict(input_size=13), ValueError, "input_size must be <= 12 in the explorer, got 13"),
        (dict(stride=None), TypeError, "stride"),
        (dict(mode="deconv"), ValueError, "mode must be one of"),
        (dict(output_padding=1), ValueError, "output_padding must be < stride or < dilation"),
        (dict(input_size=2, kernel_size=5), ValueError,
         "these settings have no output to draw: Impossible along both axes"),
        (dict(mode="transposed", input_size=1, kernel_size=1, padding=1), ValueError,
         "these settings have no output to draw: Impossible along both axes: padding 1"),
    ],
)
def test_bad_arguments_are_named(changes, error, message):
    arguments = dict(input_size=5, kernel_size=3, steps=[0]) | changes
    with pytest.raises(error, match=message):
        frame_strip(**arguments)


def test_an_unknown_or_positional_argument_is_refused():
    with pytest.raises(TypeError, match="step"):
        frame_strip(step=0)  # the explorer's argument, not the strip's
    with pytest.raises(TypeError, match="positional"):
        frame_strip([0, 1])  # type: ignore[misc]


def test_a_frame_number_out_of_range_is_named():
    strip = frame_strip(steps=[0, 1])
    with pytest.raises(ValueError, match=r"index must be in 0\.\.1, got 2"):
        strip.frame(2)
    with pytest.raises(TypeError, match="index must be an int"):
        strip.frame("0")
