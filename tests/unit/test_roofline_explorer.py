"""RooflineExplorer: the state as data, the sliders as views, the roofline's numbers against
the formulas, the measure button with its progress, errors, and the still."""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import pytest
from PIL import Image

from convbook.roofline import ConvLayer
from convbook.widgets import RooflineExplorer, roofline_explorer
from convbook.widgets.roofline_explorer import RooflineState

PEAKS = {"float32": 100e9, "bfloat16": 300e9}


def explorer(**kwargs) -> RooflineExplorer:
    return RooflineExplorer(**{"peaks": PEAKS, "bandwidth": 10e9, "min_run_time": 0.001,
                               **kwargs})


def test_the_state_is_a_layer_and_the_numbers_follow_the_roofline():
    ex = explorer()
    assert ex.state == RooflineState(ConvLayer(64, 64, 3, 32, 32, padding=1), "float32", None)
    ex.set(in_channels=32, out_channels=32, groups=32, batch=8)  # depthwise
    layer = ex.layer
    assert layer == ConvLayer(32, 32, 3, 32, 32, padding=1, groups=32, batch=8)
    # by hand: 2 · 8·32·32·32·9 FLOPs; (8·32·32·32 · 2 + 32·9) · 4 bytes
    flops, moved = 2 * 8 * 32 * 32 * 32 * 9, (8 * 32 * 32 * 32 * 2 + 32 * 9) * 4
    assert (layer.flops, layer.bytes_moved()) == (flops, moved)
    assert ex.bound == "memory"  # 2.2 FLOP/byte, left of the ridge at 10
    assert ex.predicted_seconds == pytest.approx(moved / 10e9)
    assert repr(ex) == ("RooflineExplorer(32→32, 3×3/1 on 32×32, groups 32, batch 8, "
                        "float32: 2,359,296 MACs, 2.2 FLOP/byte)")
    ex.set(groups=1, dtype="bfloat16")
    assert ex.bound == "compute" and ex.peak == 300e9
    assert ex.predicted_seconds == pytest.approx(ex.layer.flops / 300e9)
    assert "compute" in ex.table_view.value and "bfloat16" in repr(ex)


def test_sliders_are_views_of_the_state_and_drive_it_through_set():
    ex = explorer()
    ex.set(kernel_size=5, padding=2, height=20)
    assert (ex.kernel_size_slider.value, ex.padding_slider.value, ex.height_slider.value) == \
        (5, 2, 20)
    ex.width_slider.value = 17
    ex.stride_slider.value = 2
    assert ex.layer == ConvLayer(64, 64, 5, 20, 17, stride=2, padding=2)
    ex.dtype_toggle.value = "bfloat16"
    assert ex.dtype == "bfloat16"
    assert ex.set(stride=2) is ex and ex.layer.stride == 2


def test_one_set_draws_once(monkeypatch):
    ex = explorer()
    calls = []
    real = RooflineExplorer._draw
    monkeypatch.setattr(RooflineExplorer, "_draw", lambda self: calls.append(1) or real(self))
    ex.set(in_channels=32, out_channels=16, groups=2, kernel_size=1, padding=0)
    assert len(calls) == 1
    ex.set(groups=2)  # nothing changes: nothing is drawn
    assert len(calls) == 1


@pytest.mark.parametrize("changes, error, message", [
    (dict(groups=3), ValueError, r"in_channels \(64\) must be divisible by groups \(3\)"),
    (dict(kernel_size=15, padding=0, height=8), ValueError, r"kernel_size\[0\] 15 is larger"),
    (dict(in_channels=300), ValueError, r"in_channels must be in 1\.\.256 in the explorer"),
    (dict(in_channels=0), ValueError, "in_channels must be >= 1, got 0"),
    (dict(stride=1.5), TypeError, "stride must be an int"),
    (dict(dtype="float16"), ValueError, "dtype must be one of 'float32', 'bfloat16'"),
    (dict(dilation=2), TypeError, r"set\(\) got unexpected argument\(s\) \['dilation'\]"),
])
def test_bad_set_arguments_raise_and_change_nothing(changes, error, message):
    ex = explorer()
    before, png = ex.state, ex.png
    with pytest.raises(error, match=message):
        ex.set(**changes)
    assert ex.state == before and ex.png == png and ex.error is None


def test_a_slider_that_makes_an_impossible_layer_shows_why_and_keeps_the_last_good_one():
    ex = explorer()
    ex.set(height=8, padding=0, kernel_size=3)
    before = ex.state
    ex.kernel_size_slider.value = 12
    assert ex.state == before
    assert ex.error.startswith("kernel_size[0] 12 is larger than the padded input 8")
    assert "showing the last good layer" in ex.message.value
    ex.height_slider.value = 20  # a good layer again: built from the state, 3x3
    assert ex.error is None and ex.layer.height == 20 and ex.kernel_size_slider.value == 3


