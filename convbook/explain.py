"""Look inside a trained CNN: what it responds to, what it looks at, and whether to believe it.

The maps explain one *score* per image: the logit ``S_t`` of a target class ``t`` (by
default the class the model predicts) for images ``x: (N, C, H, W)`` (or one ``(C, H, W)``
image) in the model's input space, i.e. normalised as the model was trained.

* :func:`gradient`, :func:`saliency`: the vanilla gradient ``∂S_t/∂x`` (Simonyan, Vedaldi
  and Zisserman 2013); the saliency map is ``max_c |∂S_t/∂x_c|`` over colour channels.
* :func:`input_x_gradient`: ``Σ_c x_c ∂S_t/∂x_c``, the first-order share of each pixel.
* :func:`occlusion`: how much the score drops when a window of the image is replaced by a
  baseline (Zeiler and Fergus 2014), for every window position.
* :func:`grad_cam`: ``ReLU(Σ_k α_k A^k)`` with ``α_k`` the spatial mean of ``∂S_t/∂A^k``,
  for the feature maps ``A`` of one layer (Selvaraju et al. 2017).
* :func:`activation_maximisation`: an input that excites one channel, found by gradient
  ascent with random jitter and blurring (Olah, Mordvintsev and Schubert 2017).
* :func:`randomised`, :func:`sanity_check`, :func:`spearman`: the model-randomisation test
  of Adebayo et al. (2018): a map that hardly changes when the weights are replaced by
  random ones cannot be explaining what the network learned.
* :func:`feature_maps`, :func:`unit_gradient`: one layer's activations, and the input
  gradient of one of its units.

The model is never changed: it runs in eval mode (its own mode is restored afterwards),
gradients are taken with ``torch.autograd.grad`` with respect to the input only (no
``.grad`` is left on its parameters), hooks are removed, and randomisation works on a copy.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import (
    check_int,
    check_number,
    check_positive_int,
    check_tensor,
    ntuple,
    pair,
)

__all__ = [
    "SanityCheck",
    "activation_maximisation",
    "feature_maps",
    "grad_cam",
    "gradient",
    "input_x_gradient",
    "occlusion",
    "randomised",
    "saliency",
    "sanity_check",
    "spearman",
    "unit_gradient",
    "weight_layers",
]

Target = int | Sequence[int] | torch.Tensor | None
Layer = str | nn.Module
#: a map-making method for :func:`sanity_check`: ``method(model, x, target) -> (N, ...)``
Method = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- checks


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _check_images(x: object, name: str = "x") -> tuple[torch.Tensor, bool]:
    """``x`` as ``(N, C, H, W)``, and whether it was one ``(C, H, W)`` image."""
    check_tensor(x, name, [3, 4], ["(C, H, W)", "(N, C, H, W)"])
    assert isinstance(x, torch.Tensor)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (normalised images), "
                        f"got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must hold finite numbers (no NaN or inf)")
    single = x.dim() == 3
    return (x.unsqueeze(0) if single else x).detach(), single


def _targets(target: Target, logits: torch.Tensor) -> torch.Tensor:
    """The target class of each image as an ``(N,)`` int64 tensor (default: the argmax)."""
    n, k = logits.shape
    if target is None:
        return logits.argmax(1)
    if isinstance(target, bool):
        raise TypeError(f"target must be a class index, a sequence or tensor of them, or None, "
                        f"got {target!r}")
    if isinstance(target, int):
        t = torch.full((n,), target, dtype=torch.int64)
    elif isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
        t = target.to(torch.int64).cpu().reshape(-1)
        if target.dim() == 0:
            t = t.expand(n)
    elif isinstance(target, Sequence) and not isinstance(target, str):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in target):
            raise TypeError(f"target must hold int class indices, got {target!r}")
        t = torch.tensor(list(target), dtype=torch.int64)
    else:
        raise TypeError(f"target must be a class index, a sequence or tensor of them, or None, "
                        f"got {target!r}")
    if t.shape != (n,):
        raise ValueError(f"target must give one class per image ({n}), got {t.numel()}")
    if ((t < 0) | (t >= k)).any():
        bad = t[(t < 0) | (t >= k)][0].item()
        raise ValueError(f"target must be in 0..{k - 1} (the model has {k} classes), got {bad}")
    return t.to(logits.device)


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return (N, classes) scores for (N, C, H, W) images, "
                         f"got {shape}")
    return out


def _find_layer(model: nn.Module, layer: Layer) -> tuple[str, nn.Module]:
    """``(name, module)`` of ``layer``, given by its name in ``model.named_modules()`` or as
    the module itself."""
    modules = dict(model.named_modules())
    if isinstance(layer, str):
        if layer and layer in modules:
            return layer, modules[layer]
        names = [n for n in modules if n]
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(f"layer must name a module of the model ({shown}), got {layer!r}")
    if isinstance(layer, nn.Module):
        for name, module in modules.items():
            if module is layer and name:
                return name, module
        raise ValueError(f"layer must be a module inside the model, got a {type(layer).__name__} "
                         "that is not one of its sub-modules")
    raise TypeError(f"layer must be a module's name or the module, got {type(layer).__name__}")


@contextmanager
def _inference(model: nn.Module, grad: bool) -> Iterator[None]:
    """Eval mode (restored afterwards), with gradients on or off."""
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(grad):
            yield
    finally:
        model.train(was_training)


@contextmanager
def _capture(model: nn.Module, layer: Layer) -> Iterator[list[torch.Tensor]]:
    """Collect the output of ``layer`` during the forward passes inside the ``with``."""
    name, module = _find_layer(model, layer)
    outputs: list[torch.Tensor] = []

    def hook(mod: nn.Module, args: object, out: object) -> None:
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"layer {name!r} must output (N, C, h, w) feature maps, got {shape}")
        outputs.append(out)

    handle = module.register_forward_hook(hook)
    try:
        yield outputs
    finally:
        handle.remove()


def _one(outputs: list[torch.Tensor], layer: Layer, model: nn.Module) -> torch.Tensor:
    """The single output ``_capture`` collected in one forward pass."""
    if len(outputs) != 1:
        name = _find_layer(model, layer)[0]
        raise ValueError(f"layer {name!r} ran {len(outputs)} times in one forward pass; choose "
                         "a layer that runs exactly once")
    return outputs[0]


# --------------------------------------------------------------------------- gradient maps


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
    _check_model(model)
    xb, single = _check_images(x)
    with _inference(model, grad=True):
        xb = xb.clone().requires_grad_(True)
        logits = _logits(model, xb)
        t = _targets(target, logits.detach())
        (g,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), xb)
    return g[0] if single else g


def saliency(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Simonyan et al.'s saliency map ``max_c |∂S_t/∂x_c|``: ``(N, H, W)`` or ``(H, W)``."""
    return gradient(model, x, target).abs().amax(dim=-3)


