"""Chapter 08 self-checks: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

import torch

from convbook.check import ch08
from convbook.models import TutorialNet


def test_tutorial_flatten_size():
    # independent: run the real layers on a 28×28 input and count the features
    net = TutorialNet()
    x = net.pool(net.conv2(net.pool(net.conv1(torch.zeros(1, 3, 28, 28)))))
    assert ch08.tutorial_flatten_size(x.numel())
    for wrong in (None, 400, 576, 16 * 5 * 5):
        result = ch08.tutorial_flatten_size(wrong)
        assert not result and "H_out" in result.message


def test_conv_parameters():
    right = sum(p.numel() for p in torch.nn.Conv2d(3, 32, 3).parameters())
    assert ch08.conv_parameters(right)
    for wrong in (None, 864, 32 * 9):
        assert not ch08.conv_parameters(wrong)


def test_optimizer_steps():
    from convbook import loader

    images = torch.zeros(50_000, 1, 1, 1, dtype=torch.uint8)
    labels = torch.zeros(50_000, dtype=torch.long)
    tl = loader.TrainLoader(images, labels, 1000, torch.zeros(1), torch.ones(1))
    assert ch08.optimizer_steps(4 * len(tl))  # the loader counts the batches itself
    for wrong in (None, 50, 4, 200_000, 0.2):
        result = ch08.optimizer_steps(wrong)
        assert not result and "batch size" in result.message


def test_fastnet_final_size():
    from convbook.models import FastNet

    net = FastNet(widths=(4, 4, 4))
    x = net.blocks(net.act(net.whiten(torch.zeros(1, 3, 32, 32))))
    assert ch08.fastnet_final_size(x.shape[-1])
    for wrong in (None, 4, 2, 1, 32):
        result = ch08.fastnet_final_size(wrong)
        assert not result and "rounding down" in result.message
