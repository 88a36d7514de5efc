"""RooflineExplorer: the state as data, one render per change, the sliders as views, the
roofline's numbers against the formulas, the measure button with its progress, errors,
and the still."""

from __future__ import annotations

import base64
import dataclasses
import io

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image
from renders import count_calls

from convbook.roofline import ConvLayer
from convbook.widgets import RooflineExplorer, roofline_explorer
from convbook.widgets.roofline_explorer import RooflineExplorerState

PEAKS = {"float32": 100e9, "bfloat16": 300e9}
ALL = {"direct", "im2col", "FFT", "Winograd", "F.conv2d"}
FIELDS = ("in_channels", "out_channels", "kernel_size", "height", "width", "stride",
          "padding", "groups", "batch")


def explorer(**kwargs) -> RooflineExplorer:
    return RooflineExplorer(**{"peaks": PEAKS, "bandwidth": 10e9, "min_run_time": 0.001,
                               **kwargs})


def controls(ex: RooflineExplorer) -> dict[str, object]:
    """What every control shows."""
    return {**{name: getattr(ex, f"{name}_slider").value for name in FIELDS},
            "dtype": ex.dtype_toggle.value, "progress": ex.progress_bar.value,
            "progress_label": ex.progress_label.value}


def test_the_state_is_a_layer_and_the_numbers_follow_the_roofline():
    ex = explorer()
    assert ex.state == RooflineExplorerState(ConvLayer(64, 64, 3, 32, 32, padding=1),
                                             "float32", None)
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
    assert "2.2 FLOP/byte" in ex.table_view.value and "memory" in ex.table_view.value
    ex.set(groups=1, dtype="bfloat16")
    assert ex.bound == "compute" and ex.peak == 300e9
    assert ex.predicted_seconds == pytest.approx(ex.layer.flops / 300e9)
    assert "compute" in ex.table_view.value and "bfloat16" in repr(ex)


def test_settings_are_a_frozen_dataclass_read_through_attributes():
    ex = explorer().set(kernel_size=5, padding=2)
    state = ex.state
    assert dataclasses.is_dataclass(state) and (ex.layer, ex.dtype) == (state.layer, "float32")
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.dtype = "bfloat16"
    for name in ("layer", "dtype", "state", "times", "bandwidth", "min_run_time"):
        with pytest.raises(AttributeError):
            setattr(ex, name, None)  # read-only: set() is the one way in
    ex.peaks["float32"] = -1.0  # a copy: the explorer's own peaks stay
    assert ex.peak == 100e9
    ex.set(stride=2)
    assert ex.state is not state and state.layer.stride == 1  # the old state is untouched
    assert "ConvLayer" in RooflineExplorer.layer.__doc__


def test_a_whole_layer_and_numpy_ints_are_accepted_bools_are_not():
    layer = ConvLayer(16, 32, 1, 10, 12, batch=4)
    ex = explorer(layer=layer, dtype="bfloat16")
    assert (ex.layer, ex.dtype) == (layer, "bfloat16") and ex.in_channels_slider.value == 16
    ex.set(layer=ConvLayer(8, 8, 3, 9, 9), stride=np.int64(2))  # the fields on top of it
    assert ex.layer == ConvLayer(8, 8, 3, 9, 9, stride=2)
    assert (ex.stride_slider.value, ex.height_slider.value) == (2, 9)
    with pytest.raises(TypeError, match="batch must be an int, got True"):
        ex.set(batch=True)


def test_sliders_are_views_of_the_state_and_drive_it_through_set():
    ex = explorer()
    ex.set(kernel_size=5, padding=2, height=20)
    assert (ex.kernel_size_slider.value, ex.padding_slider.value, ex.height_slider.value) == \
        (5, 2, 20)
    assert ex.sliders["height"] is ex.height_slider
    ex.width_slider.value = 17
    ex.stride_slider.value = 2
    assert ex.layer == ConvLayer(64, 64, 5, 20, 17, stride=2, padding=2)
    ex.dtype_toggle.value = "bfloat16"
    assert ex.dtype == "bfloat16"
    assert ex.set(stride=2) is ex and ex.layer.stride == 2
    assert {name: (s.min, s.max) for name, s in ex.sliders.items()} == RooflineExplorer.LIMITS


def _count_renders(monkeypatch) -> list:
    """One entry per render."""
    return count_calls(monkeypatch, roofline_explorer, "plot_png")


