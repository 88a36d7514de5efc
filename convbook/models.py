"""Three CIFAR-10 classifiers, from the classic tutorial network to a fast modern one.

* :class:`TutorialNet`: the network of PyTorch's "Training a Classifier" tutorial.
* :class:`WideDropoutNet`: the wider two-convolution network with dropout that many
  follow-up tutorials use.
* :class:`FastNet`: small 3×3 convolution blocks with batch norm and GELU, in the spirit of
  Keller Jordan's airbench; it trains to about 85% in a few CPU minutes.

All take ``(N, 3, 32, 32)`` normalised float images and return ``(N, 10)`` logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from convbook._args import check_positive_int


class TutorialNet(nn.Module):
    """conv 3→6 (5×5), pool, conv 6→16 (5×5), pool, 400→120→84→10, ReLU throughout.

    Shapes for a 32×32 input: 5×5 convolutions without padding take 32→28, the 2×2 pool
    →14, the second convolution →10, the pool →5, so the flattened features number
    16·5·5 = 400.  (The 576 = 16·6·6 sometimes quoted comes from the "Neural Networks"
    tutorial's LeNet with 3×3 kernels: 32→30→15→13→6.)
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, 3, 32, 32)`` → ``(N, num_classes)`` logits."""
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class WideDropoutNet(nn.Module):
    """Two wider 3×3 convolutions with ReLU, 2×2 max pool and dropout 0.25 each, then
    4608→2048→1024→10 with dropout 0.5.

    Shapes for a 32×32 input (3×3 kernels, no padding): 32→30, pool →15, 15→13, pool →6,
    so the flattened features number 128·6·6 = 4608.  With padding 1 they would be
    128·8·8 = 8192 instead.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(32, 128, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 6 * 6, 2048), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(2048, 1024), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(1024, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, 3, 32, 32)`` → ``(N, num_classes)`` logits."""
        return self.classifier(self.features(x))


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """3×3 convolution (padding 1, no bias: batch norm supplies it), batch norm, GELU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()
    )


class FastBlock(nn.Module):
    """conv → 2×2 max pool → BN → GELU → conv → BN → GELU; halves H and W.

    Pooling right after the first convolution makes the rest of the block 4× cheaper.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = nn.BatchNorm2d(c_out)
        self.conv2 = conv_bn(c_out, c_out)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, c_in, H, W)`` → ``(N, c_out, H/2, W/2)``."""
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.conv2(x)


class FastNet(nn.Module):
    """A small, fast CIFAR-10 network: a 3×3 stem, one :class:`FastBlock` per width, a global
    max pool and a linear layer whose output is scaled down (as in airbench) to keep the
    initial logits small.

    Args:
        widths: channels of each block; three blocks take 32×32 down to 4×4.
        stem: channels of the first convolution.
        num_classes: size of the output.
    """

    def __init__(
        self, widths: Sequence[int] = (32, 64, 128), stem: int = 24, num_classes: int = 10,
        scale: float = 1 / 9,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one block, got an empty sequence")
        for i, w in enumerate(widths):
            check_positive_int(w, f"widths[{i}]")
        check_positive_int(stem, "stem")
        self.stem = conv_bn(3, stem)
        chans = [stem, *widths]
        self.blocks = nn.Sequential(*(FastBlock(a, b) for a, b in pairwise(chans)))
        self.head = nn.Linear(widths[-1], num_classes, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, 3, H, W)`` → ``(N, num_classes)`` logits."""
        x = self.blocks(self.stem(x))
        x = torch.amax(x, dim=(2, 3))
        return self.head(x) * self.scale


MODELS = {"tutorial": TutorialNet, "wide": WideDropoutNet, "fast": FastNet}


def build(name: str, **kwargs: object) -> nn.Module:
    """A fresh model by its short name: ``"tutorial"``, ``"wide"`` or ``"fast"``."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name](**kwargs)  # type: ignore[arg-type]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
