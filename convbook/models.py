"""Three CIFAR-10 classifiers, from the classic tutorial network to a fast modern one.

* :class:`TutorialNet`: the network of PyTorch's "Training a Classifier" tutorial.
* :class:`WideDropoutNet`: the wider two-convolution network with dropout that many
  follow-up tutorials use.
* :class:`FastNet`: a whitening layer and small 3×3 convolution blocks with batch norm and
  GELU, after Keller Jordan's airbench; it trains to 85% in two to four CPU minutes.

All take ``(N, 3, 32, 32)`` normalised float images and return ``(N, 10)`` logits.

:func:`pretrained` returns a ``FastNet`` trained by ``convbook train`` that ships with the
package (``convbook/pretrained/``); :func:`pretrained_info` says how it was made and how
well it does, and :func:`pretrained_samples` gives a few CIFAR-10 test images shipped with
it, so that a chapter can look inside a trained network without the data set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from convbook._args import (
    check_choice,
    check_instance,
    check_path,
    check_positive_int,
    check_tensor,
)

if TYPE_CHECKING:  # for the annotations only: no module of convbook.training runs here
    from convbook.training.recipes import Recipe


class TutorialNet(nn.Module):
    """conv 3→6 (5×5), pool, conv 6→16 (5×5), pool, 400→120→84→10, ReLU throughout.

    Shapes for a 32×32 input: 5×5 convolutions without padding take 32→28, the 2×2 pool
    →14, the second convolution →10, the pool →5, so the flattened features number
    16·5·5 = 400.  (The 576 = 16·6·6 sometimes quoted comes from an older revision of the
    "Neural Networks" tutorial, whose LeNet used 3×3 kernels: 32→30→15→13→6; that tutorial
    now uses 5×5 kernels and 400 features too.)
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        check_positive_int(num_classes, "num_classes")
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
        check_positive_int(num_classes, "num_classes")
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


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """Batch norm as airbench uses it: a learned shift but a fixed scale of 1, and running
    statistics that follow the batches quickly (each batch weighs 0.4 in the average)."""
    check_positive_int(channels, "channels")
    norm = nn.BatchNorm2d(channels, eps=1e-12, momentum=0.4)
    norm.weight.requires_grad_(False)
    return norm


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    """3×3 convolution, padding 1, no bias (batch norm supplies it), initialised so that its
    first ``c_in`` filters pass their input channel through unchanged (a Dirac delta) and the
    rest are random: the network starts close to an identity map, which trains faster."""
    check_positive_int(c_in, "c_in")
    check_positive_int(c_out, "c_out")
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(c_in, c_out)])
    return conv