def input_x_gradient(model: nn.Module, x: torch.Tensor, target: Target = None) -> torch.Tensor:
    """``Σ_c x_c ∂S_t/∂x_c`` (signed): ``(N, H, W)`` or ``(H, W)``.  For a linear model
    ``S = w·x + b`` it splits ``S - b`` exactly among the pixels."""
    return (gradient(model, x, target) * x).sum(dim=-3)


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: Target = None,
    *,
    window: int | tuple[int, int] = 8,
    stride: int | tuple[int, int] = 4,
    baseline: float | torch.Tensor = 0.0,
    score: str = "logit",
    batch_size: int = 256,
) -> torch.Tensor:
    """Zeiler and Fergus's occlusion map: the drop of the target score when one window is
    replaced by ``baseline``, for every window position.

    Entry ``(n, i, j)`` is ``S_t(x_n) - S_t(x_n with rows i·s_h .. i·s_h + w_h - 1 and
    columns j·s_w .. j·s_w + w_w - 1 set to the baseline)``: positive where hiding the window
    lowers the score.

    Args:
        window, stride: ``(h, w)`` of the window and of its steps (an int for both).
        baseline: what the window shows instead: a number (0, the default, is the data set's
            mean colour for normalised images) or a tensor that broadcasts to ``(C, H, W)``.
        score: ``"logit"`` or ``"probability"`` (softmax) of the target class.
        batch_size: occluded copies per forward pass.

    Returns:
        ``(N, H', W')`` (or ``(H', W')``) with ``H' = (H - w_h) // s_h + 1``, likewise ``W'``.
    """
    _check_model(model)
    xb, single = _check_images(x)
    wh, ww = pair(window, "window", minimum=1)
    sh, sw = pair(stride, "stride", minimum=1)
    check_positive_int(batch_size, "batch_size")
    if score not in ("logit", "probability"):
        raise ValueError(f"score must be 'logit' or 'probability', got {score!r}")
    n, c, h, w = xb.shape
    if wh > h or ww > w:
        raise ValueError(f"window {(wh, ww)} must fit in the {h}x{w} image")
    fill = _baseline(baseline, (c, h, w), xb)
    rows, cols = range(0, h - wh + 1, sh), range(0, w - ww + 1, sw)
    masks = torch.zeros(len(rows) * len(cols), 1, h, w, dtype=torch.bool, device=xb.device)
    for p, (i, j) in enumerate(itertools.product(rows, cols)):
        masks[p, :, i:i + wh, j:j + ww] = True

    def scores(images: torch.Tensor) -> torch.Tensor:
        logits = _logits(model, images)
        return logits.softmax(1) if score == "probability" else logits

    with _inference(model, grad=False):
        full = scores(xb)
        t = _targets(target, full)
        base = full[torch.arange(n), t]
        out = torch.empty(n * len(masks), dtype=full.dtype, device=xb.device)
        # every (image, window) pair, batch_size of them per forward pass
        for start in range(0, len(out), batch_size):
            pairs = torch.arange(start, min(start + batch_size, len(out)), device=xb.device)
            k, w = pairs // len(masks), pairs % len(masks)
            copies = torch.where(masks[w], fill, xb[k])
            out[pairs] = base[k] - scores(copies)[torch.arange(len(pairs)), t[k]]
    out = out.view(n, len(rows), len(cols))
    return out[0] if single else out


