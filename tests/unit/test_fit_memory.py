"""fit refuses, before anything is allocated, a run whose images cannot fit in the memory: the
estimate (a lower bound) counts every layer's outputs of one image on the meta device."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convbook._args import TooLargeError
from convbook.data import ImageData
from convbook.models import FastNet
from convbook.training import fit as fit_module


def images(n: int, size: int) -> ImageData:
    x = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    y = torch.arange(n) % 2
    return ImageData(x, y, x[:2], y[:2], ("a", "b"))


class TwoLayers(nn.Module):
    """conv 3→4 (3×3, padding 1), then ReLU: 4·H·W + 4·H·W numbers of output per image."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


def test_the_estimate_counts_every_layers_output_and_the_padded_images(monkeypatch):
    data = images(10, 16)
    per_image = 2 * 4 * 16 * 16 * 4  # two outputs of 4×16×16 float32 numbers
    padded = 10 * 3 * (16 + 4) * (16 + 4)  # uint8, padded for shifts of 2 pixels
    needed = padded + 5 * per_image
    monkeypatch.setattr(fit_module, "memory_bytes", lambda device="cpu": needed)
    fit_module.check_memory(TwoLayers(), data, 5, 2, "fp32", torch.device("cpu"))  # just fits
    monkeypatch.setattr(fit_module, "memory_bytes", lambda device="cpu": needed - 1)
    with pytest.raises(TooLargeError, match=r"data: training on 16×16 images needs at least "
                                            r".*5 images a step.*train with a smaller batch"):
        fit_module.check_memory(TwoLayers(), data, 5, 2, "fp32", torch.device("cpu"))


def test_photo_sized_images_ask_for_resizing_and_nothing_is_allocated(monkeypatch):
    monkeypatch.setattr(fit_module, "memory_bytes", lambda device="cpu": 16 * 10**9)
    pixel = torch.zeros(1, 3, 1, 1, dtype=torch.uint8)  # four 6000×4000 photos, as views
    photo = ImageData(pixel.expand(4, 3, 4000, 6000), torch.arange(4) % 2,
                      pixel.expand(2, 3, 4000, 6000), torch.arange(2) % 2, ("a", "b"))
    with pytest.raises(TooLargeError, match=r"4000×6000 images .* resize the images"):
        fit_module.check_memory(FastNet((32, 128, 128)), photo, 4, 2, "bf16",
                                torch.device("cpu"))


def test_fit_refuses_before_training(monkeypatch):
    monkeypatch.setattr(fit_module, "memory_bytes", lambda device="cpu": 1000)
    net = FastNet((4, 8), num_classes=2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(TooLargeError, match="more than the 1e-06 GB of memory here"):
        fit_module.fit(net, images(8, 8), 1, batch_size=4, device="cpu", progress=False)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # untouched