class FastBlock(nn.Module):
    """conv → 2×2 max pool → BN → GELU → conv → BN → GELU; halves H and W.

    Pooling right after the first convolution makes the rest of the block 4× cheaper.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = batch_norm(c_out)
        self.conv2 = conv3x3(c_out, c_out)
        self.norm2 = batch_norm(c_out)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, c_in, H, W)`` → ``(N, c_out, H // 2, W // 2)``."""
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class FastNet(nn.Module):
    """A small, fast CIFAR-10 network after Keller Jordan's airbench.

    A fixed 2×2 *whitening* convolution (its filters are set from the training data by
    :meth:`init_whitening`, see below), GELU, one :class:`FastBlock` per width, a global max
    pool and a linear layer whose output is divided by its width to keep the first logits
    small.  For a 32×32 input: 32 → 31 (whitening) → 15 → 7 → 3 → 1.

    Args:
        widths: channels of each block.  ``(64, 256, 256)`` is airbench's network (the
            ``"best"`` recipe); the default ``"fast"`` recipe uses a narrower one.
        num_classes: size of the output.
        whiten_size: side of the whitening patches; the layer has ``2·3·whiten_size²``
            filters (each eigenvector of the patch covariance and its negative).
    """

    def __init__(
        self, widths: Sequence[int] = (64, 256, 256), num_classes: int = 10,
        whiten_size: int = 2,
    ) -> None:
        super().__init__()
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
            raise TypeError(f"widths must be a sequence of ints, got {widths!r}")
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths must name at least one block, got an empty sequence")
        for i, w in enumerate(widths):
            check_positive_int(w, f"widths[{i}]")
        check_positive_int(num_classes, "num_classes")
        check_positive_int(whiten_size, "whiten_size")
        self.widths = widths
        c0 = 2 * 3 * whiten_size ** 2
        self.whiten = nn.Conv2d(3, c0, whiten_size, bias=True)
        self.whiten.weight.requires_grad_(False)  # set from the data, never trained
        self.act = nn.GELU()
        self.blocks = nn.Sequential(*(FastBlock(a, b) for a, b in pairwise((c0, *widths))))
        self.head = nn.Linear(widths[-1], num_classes, bias=False)
        with torch.no_grad():
            self.head.weight /= self.head.weight.std()

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """Set the whitening filters from ``images: (N, 3, H, W)`` (normalised floats).

        Every ``s × s`` patch (``s = whiten_size``) is a vector of ``3·s²`` numbers.  With
        ``Σ = V diag(λ) Vᵀ`` their covariance, filter ``i`` is ``vᵢ / sqrt(λᵢ + eps)`` and
        filter ``3s² + i`` its negative: the outputs are decorrelated and of unit variance,
        so the first real layer sees inputs that are equally strong in every direction.
        """
        check_tensor(images, "images", [4], ["(N, 3, H, W)"])
        c, (h, w) = images.shape[1], self.whiten.weight.shape[2:]
        if c != self.whiten.in_channels:
            raise ValueError(f"images must have {self.whiten.in_channels} channels, got {c}")
        patches = images.float().unfold(2, h, 1).unfold(3, w, 1)  # (N, C, H', W', h, w)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * h * w)
        cov = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)
        scale = (eigenvalues + eps).rsqrt().view(-1, 1, 1, 1)
        filters = eigenvectors.T.reshape(-1, c, h, w) * scale
        self.whiten.weight.copy_(torch.cat((filters, -filters)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, 3, H, W)`` → ``(N, num_classes)`` logits."""
        x = self.blocks(self.act(self.whiten(x)))
        x = torch.amax(x, dim=(2, 3))  # global max pool: (N, widths[-1])
        return self.head(x) / x.size(1)


#: the networks by their short names (:data:`convbook.training.recipes.NETWORKS`)
MODELS = {"fast": FastNet, "tutorial": TutorialNet, "wide": WideDropoutNet}


def build(name: str, **kwargs: object) -> nn.Module:
    """A fresh model by its short name: ``"tutorial"``, ``"wide"`` or ``"fast"``."""
    check_choice(name, "name", sorted(MODELS))
    return MODELS[name](**kwargs)  # type: ignore[arg-type]


def build_for(recipe: Recipe, network: str | None = None) -> nn.Module:
    """A fresh network for ``recipe`` (a :class:`~convbook.training.recipes.Recipe`): the
    one it is made for (``recipe.model``), or ``network`` in its place; a ``FastNet`` gets
    the recipe's ``widths`` (when it has any), every other network its own layers.

    >>> from convbook.training.recipes import RECIPES
    >>> build_for(RECIPES["fast"]).widths, type(build_for(RECIPES["fast"], "wide")).__name__
    ((32, 128, 128), 'WideDropoutNet')
    """
    if not (isinstance(getattr(recipe, "model", None), str) and hasattr(recipe, "widths")):
        raise TypeError(f"recipe must be a Recipe (convbook.training.recipes), got {recipe!r}")
    name = recipe.model if network is None else check_choice(network, "network",
                                                             sorted(MODELS))
    if MODELS[name] is FastNet and recipe.widths is not None:
        return FastNet(widths=recipe.widths)
    return build(name)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------- pretrained

#: Folder of the shipped network: ``fastnet_cifar10.pt`` (weights), ``fastnet_cifar10.json``
#: (how it was made, its accuracy, the files' sha256), ``cifar10_samples.pt`` (test images).
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
PRETRAINED_NAME = "fastnet_cifar10"
_REEXPORT = ("reinstall convbook, or re-create the files with tools/export_pretrained.py "
             "(see CONTRIBUTING.md)")


class PretrainedError(RuntimeError):
    """The shipped network's files are missing, damaged or inconsistent; the message says
    which file and what to do."""


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    check_path(path, "path")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pretrained_info() -> dict[str, Any]:
    """What ``fastnet_cifar10.json`` records about the shipped network: the ``convbook
    train`` command, the data set and its sha256, the architecture (``widths``), the
    normalisation (``mean``, ``std``), the ``classes``, the test accuracy measured at export
    (``evaluation``), the files' sha256, the torch version and the date.

    Raises:
        PretrainedError: the file is missing or is not the JSON the export script writes.
    """
    path = PRETRAINED_DIR / f"{PRETRAINED_NAME}.json"
    if not path.is_file():
        raise PretrainedError(f"the pretrained network's description {path} is missing: "
                              + _REEXPORT)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PretrainedError(f"{path} is damaged ({e}): " + _REEXPORT) from e
    needed = ("weights", "samples", "architecture", "classes", "mean", "std", "evaluation")
    missing = [k for k in needed if not isinstance(info, dict) or k not in info]
    if missing:
        raise PretrainedError(f"{path} lacks {missing}: " + _REEXPORT)
    return info


def _load_verified(entry: dict[str, Any]) -> Any:
    """``torch.load(weights_only=True)`` of the package file that ``entry`` (``{"file",
    "sha256"}`` from the JSON) names, after checking its sha256."""
    path = PRETRAINED_DIR / entry["file"]
    if not path.is_file():
        raise PretrainedError(f"the pretrained file {path} is missing: " + _REEXPORT)
    digest = file_sha256(path)
    if digest != entry["sha256"]:
        raise PretrainedError(
            f"{path} is damaged or was replaced: its sha256 is {digest}, but "
            f"{PRETRAINED_NAME}.json records {entry['sha256']}; " + _REEXPORT
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # code refused by weights_only, or not a torch file
        raise PretrainedError(f"{path} cannot be read safely ({type(e).__name__}): "
                              + _REEXPORT) from e


def pretrained() -> FastNet:
    """The CIFAR-10 ``FastNet`` shipped with convbook, in eval mode, on the CPU, in float32.

    It was trained by ``convbook train --epochs 4`` (the default recipe, one epoch longer);
    :func:`pretrained_info` gives the exact command, its normalisation (``mean``, ``std``)
    and its test accuracy.  The weights are read with ``torch.load(..., weights_only=True)``
    after their sha256 is checked against the JSON.  Every call returns a new network.

    Raises:
        PretrainedError: a file is missing, damaged, or does not fit the architecture.
    """
    info = pretrained_info()
    arch = info["architecture"]
    payload = _load_verified(info["weights"])
    model = FastNet(widths=arch["widths"], num_classes=arch["num_classes"],
                    whiten_size=arch["whiten_size"])
    try:
        state = {k: v.float() if v.is_floating_point() else v
                 for k, v in payload["model"].items()}
        model.load_state_dict(state)
    except (KeyError, TypeError, AttributeError, RuntimeError) as e:
        raise PretrainedError(f"the pretrained weights do not fit FastNet(widths="
                              f"{tuple(arch['widths'])}): {str(e).splitlines()[0][:200]}; "
                              + _REEXPORT) from e
    return model.eval()


def pretrained_samples() -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 test images shipped with the network: ``(N, 3, 32, 32)`` uint8 images and
    their ``(N,)`` int64 labels (the first few of each class in the test set; their indices
    are in ``pretrained_info()["samples"]["test_indices"]``)."""
    payload = _load_verified(pretrained_info()["samples"])
    return payload["images"], payload["labels"]
