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
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_fast_net_width_and_depth():
    net = models.FastNet(widths=(8, 16))
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    # whitening 2×2 with 2·3·2² = 24 filters, then two 3×3 convolutions per block
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 24), (24, 8), (8, 8),
                                                                 (8, 16), (16, 16)]
    assert convs[0].kernel_size == (2, 2) and not convs[0].weight.requires_grad
    assert all(c.kernel_size == (3, 3) and c.bias is None for c in convs[1:])
    assert models.FastNet(widths=(64, 128, 256)).head.in_features == 256
    # 32 → 31 (2×2 whitening, no padding) → 15 → 7 → 3, then the global max pool
    deep = models.FastNet(widths=(8, 8, 8))
    x = deep.act(deep.whiten(torch.randn(1, 3, 32, 32)))
    sizes = [x.shape[-1]]
    for block in deep.blocks:
        x = block(x)
        sizes.append(x.shape[-1])
    assert sizes == [31, 15, 7, 3]


def test_batch_norm_has_a_fixed_scale_and_fast_statistics():
    bn = models.FastNet(widths=(8,)).blocks[0].norm1
    assert not bn.weight.requires_grad and bn.bias.requires_grad
    x = torch.randn(64, 8, 4, 4) * 3 + 5
    bn.train()(x)
    # running mean after one batch: 0.6 · 0 + 0.4 · batch mean
    torch.testing.assert_close(bn.running_mean, 0.4 * x.mean(dim=(0, 2, 3)))


def test_first_convolutions_start_as_identity_on_their_input_channels():
    block = models.FastNet(widths=(8, 16)).blocks[1]
    x = torch.randn(2, 8, 5, 5)
    y = block.conv1(x)
    torch.testing.assert_close(y[:, :8], x)  # Dirac filters pass channels 0..7 through


def test_whitening_decorrelates_the_patches():
    g = torch.Generator().manual_seed(0)
    # correlated colour channels, like real photos
    base = torch.randn(200, 1, 12, 12, generator=g)
    images = torch.cat([base, 0.8 * base + 0.2 * torch.randn(200, 1, 12, 12, generator=g),
                        -base + 0.1 * torch.randn(200, 1, 12, 12, generator=g)], dim=1)
    net = models.FastNet(widths=(8,))
    net.init_whitening(images, eps=0.0)
    out = torch.nn.functional.conv2d(images, net.whiten.weight)  # (N, 24, 11, 11)
    first = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    cov = first.T @ first / len(first)
    torch.testing.assert_close(cov, torch.eye(12), atol=1e-3, rtol=0)
    torch.testing.assert_close(out[:, 12:], -out[:, :12])
    with pytest.raises(ValueError, match="images must have 3 channels, got 1"):
        net.init_whitening(images[:, :1])


def test_errors():
    with pytest.raises(ValueError, match=r"name must be one of 'fast', 'tutorial', 'wide', got"):
        models.build("resnet")
    with pytest.raises(ValueError, match="widths must name at least one block"):
        models.FastNet(widths=())
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        models.FastNet(widths=(8, 0))