def _baseline(baseline: object, shape: tuple[int, int, int], x: torch.Tensor) -> torch.Tensor:
    if isinstance(baseline, torch.Tensor):
        try:
            fill = torch.broadcast_to(baseline.to(x), shape)
        except RuntimeError:
            raise ValueError(f"baseline must broadcast to (C, H, W) = {shape}, got shape "
                             f"{tuple(baseline.shape)}") from None
        if not torch.isfinite(fill).all():
            raise ValueError("baseline must hold finite numbers")
        return fill
    return torch.full(shape, check_number(baseline, "baseline"), dtype=x.dtype,
                      device=x.device)


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
    _check_model(model)
    xb, single = _check_images(x)
    if not isinstance(upsample, bool):
        raise TypeError(f"upsample must be True or False, got {upsample!r}")
    with _inference(model, grad=True), _capture(model, layer) as outputs:
        # x requires grad so that the graph reaches the layer even if the weights are frozen
        logits = _logits(model, xb.clone().requires_grad_(True))
        A = _one(outputs, layer, model)
        t = _targets(target, logits.detach())
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
    _check_model(model)
    xb, single = _check_images(x)
    several = isinstance(layer, (list, tuple))
    layers = list(layer) if several else [layer]
    with _inference(model, grad=False), ExitStack() as stack:
        captured = [stack.enter_context(_capture(model, one)) for one in layers]
        model(xb)
        maps = [_one(c, one, model) for c, one in zip(captured, layers)]
    maps = [m[0] if single else m for m in maps]
    if not several:
        return maps[0]
    return {_find_layer(model, one)[0]: m for one, m in zip(layers, maps)}