def test_measure_shows_progress_and_the_times_join_the_table_and_the_plot(monkeypatch):
    seen = []

    def fake(layer, names=None, *, dtype, min_run_time, progress, num_threads=None):
        for i, name in enumerate(["direct", "Winograd", "F.conv2d"]):
            progress(i, 3, name)
            seen.append((ex.progress_bar.value, ex.progress_bar.max, ex.progress_label.value))
        progress(3, 3, "")
        return {"direct": 2e-3, "Winograd": None, "F.conv2d": 1e-4}

    monkeypatch.setattr(roofline_explorer, "time_algorithms", fake)
    ex = explorer()
    before = ex.png
    ex.set(kernel_size=5, padding=2)
    ex.measure_button.click()
    assert seen == [(0, 3, "timing direct (1/3)…"), (1, 3, "timing Winograd (2/3)…"),
                    (2, 3, "timing F.conv2d (3/3)…")]
    assert ex.progress_bar.value == 3 and ex.progress_label.value == "done"
    assert ex.times == {"direct": 2e-3, "Winograd": None, "F.conv2d": 1e-4}
    assert not ex.measure_button.disabled and ex.png != before
    table = ex.table_view.value
    assert "2.000 ms" in table and "0.100 ms" in table
    assert "Winograd F(2x2, 3x3) needs a 3x3 kernel and stride 1" in table
    share = ex.layer.flops / 1e-4 / min(100e9, 10e9 * ex.layer.intensity())
    assert f"({share:.0%} of the roof)" in table
    ex.set(batch=2)  # another layer: its times are not known
    assert ex.times is None and ex.progress_bar.value == 0 and "ms (" not in ex.table_view.value


def test_measure_times_the_algorithms_for_real():
    ex = explorer().set(in_channels=4, out_channels=4, height=8, width=8)
    times = ex.measure()
    assert set(times) == {"direct", "im2col", "FFT", "Winograd", "F.conv2d"}
    assert all(0 < t < 1 for t in times.values())
    assert ex.times == times


def test_a_layer_too_large_to_measure_is_refused_from_code_and_from_the_button():
    ex = explorer().set(batch=64, height=128, width=128, in_channels=256, out_channels=256)
    with pytest.raises(ValueError, match="the layer is too large to measure here"):
        ex.measure()
    ex.measure_button.click()
    assert ex.error.startswith("the layer is too large to measure here")
    assert "could not" not in ex.error and not ex.measure_button.disabled
    assert ex.times is None


def test_a_failing_measurement_shows_an_error_and_the_next_one_recovers(monkeypatch):
    ex = explorer().set(in_channels=2, out_channels=2, height=6, width=6)

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    real = roofline_explorer.time_algorithms
    monkeypatch.setattr(roofline_explorer, "time_algorithms", broken)
    ex.measure_button.click()
    assert ex.error == "could not update: RuntimeError: out of memory"
    assert not ex.measure_button.disabled and ex.times is None
    monkeypatch.setattr(roofline_explorer, "time_algorithms", real)
    ex.measure_button.click()
    assert ex.error is None and set(ex.times) == {"direct", "im2col", "FFT", "Winograd",
                                                  "F.conv2d"}


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(peaks=1e11), TypeError, "peaks must be a dict"),
    (dict(peaks={}), TypeError, "peaks must be a dict"),
    (dict(peaks={"float16": 1e11}), ValueError, "peaks must be one of 'float32', 'bfloat16'"),
    (dict(peaks={"float32": -1.0}), ValueError, "peaks must be a finite number > 0"),
    (dict(bandwidth=0), ValueError, "bandwidth must be a finite number > 0"),
    (dict(layer=(64, 64, 3)), TypeError, "layer must be a ConvLayer"),
    (dict(layer=ConvLayer(512, 8, 3, 8, 8)), ValueError, r"in_channels must be in 1\.\.256"),
    (dict(peaks={"float32": 1e11}, dtype="bfloat16"), ValueError,
     "dtype must be one of 'float32', got 'bfloat16'"),
    (dict(min_run_time=0), ValueError, r"min_run_time must be in \(0, 10\)"),
])
def test_bad_constructor_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        explorer(**kwargs)


def test_still_mimebundle_and_css_classes():
    ex = explorer()
    picture = Image.open(io.BytesIO(ex.png))
    assert picture.format == "PNG" and picture.width > 300
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == repr(ex)
    assert base64.b64decode(bundle["image/png"]) == ex.png
    assert isinstance(ex, widgets.VBox) and "convbook-roofline-explorer" in ex._dom_classes
    for view, name in ((ex.plot_view, "convbook-drawing"), (ex.table_view, "convbook-output"),
                       (ex.measure_button, "convbook-measure"),
                       (ex.progress_bar, "convbook-progress")):
        assert name in view._dom_classes
    assert ex.plot_view.value == ex.png