@pytest.mark.parametrize("control, value", [
    ("in_channels_slider", 32), ("out_channels_slider", 16), ("kernel_size_slider", 5),
    ("height_slider", 20), ("width_slider", 7), ("stride_slider", 3), ("padding_slider", 0),
    ("groups_slider", 2), ("batch_slider", 8), ("dtype_toggle", "bfloat16"),
])
def test_one_control_change_renders_once(monkeypatch, control, value):
    ex = explorer()
    renders = _count_renders(monkeypatch)
    pictures, tables, messages = [], [], []
    ex.plot_view.observe(pictures.append, names="value")
    ex.table_view.observe(tables.append, names="value")
    ex.message.observe(messages.append, names="value")
    getattr(ex, control).value = value
    assert len(renders) == 1 and len(pictures) == 1 and len(tables) == 1
    assert len(messages) <= 1 and ex.error is None
    assert controls(ex)[control.removesuffix("_slider").removesuffix("_toggle")] == value


def test_set_renders_once_and_not_at_all_without_a_change(monkeypatch):
    ex = explorer()
    renders = _count_renders(monkeypatch)
    ex.set(in_channels=32, out_channels=16, groups=2, kernel_size=1, padding=0, dtype="bfloat16")
    assert len(renders) == 1
    ex.set(groups=2, dtype="bfloat16")  # the state it already has
    assert len(renders) == 1


@pytest.mark.parametrize("changes, error, message", [
    (dict(groups=3), ValueError, r"in_channels \(64\) must be divisible by groups \(3\)"),
    (dict(kernel_size=15, padding=0, height=8), ValueError, r"kernel_size\[0\] 15 is larger"),
    (dict(in_channels=300), ValueError, r"in_channels must be in 1\.\.256 in the explorer"),
    (dict(in_channels=0), ValueError, r"in_channels must be in 1\.\.256 in the explorer, got 0"),
    (dict(stride=1.5), TypeError, "stride must be an int"),
    (dict(dtype="float16"), ValueError, "dtype must be one of 'float32', 'bfloat16'"),
    (dict(layer=(64, 64, 3)), TypeError, "layer must be a ConvLayer, got tuple"),
    (dict(layer=ConvLayer(8, 8, 3, 200, 8)), ValueError, r"height must be in 1\.\.128"),
    (dict(dilation=2), TypeError, r"set\(\) got unexpected argument\(s\) \['dilation'\]"),
    (dict(times=[1e-3]), TypeError, "times must be a dict of seconds by algorithm name"),
    (dict(times={}), ValueError, "times must give the seconds of at least one algorithm"),
    (dict(times={"cuDNN": 1e-3}), ValueError, "each name in times must be one of 'direct'"),
    (dict(times={"direct": 0.0}), ValueError, r"times\['direct'\] must be a finite number > 0"),
    (dict(times={"direct": None}), TypeError, r"times\['direct'\] must be a number, got None"),
    (dict(times={"Winograd": 1e-3}, kernel_size=5, padding=2), ValueError,
     r"times\['Winograd'\] must be None \(Winograd F\(2x2, 3x3\) needs a 3x3 kernel"),
    (dict(times={"FFT": 1e-3}, dtype="bfloat16"), ValueError,
     r"times\['FFT'\] must be None \(the FFT computes in float32 or float64\)"),
])
def test_bad_set_arguments_raise_and_change_nothing(changes, error, message):
    ex = explorer()
    before, png, shown = ex.state, ex.png, controls(ex)
    with pytest.raises(error, match=message):
        ex.set(**changes)
    assert ex.state is before and ex.png == png and ex.plot_view.value == png
    assert controls(ex) == shown and ex.error is None


def test_a_slider_that_makes_an_impossible_layer_shows_why_and_keeps_the_last_good_one():
    ex = explorer().set(height=8, padding=0, kernel_size=3)
    before, png, shown = ex.state, ex.png, controls(ex)
    ex.kernel_size_slider.value = 12
    assert ex.state is before and ex.png == png and ex.plot_view.value == png
    assert controls(ex) == shown  # the slider is back at the state's 3
    assert ex.error.startswith("kernel_size[0] 12 is larger than the padded input 8")
    assert "convbook-error" in ex.message.value
    assert "showing the last good layer" in ex.message.value
    ex.groups_slider.value = 5  # 64 channels in 5 groups: another error, the same way
    assert ex.error == "in_channels (64) must be divisible by groups (5)"
    assert ex.state is before and ex.groups_slider.value == 1
    ex.height_slider.value = 20  # a good layer again clears the error
    assert ex.error is None and "convbook-error" not in ex.message.value
    assert ex.layer == ConvLayer(64, 64, 3, 20, 32)


