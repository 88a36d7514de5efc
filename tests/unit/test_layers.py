"""convbook.layers.Conv2D: corr2d plus a bias, with learnable parameters."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convbook.layers import Conv2D


def test_parameters_and_shapes():
    layer = Conv2D((2, 3))
    assert dict(layer.named_parameters()).keys() == {"weight", "bias"}
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (1,)
    assert torch.equal(layer.bias.detach(), torch.zeros(1))
    assert Conv2D(4).weight.shape == (4, 4)


def test_forward_matches_torch_and_gradients_flow():
    torch.manual_seed(0)
    layer = Conv2D((3, 2))
    with torch.no_grad():
        layer.bias.fill_(0.5)
    X = torch.rand(5, 6)
    Y = layer(X)
    expected = F.conv2d(X[None, None], layer.weight.detach()[None, None], bias=torch.tensor([0.5]))
    torch.testing.assert_close(Y, expected[0, 0])
    Y.sum().backward()
    # d(sum Y)/d bias = number of outputs; d/d weight[a, b] = sum of the inputs it meets.
    assert layer.bias.grad.item() == (5 - 3 + 1) * (6 - 2 + 1)
    torch.testing.assert_close(layer.weight.grad[0, 0], X[:3, :5].sum())


def test_bad_kernel_size():
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        Conv2D(0)
