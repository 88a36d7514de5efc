"""convbook.roofline: a layer's counts against real layers, the model's formulas, the
measurements' arithmetic (on a scripted clock), and the algorithms it times."""

from __future__ import annotations

import dataclasses
import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convbook import roofline
from convbook.models import FastNet
from convbook.roofline import ConvLayer

matplotlib.use("Agg")


@st.composite
def layers(draw):
    g = draw(st.integers(1, 3))
    k = draw(st.integers(1, 5))
    padding = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k - 2 * padding), 12))
    w = draw(st.integers(max(1, k - 2 * padding), 12))
    return ConvLayer(g * draw(st.integers(1, 4)), g * draw(st.integers(1, 4)), k, h, w,
                     draw(st.integers(1, 3)), padding, g, draw(st.integers(1, 3)))


def _real(layer: ConvLayer) -> tuple[nn.Conv2d, torch.Tensor]:
    conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                     layer.padding, groups=layer.groups, bias=False)
    return conv, torch.zeros(layer.batch, layer.in_channels, layer.height, layer.width)


@given(layers())
def test_counts_are_those_of_the_real_layer(layer):
    conv, x = _real(layer)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = conv(x)
    assert layer.output_size == tuple(y.shape[2:])
    assert layer.flops == counter.get_total_flops() == 2 * layer.macs
    for dtype, size in (("float32", 4), ("bfloat16", 2)):
        moved = size * (x.numel() + conv.weight.numel() + y.numel())
        assert layer.bytes_moved(dtype) == moved
        assert layer.intensity(dtype) == pytest.approx(layer.flops / moved)


@given(layers(), st.sampled_from(["float32", "bfloat16"]), st.booleans())
def test_tensors_have_the_layers_shapes(layer, dtype, channels_last):
    x, w = layer.tensors(dtype, channels_last=channels_last)
    conv, _ = _real(layer)
    assert x.shape == (layer.batch, layer.in_channels, layer.height, layer.width)
    assert w.shape == conv.weight.shape
    assert x.dtype == w.dtype == roofline.DTYPES[dtype]
    assert x.is_contiguous(memory_format=torch.channels_last) == channels_last or \
        x.shape[1] == 1 or layer.height * layer.width == 1


@pytest.mark.parametrize("changes, error, message", [
    (dict(in_channels=0), ValueError, "in_channels must be >= 1, got 0"),
    (dict(out_channels=2.0), TypeError, "out_channels must be an int"),
    (dict(kernel_size=True), TypeError, "kernel_size must be an int"),
    (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
    (dict(groups=3), ValueError, r"in_channels \(4\) must be divisible by groups \(3\)"),
    (dict(groups=4, out_channels=6), ValueError,
     r"out_channels \(6\) must be divisible by groups \(4\)"),
    (dict(kernel_size=9), ValueError, r"kernel_size\[0\] 9 is larger than the padded input 7"),
    (dict(batch=0), ValueError, "batch must be >= 1, got 0"),
])
def test_a_bad_field_is_named_also_by_replace(changes, error, message):
    layer = ConvLayer(4, 8, 3, 5, 6, padding=1)
    with pytest.raises(error, match=message):
        dataclasses.replace(layer, **changes)
    with pytest.raises(error, match=message):
        ConvLayer(**{**dataclasses.asdict(layer), **changes})


def test_a_layer_reads_as_its_shape():
    assert str(ConvLayer(64, 128, 3, 32, 32, 2, 1, 4, 8)) == "64→128, 3×3/2 on 32×32, groups 4"
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'bfloat16'"):
        ConvLayer(1, 1, 1, 1, 1).intensity("float16")


def test_conv_layers_of_fastnet_are_its_convolutions_in_order():
    torch.manual_seed(0)
    net = FastNet(widths=(8, 16))
    found = roofline.conv_layers(net, (5, 3, 32, 32))
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert [n for n, _ in found] == [n for n, _ in convs]
    # by hand: whitening 3→24 (2×2) on 32×32; a block is conv, pool, conv: 31 → 15
    assert found[0][1] == ConvLayer(3, 24, 2, 32, 32, batch=5)
    assert found[1][1] == ConvLayer(24, 8, 3, 31, 31, padding=1, batch=5)
    assert found[2][1] == ConvLayer(8, 8, 3, 15, 15, padding=1, batch=5)
    assert found[3][1] == ConvLayer(8, 16, 3, 15, 15, padding=1, batch=5)
    assert found[4][1] == ConvLayer(16, 16, 3, 7, 7, padding=1, batch=5)
    assert net.training  # put back as it was


@pytest.mark.parametrize("conv", [nn.Conv2d(2, 2, 3, dilation=2), nn.Conv2d(2, 2, (3, 1)),
                                  nn.Conv2d(2, 2, 3, padding="same"),
                                  nn.Conv2d(2, 2, 3, stride=(1, 2))])
def test_conv_layers_refuses_what_a_conv_layer_cannot_describe(conv):
    with pytest.raises(ValueError, match=r"model's layer '0' has kernel"):
        roofline.conv_layers(nn.Sequential(conv), (1, 2, 9, 9))


@pytest.mark.parametrize("model, shape, error, message", [
    ("net", (1, 3, 8, 8), TypeError, "model must be a torch.nn.Module"),
    (nn.Conv2d(3, 3, 1), (3, 8, 8), ValueError, r"input_shape must be \(N, C, H, W\)"),
    (nn.Conv2d(3, 3, 1), (1, 3, 0, 8), ValueError, r"input_shape\[2\] must be >= 1"),
])
def test_conv_layers_bad_arguments(model, shape, error, message):
    with pytest.raises(error, match=message):
        roofline.conv_layers(model, shape)


# --------------------------------------------------------------------------- the model


@given(st.floats(1e-3, 1e4), st.floats(1e8, 1e13), st.floats(1e8, 1e12))
def test_the_roof_is_the_lower_of_two_lines_meeting_at_the_ridge(intensity, peak, bandwidth):
    roof = roofline.attainable_flops(intensity, peak, bandwidth)
    assert roof == min(peak, bandwidth * intensity)
    ridge = roofline.ridge_point(peak, bandwidth)
    assert roofline.attainable_flops(ridge, peak, bandwidth) == pytest.approx(peak)
    assert (roof < peak) == (intensity < ridge) or math.isclose(intensity, ridge)


@given(layers(), st.floats(1e9, 1e12), st.floats(1e9, 1e11))
def test_the_predicted_time_is_the_slower_of_computing_and_moving(layer, peak, bandwidth):
    seconds = roofline.predicted_seconds(layer, peak, bandwidth)
    expected = max(layer.flops / peak, layer.bytes_moved() / bandwidth)
    assert seconds == pytest.approx(expected)
    assert roofline.achieved_flops(layer, seconds) <= peak * (1 + 1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: roofline.attainable_flops(0, 1e9, 1e9), "intensity must be a finite number > 0"),
    (lambda: roofline.attainable_flops(1, float("inf"), 1e9), "peak must be a finite number"),
    (lambda: roofline.ridge_point(1e9, -1), "bandwidth must be a finite number > 0"),
    (lambda: roofline.predicted_seconds("layer", 1e9, 1e9), "layer must be a ConvLayer"),
    (lambda: roofline.achieved_flops(ConvLayer(1, 1, 1, 1, 1), 0), "seconds must be a finite"),
])
def test_formulas_name_a_bad_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