def unit_gradient(
    model: nn.Module, x: torch.Tensor, layer: Layer, channel: int, position: tuple[int, int]
) -> torch.Tensor:
    """``∂A^k_ij/∂x``: the input gradient of one unit of ``layer``'s feature maps, for one
    image ``x: (C, H, W)``; returns ``(C, H, W)``, zero outside the unit's receptive field."""
    _check_model(model)
    xb, single = _check_images(x)
    if not single:
        raise ValueError(f"x must be one (C, H, W) image, got shape {tuple(x.shape)}")
    check_int(channel, "channel", minimum=0)
    if not isinstance(position, Sequence) or len(position) != 2:
        raise TypeError(f"position must be a (row, col) pair, got {position!r}")
    i, j = (check_int(v, f"position[{a}]", minimum=0) for a, v in enumerate(position))
    with _inference(model, grad=True), _capture(model, layer) as outputs:
        xg = xb.clone().requires_grad_(True)
        model(xg)
        A = _one(outputs, layer, model)
        k, h, w = A.shape[1:]
        if channel >= k:
            raise ValueError(f"channel must be in 0..{k - 1} for this layer, got {channel}")
        if i >= h or j >= w:
            raise ValueError(f"position must lie inside the {h}x{w} feature map, got {(i, j)}")
        (g,) = torch.autograd.grad(A[0, channel, i, j], xg)
    return g[0]


# --------------------------------------------------------------------------- visualisation