def test_a_failing_callback_shows_an_error_and_never_raises(monkeypatch):
    ex = explorer()
    before, png, shown = ex.state, ex.png, controls(ex)

    def broken(*args, **kwargs):
        raise RuntimeError("the plot broke")

    monkeypatch.setattr(roofline_explorer, "plot_png", broken)
    ex.stride_slider.value = 2  # a reader drags a slider: no exception reaches the kernel
    assert ex.error == "could not update: RuntimeError: the plot broke"
    assert "convbook-error" in ex.message.value and "the plot broke" in ex.message.value
    assert ex.state is before and ex.png == png and controls(ex) == shown
    monkeypatch.undo()
    ex.stride_slider.value = 2  # the next good update clears the error
    assert ex.error is None and ex.layer.stride == 2


def test_measure_shows_progress_and_the_times_join_the_table_and_the_plot(monkeypatch):
    seen = []

    def fake(layer, names=None, *, dtype, min_run_time, progress, num_threads=None):
        assert (layer, dtype, min_run_time) == (ex.layer, "float32", 0.001)
        for i, name in enumerate(["direct", "Winograd", "F.conv2d"]):
            progress(i, 3, name)
            seen.append((ex.progress_bar.value, ex.progress_bar.max, ex.progress_label.value,
                         ex.measure_button.disabled))
        progress(3, 3, "")
        return {"direct": 2e-3, "Winograd": None, "F.conv2d": 1e-4}

    monkeypatch.setattr(roofline_explorer, "time_algorithms", fake)
    ex = explorer()
    before = ex.png
    ex.set(kernel_size=5, padding=2)
    renders = _count_renders(monkeypatch)
    ex.measure_button.click()
    assert seen == [(0, 3, "timing direct (1/3)…", True), (1, 3, "timing Winograd (2/3)…", True),
                    (2, 3, "timing F.conv2d (3/3)…", True)]
    assert len(renders) == 1  # the times shown: one render
    assert ex.progress_bar.value == 3 and ex.progress_label.value == "done"
    assert ex.times == {"direct": 2e-3, "Winograd": None, "F.conv2d": 1e-4}
    assert ex.state.times == (("direct", 2e-3), ("Winograd", None), ("F.conv2d", 1e-4))
    assert not ex.measure_button.disabled and ex.png != before and ex.error is None
    table = ex.table_view.value
    assert "2.000 ms" in table and "0.100 ms" in table
    assert "Winograd F(2x2, 3x3) needs a 3x3 kernel and stride 1" in table
    share = ex.layer.flops / 1e-4 / min(100e9, 10e9 * ex.layer.intensity())
    assert f"({share:.0%} of the roof)" in table
    ex.set(kernel_size=5)  # nothing changes: the times stay
    assert ex.times is not None
    ex.set(batch=2)  # another layer: its times are not known
    assert ex.times is None and ex.progress_bar.value == 0 and ex.progress_label.value == ""
    assert "ms (" not in ex.table_view.value


def test_times_from_code_go_through_set_like_the_buttons():
    ex = explorer()
    ex.set(times={"direct": 4e-3, "F.conv2d": 2e-4})
    assert ex.times == {"direct": 4e-3, "F.conv2d": 2e-4}
    assert (ex.progress_bar.value, ex.progress_bar.max, ex.progress_label.value) == (2, 2, "done")
    assert "4.000 ms" in ex.table_view.value
    ex.set(height=16, times={"FFT": 1e-3})  # times given with the layer are the new layer's
    assert ex.layer.height == 16 and ex.times == {"FFT": 1e-3}
    ex.dtype_toggle.value = "bfloat16"  # another number format: the times are dropped
    assert ex.times is None
    ex.set(times={"FFT": None, "direct": np.float32(1e-3)})  # the FFT has no bfloat16
    assert ex.times == {"FFT": None, "direct": pytest.approx(1e-3)}
    ex.set(times=None)
    assert ex.times is None and ex.progress_bar.value == 0


def test_measure_times_the_algorithms_for_real():
    ex = explorer().set(in_channels=4, out_channels=4, height=8, width=8)
    times = ex.measure()
    assert set(times) == ALL
    assert all(0 < t < 1 for t in times.values())
    assert ex.times == times and ex.progress_label.value == "done"


