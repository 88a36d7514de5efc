"""Measure a trained model: logits with test-time augmentation, loss and accuracy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_choice, check_positive_int, check_tensor
from convbook.data import ImageData, normalize
from convbook.training.devices import autocast, resolve_precision, select_device
from convbook.training.loader import reflect_pad


def _views(x: torch.Tensor, tta: int) -> list[tuple[float, torch.Tensor]]:
    """The weighted views of a batch that test-time augmentation averages."""
    if tta == 0:
        return [(1.0, x)]
    views = [(0.5, x), (0.5, x.flip(3))]
    if tta == 1:
        return views
    h, w = x.shape[2:]
    padded = reflect_pad(x, 1)
    up_left, down_right = padded[:, :, :h, :w], padded[:, :, 2:, 2:]
    shifted = [(0.125, v) for s in (up_left, down_right) for v in (s, s.flip(3))]
    return [(wt / 2, v) for wt, v in views] + shifted


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    batch_size: int = 1000,
    device: str | torch.device = "auto",
    precision: str = "auto",
    tta: int | bool = 0,
) -> torch.Tensor:
    """Logits ``(N, num_classes)`` (float32, on the CPU) for ``images: (N, 3, H, W)`` uint8.

    ``tta``: 0 (or ``False``) the images as they are; 1 (or ``True``) the average of each
    image's logits and its mirror image's; 2 also averages the mirrored pair shifted one pixel
    up-left and down-right (half the weight on the unshifted pair).
    """
    level = _check(model, images, batch_size, tta)
    return logits_with_plain(model, images, mean, std, batch_size=batch_size, device=device,
                             precision=precision, tta=level)[0]


def _check(model: object, images: object, batch_size: object, tta: object) -> int:
    """Raise for a bad argument of :func:`predict`; return the level of ``tta``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(images, "images", [4], ["(N, 3, H, W)"])
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 (0..255), got {images.dtype}")
    check_positive_int(batch_size, "batch_size")
    level = int(tta) if isinstance(tta, bool) else tta
    if isinstance(level, float) or level not in (0, 1, 2):
        raise ValueError(f"tta must be 0, 1 or 2 (or a bool), got {tta!r}")
    return level


@torch.no_grad()
def logits_with_plain(
    model: nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    batch_size: int = 1000,
    device: str | torch.device = "auto",
    precision: str = "auto",
    tta: int | bool = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`predict`'s logits with test-time augmentation ``tta``, and the logits of the
    images as they are (the first view), from one pass: two ``(N, num_classes)`` tensors
    (the same one when ``tta`` is 0).  Arguments as for :func:`predict`."""
    tta = _check(model, images, batch_size, tta)
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    was_training = model.training
    model.eval()
    averaged, plain = [], []
    try:
        for start in range(0, len(images), batch_size):
            x = normalize(images[start:start + batch_size].to(dev), mean, std)
            with autocast(dev, prec):
                views = [(wt, model(v).float()) for wt, v in _views(x, tta)]
            averaged.append(sum(wt * logits for wt, logits in views).cpu())
            plain.append(views[0][1].cpu())
    finally:
        model.train(was_training)
    return torch.cat(averaged), torch.cat(plain)


def evaluate(
    model: nn.Module,
    data: ImageData,
    *,
    split: str = "test",
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
    tta: int | bool = 0,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> dict[str, float]:
    """Cross-entropy loss and accuracy of ``model`` on ``data``'s ``"test"`` or ``"train"``
    split, normalised with the training set's statistics unless ``mean``/``std`` are given.

    Returns ``{"loss", "acc"}`` with test-time augmentation ``tta``; when ``tta`` is 1 or 2,
    also ``"plain_loss"`` and ``"plain_acc"``, those of the images as they are, measured in
    the same pass (the first of the views).
    """
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData (convbook.data.cifar10()), got "
                        f"{type(data).__name__}")
    check_choice(split, "split", ("train", "test"))
    if (mean is None) != (std is None):
        given, missing = ("mean", "std") if std is None else ("std", "mean")
        raise ValueError(f"{missing} must be given with {given} (or leave both out to use the "
                         "training set's statistics)")
    if mean is None or std is None:
        mean, std = data.mean_std()
    images = data.test_images if split == "test" else data.train_images
    labels = data.test_labels if split == "test" else data.train_labels
    level = _check(model, images, 1000, tta)
    logits, plain = logits_with_plain(model, images, mean, std, device=device,
                                      precision=precision, tta=level)
    result = {"loss": F.cross_entropy(logits, labels).item(),
              "acc": (logits.argmax(1) == labels).float().mean().item()}
    if tta:
        result.update(plain_loss=F.cross_entropy(plain, labels).item(),
                      plain_acc=(plain.argmax(1) == labels).float().mean().item())
    return result