def _gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, C, H, W)``, radius ``ceil(2σ)``, edges replicated."""
    radius = max(1, math.ceil(2 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    g = torch.exp(-offsets**2 / (2 * sigma**2))
    g = g / g.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(out, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


@dataclass(frozen=True)
class _Ascent:
    """The checked settings of :func:`activation_maximisation`."""

    channels: list[int]
    single: bool
    shape: tuple[int, int, int]
    lr: float
    jitter: int
    blur_every: int
    blur_sigma: float
    decay: float
    mean: torch.Tensor | None  # (1, C, 1, 1) when the images live in pixel space
    std: torch.Tensor | None

    @property
    def grey(self) -> float:
        """The images' neutral value: 0.5 in pixel space, 0 in the model's input space."""
        return 0.5 if self.mean is not None else 0.0

    def to_model(self, images: torch.Tensor) -> torch.Tensor:
        return images if self.mean is None else (images - self.mean) / self.std


def _ascent_settings(
    channels: object, input_size: object, steps: object, lr: object, jitter: object,
    blur_every: object, blur_sigma: object, decay: object, mean: object, std: object,
    seed: object,
) -> _Ascent:
    single = isinstance(channels, int) and not isinstance(channels, bool)
    wanted = [channels] if single else channels
    if not isinstance(wanted, Sequence) or isinstance(wanted, str) or not wanted:
        raise TypeError(f"channels must be an int or a non-empty sequence of ints, got "
                        f"{channels!r}")
    for i, ch in enumerate(wanted):
        check_int(ch, "channels" if single else f"channels[{i}]", minimum=0)
    if isinstance(input_size, (int, str)) or not isinstance(input_size, Sequence):
        raise TypeError(f"input_size must be a (C, H, W) tuple, got {input_size!r}")
    shape = ntuple(input_size, "input_size", 3, minimum=1)
    check_positive_int(steps, "steps")
    check_int(seed, "seed", minimum=0)
    if (mean is None) != (std is None):
        raise ValueError("mean and std must be given together, or neither")
    if mean is not None:
        for name, v in (("mean", mean), ("std", std)):
            check_tensor(v, name, [1], ["(C,)"])
            if v.shape[0] != shape[0] or not torch.isfinite(v).all():
                raise ValueError(f"{name} must be a ({shape[0]},) tensor of finite numbers, "
                                 f"got {tuple(v.shape)}")
        if (std <= 0).any():
            raise ValueError("std must be > 0 in every channel")
        mean, std = (v.view(1, -1, 1, 1).float() for v in (mean, std))
    return _Ascent(
        list(wanted), single, shape,  # type: ignore[arg-type]
        check_number(lr, "lr", low=0.0, low_ok=False),
        check_int(jitter, "jitter", minimum=0),
        check_int(blur_every, "blur_every", minimum=0),
        check_number(blur_sigma, "blur_sigma", low=0.0, low_ok=False),
        check_number(decay, "decay", low=0.0, high=1.0),
        mean, std,  # type: ignore[arg-type]
    )


def _check_channels(index: torch.Tensor, maps: torch.Tensor, model: nn.Module,
                    layer: Layer) -> None:
    if int(index.max()) >= maps.shape[1]:
        raise ValueError(f"channels must be in 0..{maps.shape[1] - 1} for layer "
                         f"{_find_layer(model, layer)[0]!r}, got {int(index.max())}")


def activation_maximisation(
    model: nn.Module,
    layer: Layer,
    channels: int | Sequence[int],
    *,
    input_size: tuple[int, int, int] = (3, 32, 32),
    steps: int = 128,
    lr: float = 0.05,
    jitter: int = 2,
    blur_every: int = 4,
    blur_sigma: float = 0.5,
    decay: float = 0.0,
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Images that excite ``channels`` of ``layer``: feature visualisation by optimisation.

    Starting from faint noise, each step shifts the images by a random offset of up to
    ``jitter`` pixels (``torch.roll``), runs the model, and moves every image along the
    gradient of its channel's mean activation, scaled so that the mean absolute step is
    ``lr``; every ``blur_every`` steps the images are blurred (Gaussian, ``blur_sigma``),
    and each step shrinks them towards grey by ``decay``.  Jitter and blur keep the
    optimisation from settling on high-frequency patterns that no photo contains.

    Args:
        layer: a module of ``model`` (or its name) that outputs ``(N, K, h, w)``.
        channels: one channel index or several; one image per channel.
        input_size: ``(C, H, W)`` of the images.
        mean, std: ``(C,)`` normalisation of the model.  When given, the images live in
            pixel space, are kept in [0, 1] and normalised before the model (and returned
            in [0, 1]); otherwise they live in the model's input space, grey being 0.
        seed: seeds the start and the jitter (the global RNG is untouched).

    Returns:
        ``(len(channels), C, H, W)``, or ``(C, H, W)`` for one int channel.
    """
    _check_model(model)
    a = _ascent_settings(channels, input_size, steps, lr, jitter, blur_every, blur_sigma,
                         decay, mean, std, seed)
    gen = torch.Generator().manual_seed(seed)
    images = a.grey + 0.01 * torch.randn(len(a.channels), *a.shape, generator=gen)
    index = torch.tensor(a.channels)
    with _inference(model, grad=True), _capture(model, layer) as outputs:
        for step in range(steps):
            dy, dx = (int(v) for v in torch.randint(-a.jitter, a.jitter + 1, (2,), generator=gen))
            images.requires_grad_(True)
            outputs.clear()
            model(a.to_model(torch.roll(images, (dy, dx), dims=(2, 3))))
            A = _one(outputs, layer, model)
            _check_channels(index, A, model, layer)
            objective = A[torch.arange(len(index)), index].mean(dim=(1, 2))  # (K,)
            (g,) = torch.autograd.grad(objective.sum(), images)
            with torch.no_grad():
                g = g / g.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
                images = images + a.lr * g
                images = a.grey + (images - a.grey) * (1 - a.decay)
                if a.blur_every and (step + 1) % a.blur_every == 0:
                    images = _gaussian_blur(images, a.blur_sigma)
                if a.mean is not None:
                    images = images.clamp(0, 1)
    images = images.detach()
    return images[0] if a.single else images


# --------------------------------------------------------------------------- sanity check


def weight_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own a weight matrix or filter bank (convolutions, linear
    layers: a ``weight`` with 2 or more dimensions and a ``reset_parameters`` method), in
    the order they are registered, which for ``FastNet`` and ``nn.Sequential`` models is
    the order they run."""
    _check_model(model)
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
    _check_model(model)
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
    _check_model(model)
    xb, _ = _check_images(x)
    if not callable(method):
        raise TypeError(f"method must be callable as method(model, x, target), got {method!r}")
    if mode not in ("cascading", "independent"):
        raise ValueError(f"mode must be 'cascading' or 'independent', got {mode!r}")
    if not isinstance(absolute, bool):
        raise TypeError(f"absolute must be True or False, got {absolute!r}")
    names = weight_layers(model) if layers is None else _check_layer_names(model, layers)
    if not names:
        raise ValueError("the model has no weight layers to randomise")
    with _inference(model, grad=False):
        t = _targets(target, _logits(model, xb))
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
