"""What every method of :mod:`convbook.explain` shares: argument checks for the model and the
images, the target class of each image, the model's logits, finding a layer and capturing
its output with a forward hook, and eval mode with gradients on or off (restored after).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from convbook._args import check_instance, check_tensor

Target = int | Sequence[int] | torch.Tensor | None
Layer = str | nn.Module


def check_model(model: object) -> None:
    """Raise unless ``model`` is a ``torch.nn.Module``."""
    check_instance(model, "model", nn.Module, "a torch.nn.Module")


def check_images(x: object, name: str = "x") -> tuple[torch.Tensor, bool]:
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


def check_inputs(model: object, x: object) -> tuple[torch.Tensor, bool]:
    """Raise unless ``model`` is a module and ``x`` images (see :func:`check_images`);
    return ``x`` as ``(N, C, H, W)`` and whether it was one ``(C, H, W)`` image."""
    check_model(model)
    return check_images(x)


def target_classes(target: Target, logits: torch.Tensor) -> torch.Tensor:
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


def model_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)``, checked to be ``(N, classes)`` scores for ``x: (N, C, H, W)``."""
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return (N, classes) scores for (N, C, H, W) images, "
                         f"got {shape}")
    return out


def find_layer(model: nn.Module, layer: Layer) -> tuple[str, nn.Module]:
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
def evaluating(model: nn.Module, grad: bool) -> Iterator[None]:
    """Eval mode (restored afterwards), with gradients on or off."""
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(grad):
            yield
    finally:
        model.train(was_training)


@contextmanager
def capture(model: nn.Module, layer: Layer) -> Iterator[list[torch.Tensor]]:
    """Collect the output of ``layer`` during the forward passes inside the ``with``."""
    name, module = find_layer(model, layer)
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


def only_output(outputs: list[torch.Tensor], layer: Layer, model: nn.Module) -> torch.Tensor:
    """The single output ``capture`` collected in one forward pass."""
    if len(outputs) != 1:
        name = find_layer(model, layer)[0]
        raise ValueError(f"layer {name!r} ran {len(outputs)} times in one forward pass; choose "
                         "a layer that runs exactly once")
    return outputs[0]