# --------------------------------------------------------------------------- measurements


@pytest.fixture
def clock(monkeypatch):
    """``roofline.benchmark_time`` replaced: each measured ``fn`` runs once, its result is
    kept in ``runs``, and it "takes" 0.5 seconds."""
    runs = []

    def fake(fn, *, num_threads=None, min_run_time=0.2, statistic="min"):
        runs.append((fn(), num_threads, min_run_time, statistic))
        return 0.5

    monkeypatch.setattr(roofline, "benchmark_time", fake)
    return runs


def test_matmul_peak_counts_two_flops_per_multiply_add(clock):
    assert roofline.matmul_peak("bfloat16", size=64, num_threads=1) == 2 * 64**3 / 0.5
    product, threads, _, statistic = clock[0]
    assert product.shape == (64, 64) and product.dtype == torch.bfloat16 and threads == 1
    assert statistic == "min"  # the fastest block: a peak


def test_copy_bandwidth_counts_each_byte_read_and_written(clock):
    assert roofline.copy_bandwidth(megabytes=4, min_run_time=0.3) == 2 * 4 * 2**20 / 0.5
    copied, _, min_run_time, statistic = clock[0]
    assert copied.numel() * 4 == 4 * 2**20 and bool((copied == 1).all())
    assert min_run_time == 0.3 and statistic == "min"


def test_time_algorithms_runs_each_algorithm_on_the_layer(clock):
    layer = ConvLayer(4, 6, 3, 9, 8, stride=1, padding=1, groups=2, batch=2)
    progress = []
    times = roofline.time_algorithms(layer, progress=lambda *a: progress.append(a))
    assert times == {name: 0.5 for name in roofline.ALGORITHMS}
    x, w = layer.tensors()
    expected = F.conv2d(x, w, padding=1, groups=2)
    for output, _, _, statistic in clock:
        assert statistic == "min"
        torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-4)
    names = list(roofline.ALGORITHMS)
    assert progress == [(i, 5, n) for i, n in enumerate(names)] + [(5, 5, "")]


def test_time_algorithms_skips_what_does_not_apply(clock):
    strided = ConvLayer(4, 4, 3, 9, 9, stride=2)
    assert roofline.time_algorithms(strided, ["Winograd", "direct"]) == {"Winograd": None,
                                                                          "direct": 0.5}
    assert roofline.why_not("Winograd", strided) == \
        "Winograd F(2x2, 3x3) needs a 3x3 kernel and stride 1"
    assert roofline.why_not("FFT", strided, "bfloat16") == \
        "the FFT computes in float32 or float64"
    assert roofline.why_not("FFT", strided) is None
    assert roofline.time_algorithms(strided, ["FFT"], dtype="bfloat16") == {"FFT": None}
    with pytest.raises(ValueError, match="names must be one of 'direct'"):
        roofline.time_algorithms(strided, ["winograd"])
    with pytest.raises(TypeError, match="layer must be a ConvLayer"):
        roofline.time_algorithms((4, 4, 3), ["FFT"])


def test_time_algorithms_really_times():
    layer = ConvLayer(2, 2, 3, 6, 6, padding=1)
    times = roofline.time_algorithms(layer, ["F.conv2d", "Winograd"], min_run_time=0.001)
    assert all(0 < t < 1 for t in times.values())


def test_plot_roofline_draws_both_roofs_and_the_ridge():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    roofline.plot_roofline(ax, peak=100e9, bandwidth=10e9, label="cpu")
    (line,) = ax.get_lines()[:1]
    xs, ys = line.get_data()
    assert list(xs) == [0.1, 10.0, 1000.0]
    assert list(ys) == pytest.approx([1.0, 100.0, 100.0])  # GFLOP/s
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_lines()[1].get_xdata()[0] == 10.0  # the ridge's dotted line
