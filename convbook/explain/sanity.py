"""Adebayo et al.'s model-randomisation sanity check: re-initialise the weight layers of a copy
of the model, from the top down, and compare its maps with the trained model's by rank
correlation (:func:`spearman`).  A map that hardly changes is not explaining the network.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from convbook._args import check_bool, check_callable, check_choice, check_int
from convbook.explain._common import (
    Target,
    check_inputs,
    check_model,
    evaluating,
    model_logits,
    target_classes,
)

#: a map-making method for :func:`sanity_check`: ``method(model, x, target) -> (N, ...)``
Method = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def weight_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own a weight matrix or filter bank (convolutions, linear
    layers: a ``weight`` with 2 or more dimensions and a ``reset_parameters`` method), in
    the order they are registered, which for ``FastNet`` and ``nn.Sequential`` models is
    the order they run."""
    check_model(model)
    return [
        name for name, m in model.named_modules()
        if name and isinstance(getattr(m, "weight", None), torch.Tensor)
        and m.weight.dim() >= 2 and callable(getattr(m, "reset_parameters", None))
    ]


def _check_layer_names(model: nn.Module, layers: str | Sequence[str]) -> list[str]:
    names = weight_layers(model)
    chosen = [layers] if isinstance(layers, str) else layers
    if not isinstance(chosen, Sequence) or not all(isinstance(n, str) for n in chosen):
        raise TypeError(f"layers must be a layer name or a sequence of names, got {layers!r}")
    for name in chosen:
        if name not in names:
            raise ValueError(f"layers must name weight layers of the model ({', '.join(names)}),"
                             f" got {name!r}")
    return list(chosen)


def randomised(model: nn.Module, layers: str | Sequence[str], *, seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose ``layers`` (names from :func:`weight_layers`) have been
    re-initialised with PyTorch's default initialisation (``reset_parameters``).

    The random weights of a layer depend only on ``seed`` and the layer's place in
    :func:`weight_layers`, so cascading and independent randomisation draw the same ones.
    ``model`` itself is not changed, and the global RNG is left as it was.
    """
    check_model(model)
    chosen = _check_layer_names(model, layers)
    check_int(seed, "seed", minimum=0)
    order = weight_layers(model)
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    for name in chosen:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1_000_003 + order.index(name))
            modules[name].reset_parameters()
    return clone


def _ranks(v: torch.Tensor) -> torch.Tensor:
    """1-based ranks of ``v``'s entries, ties getting the mean of their ranks."""
    _, inverse, counts = torch.unique(v, sorted=True, return_inverse=True, return_counts=True)
    last = counts.cumsum(0).double()
    return (last - (counts.double() - 1) / 2)[inverse]


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two tensors of the same number of entries: the
    Pearson correlation of their ranks (ties share the mean rank); ``nan`` when either is
    constant, since a constant has no ranking."""
    for name, v in (("a", a), ("b", b)):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(v).__name__}")
        if v.is_complex() or not torch.isfinite(v.double()).all():
            raise ValueError(f"{name} must hold finite real numbers")
    if a.numel() != b.numel() or a.numel() < 2:
        raise ValueError(f"a and b must have the same number of entries, at least 2, got "
                         f"{a.numel()} and {b.numel()}")
    ra = _ranks(a.detach().reshape(-1).double().cpu())
    rb = _ranks(b.detach().reshape(-1).double().cpu())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    return float((ra * rb).sum()) / denominator if denominator > 0 else math.nan


@dataclass(frozen=True)
class SanityCheck:
    """The result of :func:`sanity_check`.

    Attributes:
        mode: ``"cascading"`` or ``"independent"``.
        layers: the layer randomised at each step, from the top of the network down.
        original: ``(N, ...)`` maps of the trained model.
        randomised: ``(L, N, ...)`` maps after each step.
        correlations: ``(L, N)`` Spearman rank correlation between each original map and
            the map after each step (of absolute values if ``absolute``).
    """

    mode: str
    layers: list[str]
    original: torch.Tensor
    randomised: torch.Tensor
    correlations: torch.Tensor

    def mean_correlations(self) -> list[float]:
        """Mean over the images of each step's correlation (``nan`` entries left out)."""
        return [float(row[~row.isnan()].mean()) if (~row.isnan()).any() else math.nan
                for row in self.correlations]

    def __repr__(self) -> str:
        width = max(len(n) for n in self.layers)
        lines = [f"SanityCheck({self.mode}, {self.original.shape[0]} images): mean rank "
                 "correlation with the trained model's maps"]
        lines += [f"  {name:<{width}}  {value:6.2f}"
                  for name, value in zip(self.layers, self.mean_correlations())]
        return "\n".join(lines)


def sanity_check(
    model: nn.Module,
    x: torch.Tensor,
    method: Method,
    target: Target = None,
    *,
    mode: str = "cascading",
    layers: Sequence[str] | None = None,
    seed: int = 0,
    absolute: bool = True,
) -> SanityCheck:
    """Adebayo et al.'s model-randomisation test of a map-making ``method``.

    Layers are re-initialised from the top of the network down (``layers``, default
    :func:`weight_layers`, in reverse): ``"cascading"`` keeps the layers randomised so far
    random, so that after the last step no trained weight is left; ``"independent"``
    randomises one layer at a time.  After each step the method's maps of ``x`` (for the
    same targets: given, or the trained model's predictions) are compared with the trained
    model's by :func:`spearman`.  A method whose maps explain the network must change:
    correlations near 1 mean that the map shows the image, not what the network learned.

    Args:
        method: ``method(model, x, target) -> (N, ...)`` maps, e.g. ``saliency`` or
            ``lambda m, x, t: grad_cam(m, x, t, layer="blocks.2")``.
        x: ``(N, C, H, W)`` normalised images.
        absolute: compare ``|map|`` (the usual choice: the sign of a gradient is fragile).
    """
    xb, _ = check_inputs(model, x)
    check_callable(method, "method", "as method(model, x, target)")
    check_choice(mode, "mode", ("cascading", "independent"))
    check_bool(absolute, "absolute")
    names = weight_layers(model) if layers is None else _check_layer_names(model, layers)
    if not names:
        raise ValueError("the model has no weight layers to randomise")
    with evaluating(model, grad=False):
        t = target_classes(target, model_logits(model, xb))
    order = list(reversed(names))
    original = method(model, xb, t).detach()
    if not isinstance(original, torch.Tensor) or original.shape[:1] != (len(xb),):
        raise ValueError(f"method must return one map per image, (N={len(xb)}, ...), got "
                         f"{getattr(original, 'shape', type(original).__name__)}")
    maps, rows = [], []
    for step, name in enumerate(order):
        chosen = order[:step + 1] if mode == "cascading" else [name]
        m = method(randomised(model, chosen, seed=seed), xb, t).detach()
        maps.append(m)
        pairs = (original.abs(), m.abs()) if absolute else (original, m)
        rows.append([spearman(a, b) for a, b in zip(*pairs)])
    return SanityCheck(mode, order, original, torch.stack(maps),
                       torch.tensor(rows, dtype=torch.float64))
