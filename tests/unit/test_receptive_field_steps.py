"""next_field and field_size (convbook.receptive_field) against fields measured with autograd
on real torch layers: the input pixels whose gradient is non-zero."""

from __future__ import annotations

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convbook.receptive_field import field_size, next_field

layers_strategy = st.lists(
    st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3)),
    min_size=1, max_size=5,
)


def _measure(layers):
    """(r, j, P) of the output units of a chain of 1D convolutions with all-ones kernels,
    read off the gradient footprints of two neighbouring units well inside the input."""
    # Units m and m + 1 with m past all the padding (P <= sum(p) * j), on an input long
    # enough for both whole fields; both bounds avoid the formulas under test.
    m = 1 + sum(p for _, _, p, _ in layers)
    units = (m, m + 1)
    J = math.prod(s for _, s, _, _ in layers)
    n = J * (units[1] + 2 + sum(d * (k - 1) + 2 * p for k, _, p, d in layers))
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, p, d in layers:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p, dilation=d)
    starts, sizes = [], []
    for unit in units:
        (grad,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        seen = grad[0, 0].nonzero().flatten()
        starts.append(int(seen.min()))
        sizes.append(int(seen.max() - seen.min() + 1))
    j = starts[1] - starts[0]
    return sizes[1], j, units[1] * j - starts[1]


@settings(max_examples=60, deadline=None)
@given(layers_strategy)
def test_next_field_chain_matches_the_measurement(layers):
    r, j, P = 1, 1, 0  # the input pixels themselves
    for k, s, p, d in layers:
        r, j, P = next_field(r, j, P, k, s, p, d)
    assert (r, j, P) == _measure(layers)


@settings(max_examples=60, deadline=None)
@given(layers_strategy)
def test_field_size_is_the_measured_field(layers):
    kernels, strides, _, dilations = zip(*layers)
    assert field_size(kernels, strides, dilations) == _measure(layers)[0]


def test_hand_worked_values():
    # conv 5, pool 2/2, conv 3, pool 2/2, conv 3: 1 + 4 + 1 + 2*2 + 1*2 + 2*4 = 20
    assert field_size([5, 2, 3, 2, 3], [1, 2, 1, 2, 1]) == 20
    assert field_size([3, 3, 3], [1, 1, 1], [1, 2, 4]) == 15
    step = functools.partial(next_field, kernel_size=7, stride=2, padding=3)
    assert step(1, 1, 0) == (7, 2, 3)
    assert next_field(7, 2, 3, 3, 2, 1) == (11, 4, 5)  # ResNet's stem


def test_errors():
    with pytest.raises(ValueError, match="same length, got 2, 1 and 2"):
        field_size([3, 3], [1])
    with pytest.raises(ValueError, match="strides must be >= 1, got 0"):
        field_size([3], [0])
    with pytest.raises(TypeError, match="kernel_sizes must be an int"):
        field_size([3.5], [1])
