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
    assert ch08.tutorial_flatten_size(16 * 4 * 4)  # 28 -> 24 -> 12 -> 8 -> 4, by hand
    for wrong in (400, 576, 16 * 5 * 5, 16 * 8 * 8):
        result = ch08.tutorial_flatten_size(wrong)
        assert not result and "H_out" in result.message
    assert "replace None" in ch08.tutorial_flatten_size(None).message


def test_conv_parameters():
    right = sum(p.numel() for p in torch.nn.Conv2d(3, 32, 3).parameters())
    assert ch08.conv_parameters(right)
    assert ch08.conv_parameters(32 * 27 + 32)  # by hand
    for wrong in (None, 864, 32 * 9, True):
        assert not ch08.conv_parameters(wrong)


def test_optimizer_steps():
    from convbook.training import loader

    images = torch.zeros(50_000, 1, 1, 1, dtype=torch.uint8)
    labels = torch.zeros(50_000, dtype=torch.long)
    tl = loader.TrainLoader(images, labels, 1000, torch.zeros(1), torch.ones(1))
    assert ch08.optimizer_steps(3 * len(tl))  # the loader counts the batches itself
    assert "one epoch" in ch08.optimizer_steps(50).message
    for wrong in (3, 150_000, 151):
        result = ch08.optimizer_steps(wrong)
        assert not result and "batch size" in result.message


def test_fastnet_final_size():
    from convbook.models import FastNet

    net = FastNet(widths=(4, 4, 4))
    x = net.blocks(net.act(net.whiten(torch.zeros(1, 3, 32, 32))))
    assert ch08.fastnet_final_size(x.shape[-1])
    assert "forgets the whitening" in ch08.fastnet_final_size(4).message
    for wrong in (2, 1, 32):
        result = ch08.fastnet_final_size(wrong)
        assert not result and "rounding down" in result.message
