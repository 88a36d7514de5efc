"""Training recipes: the settings of one way to train, checked, by name.

* ``"fast"`` (the default): :class:`~convbook.models.FastNet` at widths 32/128/128 for three
  epochs; 85% test accuracy (with test-time augmentation) in two minutes on a 2-core CPU
  with bfloat16 arithmetic, under four without (``benchmarks/RESULTS.md``);
* ``"best"``: airbench's full network (64/256/256) for eight epochs;
* ``"tutorial"``: the PyTorch tutorial's plain SGD, for :class:`~convbook.models.TutorialNet`.

``recipe_for("fast", lr=0.1)`` returns a recipe with some settings replaced, after checking
every setting; ``lr_factor`` is the learning-rate schedule.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from convbook._args import check_choice, check_int, check_positive_int
from convbook.training.loader import FLIPS, check_scale

SCHEDULES = ("linear", "onecycle", "constant")


@dataclass(frozen=True)
class Recipe:
    """How to train: the network it is made for, the optimizer, the schedule, augmentation.

    Attributes:
        model: the network the recipe is made for (``convbook.models.build`` name).
        widths: ``FastNet`` block widths (``None`` for the model's default).
        epochs: passes over the training set.
        batch_size: images per step.
        optimizer: ``"muon"`` (:class:`~convbook.optim.Muon` for convolution filters, SGD for
            biases and the head) or ``"sgd"`` (SGD for everything).
        lr: learning rate of the filters (Muon) or of everything (SGD).
        bias_lr, head_lr: with ``"muon"``, SGD learning rates of the biases (batch norm,
            whitening) and of the linear head.
        momentum: SGD momentum; ``muon_momentum`` that of Muon.
        nesterov: Nesterov momentum for SGD.
        weight_decay: decay per image, decoupled from the learning rate: each step shrinks
            the weights by about ``weight_decay · batch_size``.
        label_smoothing: weight moved from the true class to all classes in the loss.
        loss_sum: sum the loss over the batch (learning rates are then per image) instead of
            averaging it.
        translate: random shifts of up to this many pixels (reflect padding); 0 for none.
        flip: ``"alternating"``, ``"random"`` or ``"none"`` (see :mod:`convbook.loader`).
        schedule: ``"linear"`` (decay from 1 to 0), ``"onecycle"`` (linear warm-up over
            ``warmup`` of the steps, then linear decay) or ``"constant"``.
        warmup: fraction of the steps spent warming up (``"onecycle"``).
        whiten_epochs: epochs during which the whitening layer's bias is trained (its
            learning rate decays to 0 over them); 0 freezes it.
        tta: test-time augmentation of the final evaluation: 0 none, 1 the average with the
            mirror image, 2 also with one-pixel shifts (6 views).
        image_scales: progressive resizing: the scale, in ``(0, 1]``, of the training images
            in the first epochs (epoch ``i`` trains on images scaled down by
            ``image_scales[i]``, see :func:`convbook.loader.downscale`: ``0.75`` makes CIFAR's
            32×32 images 24×24); the epochs after them, and every test, use the images as
            they are.  ``()`` trains at full size throughout.
    """

    model: str = "fast"
    widths: tuple[int, ...] | None = (32, 128, 128)
    epochs: int = 3
    batch_size: int = 1000
    optimizer: str = "muon"
    lr: float = 0.24
    bias_lr: float = 0.053
    head_lr: float = 0.67
    momentum: float = 0.85
    muon_momentum: float = 0.6
    nesterov: bool = True
    weight_decay: float = 2e-6
    label_smoothing: float = 0.2
    loss_sum: bool = True
    translate: int = 2
    flip: str = "alternating"
    schedule: str = "linear"
    warmup: float = 0.0
    whiten_epochs: float = 3.0
    tta: int = 2
    image_scales: tuple[float, ...] = ()

    def image_scale(self, epoch: int) -> float:
        """The scale of the training images in epoch ``epoch`` (0-based); 1: full size."""
        return self.image_scales[epoch] if epoch < len(self.image_scales) else 1.0


RECIPES = {
    # airbench94_muon's settings, on a network of half its width, for 3 of its 8 epochs, the
    # first of them on images scaled down to 24×24 (about half of an epoch's work), and the
    # whitening layer's bias trained in that first epoch only.
    "fast": Recipe(image_scales=(0.75,), whiten_epochs=1.0),
    # airbench94_muon (Keller Jordan, 2024): its network, batch size and epochs.
    "best": Recipe(widths=(64, 256, 256), epochs=8, batch_size=2000),
    # PyTorch's "Training a Classifier" tutorial: plain SGD with momentum, no augmentation
    # (its batch size of 4 is raised to 32 so that a CPU epoch takes seconds, not minutes).
    "tutorial": Recipe(model="tutorial", widths=None, epochs=20, batch_size=32,
                       optimizer="sgd", lr=0.01, momentum=0.9, nesterov=False,
                       weight_decay=0.0, label_smoothing=0.0, loss_sum=False, translate=0,
                       flip="none", schedule="constant", whiten_epochs=0, tta=0),
}


def number(value: Any, name: str) -> float:
    """``value`` as a float, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _check_recipe(r: Recipe) -> None:
    """Raise a ``ValueError``/``TypeError`` naming the first setting that makes no sense."""
    for name in ("epochs", "batch_size"):
        check_positive_int(getattr(r, name), name)
    if isinstance(r.translate, bool) or not isinstance(r.translate, int) or r.translate < 0:
        raise ValueError(f"translate must be an int >= 0, got {r.translate!r}")
    if r.tta not in (0, 1, 2) or isinstance(r.tta, bool):
        raise ValueError(f"tta must be 0, 1 or 2, got {r.tta!r}")
    for name in ("lr", "bias_lr", "head_lr", "weight_decay", "whiten_epochs"):
        if number(getattr(r, name), name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(r, name)}")
    if r.lr == 0:
        raise ValueError("lr must be > 0, got 0")
    for name in ("momentum", "muon_momentum", "label_smoothing", "warmup"):
        if not 0 <= number(getattr(r, name), name) < 1:
            raise ValueError(f"{name} must be in [0, 1), got {getattr(r, name)}")
    if r.optimizer not in ("muon", "sgd"):
        raise ValueError(f"optimizer must be 'muon' or 'sgd', got {r.optimizer!r}")
    if r.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {r.schedule!r}")
    if r.flip not in FLIPS:
        raise ValueError(f"flip must be one of {FLIPS}, got {r.flip!r}")
    for name in ("nesterov", "loss_sum"):
        if not isinstance(getattr(r, name), bool):
            raise TypeError(f"{name} must be True or False, got {getattr(r, name)!r}")
    if not isinstance(r.image_scales, tuple):
        raise TypeError(f"image_scales must be a tuple of numbers, got {r.image_scales!r}")
    for i, scale in enumerate(r.image_scales):
        check_scale(scale, f"image_scales[{i}]")
    if r.widths is not None:
        if not isinstance(r.widths, tuple) or not r.widths:
            raise ValueError(f"widths must be a non-empty tuple of ints or None, got {r.widths!r}")
        for i, w in enumerate(r.widths):
            check_positive_int(w, f"widths[{i}]")


