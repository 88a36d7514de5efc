"""Feature visualisation by optimisation: :func:`activation_maximisation` finds an input that
excites one channel of a layer, by gradient ascent with random jitter and blurring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_int, check_number, check_positive_int, check_tensor, ntuple
from convbook.explain._common import (
    Layer,
    capture,
    check_model,
    evaluating,
    find_layer,
    only_output,
)


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
                         f"{find_layer(model, layer)[0]!r}, got {int(index.max())}")


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
    check_model(model)
    a = _ascent_settings(channels, input_size, steps, lr, jitter, blur_every, blur_sigma,
                         decay, mean, std, seed)
    gen = torch.Generator().manual_seed(seed)
    images = a.grey + 0.01 * torch.randn(len(a.channels), *a.shape, generator=gen)
    index = torch.tensor(a.channels)
    with evaluating(model, grad=True), capture(model, layer) as outputs:
        for step in range(steps):
            dy, dx = (int(v) for v in torch.randint(-a.jitter, a.jitter + 1, (2,), generator=gen))
            images.requires_grad_(True)
            outputs.clear()
            model(a.to_model(torch.roll(images, (dy, dx), dims=(2, 3))))
            A = only_output(outputs, layer, model)
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
