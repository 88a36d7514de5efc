"""Measure a trained model: logits with test-time augmentation, loss and accuracy.

:func:`predict` gives a model's logits for a batch of uint8 images, :func:`evaluate` its loss
and accuracy on a data set's test (or training) split.  Both normalise the images as the model
was trained, work through them a batch at a time in eval mode (the model's own mode restored
afterwards), on any device and in bfloat16 where asked, and can average each image's logits
with those of its mirror image and of one-pixel shifts (*test-time augmentation*).  Training
(:mod:`convbook.training`) tests with them after every epoch; the widgets use them too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_choice, check_instance, check_positive_int, check_tensor
from convbook.data import ImageData, check_mean_std, normalize_unchecked, reflect_pad
from convbook.hardware import autocast, resolve_precision, select_device

#: the levels of test-time augmentation: the images as they are, with their mirror images,
#: and also shifted by a pixel
TTA_LEVELS = (0, 1, 2)


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


def _check_tta(tta: object) -> int:
    """``tta`` as its level, 0, 1 or 2 (``False`` is 0, ``True`` 1), else raise."""
    level = int(tta) if isinstance(tta, bool) else tta
    if isinstance(level, float) or level not in TTA_LEVELS:
        raise ValueError(f"tta must be 0, 1 or 2 (or a bool), got {tta!r}")
    return level  # type: ignore[return-value]


def _check_images(images: object) -> None:
    check_tensor(images, "images", [4], ["(N, 3, H, W)"])
    if images.dtype != torch.uint8:  # type: ignore[union-attr]
        raise TypeError(f"images must be uint8 (0..255), got {images.dtype}")  # type: ignore[union-attr]


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
    """Logits ``(N, num_classes)`` (float32, on the CPU) for ``images: (N, 3, H, W)`` uint8,
    normalised with ``mean`` and ``std`` (``(3,)``, on the 0..1 scale).

    ``tta``: 0 (or ``False``) the images as they are; 1 (or ``True``) the average of each
    image's logits and its mirror image's; 2 also averages the mirrored pair shifted one pixel
    up-left and down-right (half the weight on the unshifted pair).
    """
    return logits_with_plain(model, images, mean, std, batch_size=batch_size, device=device,
                             precision=precision, tta=tta)[0]


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
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    _check_images(images)
    check_mean_std(mean, std, images.shape[1], "images")  # once: the batches trust them
    check_positive_int(batch_size, "batch_size")
    level = _check_tta(tta)
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    was_training = model.training
    model.eval()
    averaged, plain = [], []
    try:
        for start in range(0, len(images), batch_size):
            x = normalize_unchecked(images[start:start + batch_size].to(dev), mean, std)
            with autocast(dev, prec):
                views = [(wt, model(v).float()) for wt, v in _views(x, level)]
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
    check_instance(data, "data", ImageData, "an ImageData (convbook.data.cifar10())")
    check_choice(split, "split", ("train", "test"))
    if (mean is None) != (std is None):
        given, missing = ("mean", "std") if std is None else ("std", "mean")
        raise ValueError(f"{missing} must be given with {given} (or leave both out to use the "
                         "training set's statistics)")
    if mean is None or std is None:
        mean, std = data.mean_std()
    images = data.test_images if split == "test" else data.train_images
    labels = data.test_labels if split == "test" else data.train_labels
    logits, plain = logits_with_plain(model, images, mean, std, device=device,
                                      precision=precision, tta=tta)
    result = {"loss": F.cross_entropy(logits, labels).item(),
              "acc": (logits.argmax(1) == labels).float().mean().item()}
    if tta:  # 1 or 2 (checked by logits_with_plain): the plain views' numbers too
        result.update(plain_loss=F.cross_entropy(plain, labels).item(),
                      plain_acc=(plain.argmax(1) == labels).float().mean().item())
    return result
