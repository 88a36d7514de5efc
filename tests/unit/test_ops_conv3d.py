"""convbook.ops.conv3d against torch.nn.functional.conv3d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from against_torch import assert_same_gradients, assert_same_output, random_inputs
from hypothesis import assume, given
from hypothesis import strategies as st

from convbook.ops import conv3d


def ints_or_triples(lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(*[st.integers(lo, hi)] * 3))


def _three(value):
    return (value,) * 3 if isinstance(value, int) else value


@st.composite
def cases(draw):
    groups = draw(st.integers(1, 2))
    return dict(
        n=draw(st.integers(1, 2)),
        unbatched=draw(st.booleans()),
        c_in=groups * draw(st.integers(1, 2)),
        c_out=groups * draw(st.integers(1, 2)),
        size=tuple(draw(st.integers(1, 6)) for _ in range(3)),
        k=tuple(draw(st.integers(1, 3)) for _ in range(3)),
        stride=draw(ints_or_triples(1, 4)),
        padding=draw(ints_or_triples(0, 2)),
        dilation=draw(ints_or_triples(1, 2)),
        groups=groups,
        bias=draw(st.booleans()),
    )


def _fits(case):
    p, d = _three(case["padding"]), _three(case["dilation"])
    return all(d[i] * (case["k"][i] - 1) + 1 <= case["size"][i] + 2 * p[i] for i in range(3))


def _make(case, requires_grad=False):
    batch = () if case["unbatched"] else (case["n"],)
    x, weight, bias = random_inputs(
        (*batch, case["c_in"], *case["size"]),
        (case["c_out"], case["c_in"] // case["groups"], *case["k"]),
        case["c_out"] if case["bias"] else None,
        dtype=torch.float64, seed=sum(case["size"]), requires_grad=requires_grad,
    )
    args = dict(
        stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
        groups=case["groups"],
    )
    return x, weight, bias, args


@given(cases())
def test_conv3d_matches_torch(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case)
    assert_same_output(conv3d, F.conv3d, (x, weight, bias), args)


@given(cases())
def test_conv3d_gradients_match_torch(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case, requires_grad=True)
    assert_same_gradients(conv3d, F.conv3d, (x, weight, bias), args)


def test_float32_clip_and_one_voxel():
    x, weight = torch.randn(2, 3, 4, 9, 9), torch.randn(5, 3, 3, 3, 3)
    torch.testing.assert_close(
        conv3d(x, weight, stride=(1, 2, 2), padding=1),
        F.conv3d(x, weight, stride=(1, 2, 2), padding=1), rtol=1e-4, atol=1e-4,
    )
    x, weight = torch.randn(1, 1, 1, 1, 1), torch.randn(2, 1, 1, 1, 1)
    torch.testing.assert_close(conv3d(x, weight, stride=5), F.conv3d(x, weight, stride=5))


def _dense_strides(t):
    return tuple(s for s, n in zip(t.stride(), t.shape) if n > 1)


@given(cases(), st.sampled_from(["contiguous", "channels_last_3d", "transposed"]),
       st.booleans())
def test_conv3d_returns_the_memory_layout_torch_returns(case, x_layout, weight_cl):
    assume(_fits(case))
    cl = x_layout == "channels_last_3d" or weight_cl
    if cl:
        # torch keeps channels-last-3d only on its oneDNN path (float32 and, for small
        # kernels, a batch of more than one); its fallback returns NCDHW whatever the input.
        # And torch 2.14's oneDNN kernel crashes on grouped channels-last-3d: groups == 1;
        # it also crashes (a segmentation fault, found by this test) on channels-last-3d
        # input whose kernel is 1 wide in a dimension dilated by more than 1, e.g. x of
        # shape (2, 2, 1, 2, 1), a 1×1×1 kernel with bias, stride (1, 1, 2), padding
        # (0, 0, 1), dilation (1, 1, 2).  Dilating a 1-wide kernel changes nothing: 1 there.
        dilation = tuple(1 if k == 1 else d
                         for k, d in zip(case["k"], _three(case["dilation"])))
        case = {**case, "groups": 1, "c_in": case["c_in"] // case["groups"],
                "c_out": case["c_out"] // case["groups"], "n": 2, "unbatched": False,
                "dilation": dilation}
    x, weight, bias, args = _make(case)
    if cl:
        x, weight = x.float(), weight.float()
        bias = None if bias is None else bias.float()
    if x_layout == "channels_last_3d":
        x = x.contiguous(memory_format=torch.channels_last_3d)
    elif x_layout == "transposed":
        x = x.transpose(-1, -3).contiguous().transpose(-1, -3)
    if weight_cl:
        weight = weight.contiguous(memory_format=torch.channels_last_3d)
    # With one thread, torch also skips oneDNN for 1x1 kernels at stride 1 (its fallback is
    # faster there single-threaded) and returns NCDHW: the reference runs on two threads, so
    # that the test does not depend on how many threads the machine (or xdist) gives it.
    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, threads))
    try:
        expected = F.conv3d(x, weight, bias, **args)
    finally:
        torch.set_num_threads(threads)
    got = conv3d(x, weight, bias, **args)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert _dense_strides(got) == _dense_strides(expected)
    assert got.is_contiguous() == expected.is_contiguous()


def test_conv3d_output_of_contiguous_input_views_flat():
    out = conv3d(torch.randn(2, 3, 4, 5, 6), torch.randn(4, 3, 2, 2, 2), torch.randn(4))
    assert out.view(2, -1).shape == (2, 4 * 3 * 4 * 5)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv3d_empty_batch_like_torch(groups):
    x = torch.randn(0, 4, 3, 5, 5, requires_grad=True)
    weight = torch.randn(6, 4 // groups, 2, 3, 3, requires_grad=True)
    expected = F.conv3d(x, weight, groups=groups, padding=1)
    got = conv3d(x, weight, groups=groups, padding=1)
    assert got.shape == expected.shape
    got.sum().backward()
    assert torch.equal(weight.grad, torch.zeros_like(weight))