def test_a_layer_too_large_to_measure_is_refused_from_code_and_from_the_button():
    ex = explorer().set(batch=64, height=128, width=128, in_channels=256, out_channels=256)
    before, png, shown = ex.state, ex.png, controls(ex)
    with pytest.raises(ValueError, match="the layer is too large to measure here"):
        ex.measure()
    assert ex.error is None
    ex.measure_button.click()
    assert ex.error.startswith("the layer is too large to measure here")
    assert "convbook-error" in ex.message.value and "showing the last good" in ex.message.value
    assert "could not" not in ex.error and not ex.measure_button.disabled
    assert ex.state is before and ex.png == png and controls(ex) == shown


def test_a_failing_measurement_shows_an_error_resets_the_progress_and_the_next_recovers(
        monkeypatch):
    ex = explorer().set(in_channels=2, out_channels=2, height=6, width=6)

    def broken(layer, names=None, *, progress, **kwargs):
        progress(0, 5, "direct")
        progress(1, 5, "im2col")
        raise RuntimeError("out of memory")

    real = roofline_explorer.time_algorithms
    monkeypatch.setattr(roofline_explorer, "time_algorithms", broken)
    before, png = ex.state, ex.png
    ex.measure_button.click()
    assert ex.error == "could not update: RuntimeError: out of memory"
    assert not ex.measure_button.disabled and ex.state is before and ex.png == png
    assert ex.progress_bar.value == 0 and ex.progress_label.value == ""  # back to the state
    monkeypatch.setattr(roofline_explorer, "time_algorithms", real)
    ex.measure_button.click()
    assert ex.error is None and set(ex.times) == ALL and ex.progress_label.value == "done"


def test_an_interrupted_measurement_changes_nothing(monkeypatch):
    ex = explorer().set(in_channels=2, out_channels=2, height=6, width=6)

    def interrupted(layer, names=None, *, progress, **kwargs):
        progress(0, 5, "direct")
        raise KeyboardInterrupt  # the reader stops the kernel

    monkeypatch.setattr(roofline_explorer, "time_algorithms", interrupted)
    before, png = ex.state, ex.png
    with pytest.raises(KeyboardInterrupt):
        ex.measure_button.click()
    assert not ex.measure_button.disabled and ex.state is before and ex.png == png
    assert ex.progress_bar.value == 0 and ex.progress_label.value == ""
    with pytest.raises(KeyboardInterrupt):
        ex.measure()  # from code the same
    assert ex.state is before and ex.progress_label.value == ""


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(peaks=1e11), TypeError, "peaks must be a dict"),
    (dict(peaks={}), TypeError, "peaks must be a dict"),
    (dict(peaks={"float16": 1e11}), ValueError, "peaks must be one of 'float32', 'bfloat16'"),
    (dict(peaks={"float32": -1.0}), ValueError, "peaks must be a finite number > 0"),
    (dict(bandwidth=0), ValueError, "bandwidth must be a finite number > 0"),
    (dict(bandwidth="fast"), TypeError, "bandwidth must be a number"),
    (dict(layer=(64, 64, 3)), TypeError, "layer must be a ConvLayer"),
    (dict(layer=ConvLayer(512, 8, 3, 8, 8)), ValueError,
     r"in_channels must be in 1\.\.256 in the explorer, got 512"),
    (dict(peaks={"float32": 1e11}, dtype="bfloat16"), ValueError,
     "dtype must be one of 'float32', got 'bfloat16'"),
    (dict(min_run_time=0), ValueError, r"min_run_time must be in \(0, 10\)"),
    (dict(min_run_time=float("nan")), ValueError, "min_run_time must be a finite number"),
])
def test_bad_constructor_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        explorer(**kwargs)


def test_still_mimebundle_and_css_classes():
    ex = explorer()
    picture = Image.open(io.BytesIO(ex.png))
    assert picture.format == "PNG" and picture.size == (468, 324)
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == repr(ex)
    assert base64.b64decode(bundle["image/png"]) == ex.png == ex.plot_view.value
    first = ex.png
    ex.set(kernel_size=7, padding=3)  # the still follows the state
    assert base64.b64decode(ex._repr_mimebundle_()["image/png"]) == ex.png != first
    assert isinstance(ex, widgets.VBox) and "convbook-roofline-explorer" in ex._dom_classes
    assert ex.children[-1] is ex.message
    for view, name in ((ex.plot_view, "convbook-drawing"), (ex.table_view, "convbook-output"),
                       (ex.measure_button, "convbook-measure"),
                       (ex.progress_bar, "convbook-progress"), (ex.message, "convbook-message")):
        assert name in view._dom_classes
