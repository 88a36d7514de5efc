"""Saliency maps from gradients: the vanilla gradient ``∂S_t/∂x`` and what is built on it
(:func:`saliency`, :func:`input_x_gradient`), Grad-CAM on one layer's feature maps, and one
layer's activations (:func:`feature_maps`) with the input gradient of one of its units.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_bool, check_int
from convbook.explain._common import (
    Layer,
    Target,
    capture,
    check_inputs,
    evaluating,
    find_layer,
    model_logits,
    only_output,
    target_classes,
)


def gradient(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """``∂S_t/∂x``: the gradient of each image's target logit with respect to its pixels.

    Args:
        model: maps ``(N, C, H, W)`` to ``(N, classes)`` logits.
        x: ``(N, C, H, W)`` or ``(C, H, W)`` normalised images.
        target: class per image (an int for all, a sequence or ``(N,)`` tensor), or ``None``
            for the predicted class.

    Returns:
        Same shape as ``x``.
    """
    xb, single = check_inputs(model, x)
    with evaluating(model, grad=True):
        xb = xb.clone().requires_grad_(True)
        logits = model_logits(model, xb)
        t = target_classes(target, logits.detach())
        (g,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), xb)
    return g[0] if single else g


def saliency(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Simonyan et al.'s saliency map ``max_c |∂S_t/∂x_c|``: ``(N, H, W)`` or ``(H, W)``."""
    return gradient(model, x, target).abs().amax(dim=-3)


def input_x_gradient(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """``Σ_c x_c ∂S_t/∂x_c`` (signed): ``(N, H, W)`` or ``(H, W)``.  For a linear model
    ``S = w·x + b`` it splits ``S - b`` exactly among the pixels."""
    return (gradient(model, x, target) * x).sum(dim=-3)


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    target: Target = None,
    *,
    layer: Layer,
    upsample: bool = False,
) -> torch.Tensor:
    """Selvaraju et al.'s Grad-CAM for the feature maps ``A: (N, K, h, w)`` that ``layer``
    outputs: ``ReLU(Σ_k α_k A^k)`` with ``α_k = (1 / hw) Σ_ij ∂S_t/∂A^k_ij``.

    Args:
        layer: a module of ``model`` (or its name, e.g. ``"blocks.2"``) that runs once per
            forward pass and outputs ``(N, K, h, w)``.
        upsample: resize the map bilinearly to the input's ``H × W``.

    Returns:
        ``(N, h, w)`` (``(N, H, W)`` when upsampled), or without ``N`` for one image.
    """
    xb, single = check_inputs(model, x)
    check_bool(upsample, "upsample")
    with evaluating(model, grad=True), capture(model, layer) as outputs:
        # x requires grad so that the graph reaches the layer even if the weights are frozen
        logits = model_logits(model, xb.clone().requires_grad_(True))
        A = only_output(outputs, layer, model)
        t = target_classes(target, logits.detach())
        (dA,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), A)
    alpha = dA.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((alpha * A.detach()).sum(dim=1))
    if upsample:
        cam = F.interpolate(cam[:, None], size=xb.shape[2:], mode="bilinear",
                            align_corners=False)[:, 0]
    return cam[0] if single else cam


# --------------------------------------------------------------------------- units


def feature_maps(
    model: nn.Module, x: torch.Tensor, layer: Layer | Sequence[Layer]
) -> torch.Tensor | dict[str, torch.Tensor]:
    """What ``layer`` outputs for ``x``: ``(N, K, h, w)`` (``(K, h, w)`` for one image).

    Given a list of layers, returns ``{name: maps}`` for all of them, from one forward pass.
    """
    xb, single = check_inputs(model, x)
    several = isinstance(layer, (list, tuple))
    layers = list(layer) if several else [layer]
    with evaluating(model, grad=False), ExitStack() as stack:
        captured = [stack.enter_context(capture(model, one)) for one in layers]
        model(xb)
        maps = [only_output(c, one, model) for c, one in zip(captured, layers)]
    maps = [m[0] if single else m for m in maps]
    if not several:
        return maps[0]
    return {find_layer(model, one)[0]: m for one, m in zip(layers, maps)}


def unit_gradient(
    model: nn.Module, x: torch.Tensor, layer: Layer, channel: int, position: tuple[int, int]
) -> torch.Tensor:
    """``∂A^k_ij/∂x``: the input gradient of one unit of ``layer``'s feature maps, for one
    image ``x: (C, H, W)``; returns ``(C, H, W)``, zero outside the unit's receptive field."""
    xb, single = check_inputs(model, x)
    if not single:
        raise ValueError(f"x must be one (C, H, W) image, got shape {tuple(x.shape)}")
    check_int(channel, "channel", minimum=0)
    if not isinstance(position, Sequence) or len(position) != 2:
        raise TypeError(f"position must be a (row, col) pair, got {position!r}")
    i, j = (check_int(v, f"position[{a}]", minimum=0) for a, v in enumerate(position))
    with evaluating(model, grad=True), capture(model, layer) as outputs:
        xg = xb.clone().requires_grad_(True)
        model(xg)
        A = only_output(outputs, layer, model)
        k, h, w = A.shape[1:]
        if channel >= k:
            raise ValueError(f"channel must be in 0..{k - 1} for this layer, got {channel}")
        if i >= h or j >= w:
            raise ValueError(f"position must lie inside the {h}x{w} feature map, got {(i, j)}")
        (g,) = torch.autograd.grad(A[0, channel, i, j], xg)
    return g[0]
