"""Chapter 10's algorithms (direct, FFT, Winograd F(2x2, 3x3)) against F.conv2d: values and
gradients on random configurations, the awkward corners, and each algorithm's own rules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from against_torch import (
    assert_same_gradients,
    assert_same_output,
    conv_cases,
    conv_tolerance,
    fits_conv2d,
    make_conv2d,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from convbook.ops import conv2d_direct, conv2d_fft, conv2d_winograd
from convbook.ops import winograd as wg

GENERAL = {"direct": conv2d_direct, "fft": conv2d_fft}
# Gradients come from autograd through torch's own ops: a third of the profile's examples
# (50 in CI, 666 with HYPOTHESIS_PROFILE=thorough) keeps CI's budget for the value tests.
GRADIENT_EXAMPLES = settings(max_examples=max(10, settings.default.max_examples // 3))
each_general = pytest.mark.parametrize("op", GENERAL.values(), ids=GENERAL.keys())


@each_general
@given(case=conv_cases())
def test_matches_torch(op, case):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d(case)
    assert_same_output(op, F.conv2d, (x, weight, bias), args, **conv_tolerance(case["dtype"]))


@each_general
@GRADIENT_EXAMPLES
@given(case=conv_cases())
def test_gradients_match_torch(op, case):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d({**case, "dtype": torch.float64}, requires_grad=True)
    assert_same_gradients(op, F.conv2d, (x, weight, bias), args, rtol=1e-9, atol=1e-9)


@st.composite
def winograd_cases(draw):
    """Random arguments that F(2x2, 3x3) takes: 3x3 kernels, stride 1, no dilation; odd
    and even output sizes, 1-pixel images (with padding), groups, asymmetric padding."""
    groups = draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                             st.sampled_from(["valid", "same"])))
    ph, pw = {"valid": (0, 0), "same": (1, 1)}.get(padding, padding) \
        if not isinstance(padding, int) else (padding, padding)
    h = draw(st.integers(max(1, 3 - 2 * ph), 11))
    w = draw(st.integers(max(1, 3 - 2 * pw), 11))
    return dict(n=draw(st.integers(0, 3)), unbatched=draw(st.booleans()),
                c_in=groups * draw(st.integers(1, 3)), c_out=groups * draw(st.integers(1, 3)),
                h=h, w=w, kh=3, kw=3, stride=1, padding=padding, dilation=1, groups=groups,
                bias=draw(st.booleans()),
                dtype=draw(st.sampled_from([torch.float32, torch.float64])))


@given(winograd_cases())
def test_winograd_matches_torch(case):
    x, weight, bias, args = make_conv2d(case)
    assert_same_output(conv2d_winograd, F.conv2d, (x, weight, bias), args,
                       **conv_tolerance(case["dtype"]))


@GRADIENT_EXAMPLES
@given(winograd_cases())
def test_winograd_gradients_match_torch(case):
    case = {**case, "dtype": torch.float64, "n": max(case["n"], 1)}
    x, weight, bias, args = make_conv2d(case, requires_grad=True)
    assert_same_gradients(conv2d_winograd, F.conv2d, (x, weight, bias), args,
                          rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("op", [conv2d_direct, conv2d_fft, conv2d_winograd],
                         ids=["direct", "fft", "winograd"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_channels_last_and_empty_batches(op, channels_last):
    for n in (0, 2):
        x, weight = torch.randn(n, 4, 7, 6), torch.randn(6, 2, 3, 3)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        args = dict(padding=1, groups=2)
        torch.testing.assert_close(op(x, weight, **args), F.conv2d(x, weight, **args))


def test_large_kernels_and_large_strides_by_fft():
    x, weight = torch.randn(1, 2, 40, 33, dtype=torch.float64), torch.randn(3, 2, 31, 17,
                                                                            dtype=torch.float64)
    for args in (dict(padding=15), dict(stride=(7, 40), padding=(0, 8)), dict(dilation=(1, 2))):
        torch.testing.assert_close(conv2d_fft(x, weight, **args), F.conv2d(x, weight, **args))


@pytest.mark.parametrize("op", [conv2d_direct, conv2d_fft, conv2d_winograd],
                         ids=["direct", "fft", "winograd"])
def test_bfloat16_where_the_algorithm_takes_it(op):
    x, weight = torch.randn(1, 4, 8, 8), torch.randn(4, 4, 3, 3)
    if op is conv2d_fft:
        with pytest.raises(TypeError, match=r"input must be float32 or float64 for the FFT "
                                            r"method \(torch\.fft\), got torch\.bfloat16"):
            op(x.bfloat16(), weight.bfloat16())
        return
    got = op(x.bfloat16(), weight.bfloat16(), padding=1)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), F.conv2d(x, weight, padding=1), rtol=0.05, atol=0.2)


@pytest.mark.parametrize("op", [conv2d_direct, conv2d_winograd], ids=["direct", "winograd"])
def test_integer_inputs_are_refused(op):
    with pytest.raises(TypeError, match=r"input must be a floating-point tensor, got torch\.int64"):
        op(torch.ones(1, 1, 4, 4, dtype=torch.long), torch.ones(1, 1, 3, 3, dtype=torch.long))


# --------------------------------------------------------------------------- Winograd's rules


@pytest.mark.parametrize("weight_shape, kwargs, message", [
    ((2, 2, 5, 5), {}, r"weight must have 3x3 kernels for Winograd F\(2x2, 3x3\), got \(5, 5\)"),
    ((2, 2, 3, 1), {}, r"weight must have 3x3 kernels for Winograd F\(2x2, 3x3\), got \(3, 1\)"),
    ((2, 2, 3, 3), dict(stride=2), r"stride must be 1 for Winograd F\(2x2, 3x3\), got \(2, 2\)"),
    ((2, 2, 3, 3), dict(stride=(1, 3)), r"stride must be 1 for Winograd F\(2x2, 3x3\), got"),
    ((2, 2, 3, 3), dict(dilation=2), r"dilation must be 1 for Winograd F\(2x2, 3x3\), got"),
])
def test_winograd_names_the_argument_and_its_rule(weight_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d_winograd(torch.randn(1, 2, 9, 9), torch.randn(weight_shape), **kwargs)


def test_winograd_shares_conv2d_checks():
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        conv2d_winograd(torch.randn(1, 2, 9, 9), torch.randn(2, 2, 3, 3), stride=0)
    with pytest.raises(TypeError, match=r"input \(torch\.float32\) and weight \(torch\.float64\)"):
        conv2d_winograd(torch.randn(1, 2, 9, 9), torch.randn(2, 2, 3, 3, dtype=torch.float64))


def test_winograd_does_not_call_torch_convolution(monkeypatch):
    x, weight = torch.randn(1, 4, 6, 6), torch.randn(2, 4, 3, 3)
    expected = F.conv2d(x, weight, padding=1)

    def forbidden(*args, **kwargs):
        raise AssertionError("conv2d_winograd must not call torch's convolution")

    for name in ("conv1d", "conv2d", "conv3d", "convolution"):
        monkeypatch.setattr(F, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    torch.testing.assert_close(conv2d_winograd(x, weight, padding=1), expected)


@given(st.integers(1, 4), st.integers(0, 5))
def test_winograd_transforms_are_the_papers_matrices(n, seed):
    g = torch.Generator().manual_seed(seed)
    d, k = torch.randn(n, 4, 4, generator=g), torch.randn(n, 3, 3, generator=g)
    B_T, G, A_T = wg.INPUT_TRANSFORM, wg.KERNEL_TRANSFORM, wg.OUTPUT_TRANSFORM
    torch.testing.assert_close(wg.transform_input(d), B_T @ d @ B_T.T)
    torch.testing.assert_close(wg.transform_kernel(k), G @ k @ G.T)
    torch.testing.assert_close(wg.transform_output(d), A_T @ d @ A_T.T)


def test_one_dimensional_f23_is_two_outputs_of_a_correlation():
    # y = Aᵀ[(G g) ⊙ (Bᵀ d)]: worked by hand, d = (1, 2, 3, 4), g = (1, 0, -1):
    # y0 = 1 - 3 = -2, y1 = 2 - 4 = -2.
    d, g = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([1.0, 0.0, -1.0])
    y = wg.OUTPUT_TRANSFORM @ ((wg.KERNEL_TRANSFORM @ g) * (wg.INPUT_TRANSFORM @ d))
    assert y.tolist() == [-2.0, -2.0]


@pytest.mark.parametrize("size, ratio", [(16, 16 / 36), (8, 16 / 36), (7, 16 * 16 / (9 * 49))])
def test_winograd_multiplies_16_times_per_tile_where_the_direct_method_does_36(size, ratio):
    # H_out = W_out = size: 2x2 tiles cover an even size exactly; an odd one gets an extra,
    # half-used row and column of tiles ((size + 1) / 2 tiles per axis).
    x, weight = torch.randn(2, 8, size, size), torch.randn(4, 8, 3, 3)
    with FlopCounterMode(display=False) as ours:
        conv2d_winograd(x, weight, padding=1)
    with FlopCounterMode(display=False) as theirs:
        F.conv2d(x, weight, padding=1)
    assert ours.get_total_flops() / theirs.get_total_flops() == pytest.approx(ratio)
