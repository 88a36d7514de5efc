"""convbook.models: shapes, sizes and parameter counts, worked out by hand."""

from __future__ import annotations

import pytest
import torch

from convbook import models
from convbook.shapes import conv_out_size


def test_tutorial_net_flatten_size_is_400_not_576():
    # 32 → conv 5 → pool 2 → conv 5 → pool 2, by the output-size formula
    h = 32
    for k, s in ((5, 1), (2, 2), (5, 1), (2, 2)):
        h = conv_out_size(h, k, stride=s)
    assert 16 * h * h == 400
    # 576 = 16·6·6 is the 3×3-kernel LeNet of the "Neural Networks" tutorial
    h = 32
    for k, s in ((3, 1), (2, 2), (3, 1), (2, 2)):
        h = conv_out_size(h, k, stride=s)
    assert 16 * h * h == 576
    assert models.TutorialNet().fc1.in_features == 400


def test_wide_net_flatten_size_is_4608():
    h = 32
    for k, s in ((3, 1), (2, 2), (3, 1), (2, 2)):
        h = conv_out_size(h, k, stride=s)
    assert 128 * h * h == 4608
    h = 32  # with padding 1 the convolutions keep the size: 8192 features instead
    for k, s, p in ((3, 1, 1), (2, 2, 0), (3, 1, 1), (2, 2, 0)):
        h = conv_out_size(h, k, stride=s, padding=p)
    assert 128 * h * h == 8192
    assert models.WideDropoutNet().classifier[1].in_features == 4608


def test_parameter_counts_by_hand():
    tutorial = (3 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) \
        + (84 * 10 + 10)
    assert models.count_parameters(models.TutorialNet()) == tutorial == 62006
    wide = (3 * 32 * 9 + 32) + (32 * 128 * 9 + 128) + (4608 * 2048 + 2048) \
        + (2048 * 1024 + 1024) + (1024 * 10 + 10)
    assert models.count_parameters(models.WideDropoutNet()) == wide


@pytest.mark.parametrize("name", ["tutorial", "wide", "fast"])
def test_output_shape_and_gradients(name):
    torch.manual_seed(0)
    net = models.build(name)
    x = torch.randn(4, 3, 32, 32)
    y = net(x)
    assert y.shape == (4, 10)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_fast_net_width_and_depth():
    net = models.FastNet(widths=(8, 16), stem=4)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 4), (4, 8), (8, 8),
                                                                 (8, 16), (16, 16)]
    assert all(c.kernel_size == (3, 3) and c.bias is None for c in convs)
    assert models.FastNet(widths=(64, 128, 256)).head.in_features == 256


def test_errors():
    with pytest.raises(ValueError, match=r"model must be one of \['fast', 'tutorial', 'wide'\]"):
        models.build("resnet")
    with pytest.raises(ValueError, match="widths must name at least one block"):
        models.FastNet(widths=())
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        models.FastNet(widths=(8, 0))