def recipe_for(recipe: str | Recipe, **overrides: Any) -> Recipe:
    """The named recipe with ``overrides`` applied (``None`` values are ignored), checked."""
    if isinstance(recipe, Recipe):
        base = recipe
    elif isinstance(recipe, str) and recipe in RECIPES:
        base = RECIPES[recipe]
    else:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)} or a Recipe, got {recipe!r}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(Recipe)}
    if unknown:
        raise TypeError(f"unknown recipe settings: {sorted(unknown)}")
    for name in ("widths", "image_scales"):
        if isinstance(changes.get(name), list):
            changes[name] = tuple(changes[name])
    r = dataclasses.replace(base, **changes)
    _check_recipe(r)
    return r


def lr_factor(step: int, total: int, schedule: str, warmup: float = 0.0) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``total`` steps.

    * ``"linear"``: ``1 - step / total``, from 1 down to ``1 / total``;
    * ``"onecycle"``: rises linearly from ``1 / n_warm`` to 1 over the first
      ``n_warm = round(warmup · total)`` steps, then falls linearly to 0 at the last step;
    * ``"constant"``: 1.
    """
    check_int(total, "total", minimum=1)
    check_int(step, "step", minimum=0, maximum=total - 1)
    check_choice(schedule, "schedule", SCHEDULES)
    if not 0 <= number(warmup, "warmup") < 1:
        raise ValueError(f"warmup must be in [0, 1), got {warmup}")
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return max(0.0, 1 - step / total)
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    return max(0.0, (total - step) / max(1, total - n_warm))
