"""Training recipes: the settings of one way to train, checked, by name, and what they make.

* ``"fast"`` (the default, :data:`DEFAULT_RECIPE`): :class:`~convbook.models.FastNet` at widths
  32/128/128 for three epochs; 85% test accuracy (with test-time augmentation) in two minutes
  on a 2-core CPU with bfloat16 arithmetic, under four without (``benchmarks/RESULTS.md``);
* ``"best"``: airbench's full network (64/256/256) for eight epochs;
* ``"tutorial"``: the PyTorch tutorial's plain SGD, for :class:`~convbook.models.TutorialNet`.

A :class:`Recipe` checks its settings when it is made (:data:`RECIPES` holds the named ones,
:func:`recipe_for` replaces some settings of one); everything that uses it trusts them.
:func:`lr_factor` is the learning-rate schedule, :func:`make_optimizers` makes the
optimizers a recipe asks for and :func:`set_learning_rates` applies its schedule to them at
every step.

This module loads no torch until :func:`make_optimizers` is called: the command line reads
the table (``convbook train --help``) without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convbook._args import (
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

#: the networks a recipe can name: the keys of :data:`convbook.models.MODELS` (a test holds
#: them equal; this module loads no torch, so it cannot read them there)
NETWORKS = ("fast", "tutorial", "wide")
SCHEDULES = ("linear", "onecycle", "constant")
FLIPS = ("alternating", "random", "none")
OPTIMIZERS = ("muon", "sgd")


@dataclass(frozen=True)
class Recipe:
    """How to train: the network it is made for, the optimizer, the schedule, augmentation.

    Every setting is checked when the recipe is made (a ``TypeError`` or ``ValueError``
    naming the setting and the rule).

    Attributes:
        model: the network the recipe is made for (one of :data:`NETWORKS`, a
            :data:`convbook.models.MODELS` name).
        widths: ``FastNet`` block widths (``None`` for the model's default).
        epochs: passes over the training set.
        batch_size: images per step.
        optimizer: ``"muon"`` (:class:`~convbook.training.muon.Muon` for convolution filters,
            SGD for biases and the head) or ``"sgd"`` (SGD for everything).
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
        flip: ``"alternating"``, ``"random"`` or ``"none"`` (see
            :mod:`convbook.training.loader`).
        schedule: ``"linear"`` (decay from 1 to 0), ``"onecycle"`` (linear warm-up over
            ``warmup`` of the steps, then linear decay) or ``"constant"``.
        warmup: fraction of the steps spent warming up (``"onecycle"``).
        whiten_epochs: epochs during which the whitening layer's bias is trained (its
            learning rate decays to 0 over them); 0 freezes it.
        tta: test-time augmentation of the final evaluation: 0 none, 1 the average with the
            mirror image, 2 also with one-pixel shifts (6 views).
        image_scales: progressive resizing: the scale, in ``(0, 1]``, of the training images
            in the first epochs (epoch ``i`` trains on images scaled down by
            ``image_scales[i]``, see :func:`convbook.training.loader.downscale`: ``0.75`` makes
            CIFAR's 32×32 images 24×24); the epochs after them, and every test, use the images
            as they are.  ``()`` trains at full size throughout.
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

    def __post_init__(self) -> None:
        """Check every setting (a ``ValueError``/``TypeError`` naming the first that makes no
        sense) and keep it as a plain Python value (numpy's numbers become ``int``/``float``,
        so that a checkpoint's copy of the settings loads with ``weights_only=True``)."""
        checked: dict[str, Any] = {"model": check_choice(self.model, "model", NETWORKS)}
        if self.widths is not None:
            check_instance(self.widths, "widths", tuple, "a tuple of ints or None")
            if not self.widths:
                raise ValueError("widths must name at least one block, got ()")
            checked["widths"] = tuple(check_positive_int(w, f"widths[{i}]")
                                      for i, w in enumerate(self.widths))
        for name in ("epochs", "batch_size"):
            checked[name] = check_positive_int(getattr(self, name), name)
        checked["optimizer"] = check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        checked["lr"] = check_number(self.lr, "lr", low=0, low_ok=False)
        for name in ("bias_lr", "head_lr", "weight_decay", "whiten_epochs"):
            checked[name] = check_number(getattr(self, name), name, low=0)
        for name in ("momentum", "muon_momentum", "label_smoothing", "warmup"):
            checked[name] = check_number(getattr(self, name), name, low=0, high=1)
        for name in ("nesterov", "loss_sum"):
            checked[name] = check_bool(getattr(self, name), name)
        checked["translate"] = check_int(self.translate, "translate", minimum=0)
        checked["flip"] = check_choice(self.flip, "flip", FLIPS)
        checked["schedule"] = check_choice(self.schedule, "schedule", SCHEDULES)
        if isinstance(self.tta, bool) or self.tta not in (0, 1, 2):
            raise ValueError(f"tta must be 0, 1 or 2, got {self.tta!r}")
        checked["tta"] = int(self.tta)
        check_instance(self.image_scales, "image_scales", tuple, "a tuple of numbers")
        checked["image_scales"] = tuple(
            check_number(scale, f"image_scales[{i}]", low=0, low_ok=False, high=1, high_ok=True)
            for i, scale in enumerate(self.image_scales))
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

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

#: the recipe of ``convbook train`` and ``fit`` when none is named
DEFAULT_RECIPE = "fast"
#: the recipe of a network that no recipe is made for: plain SGD suits any network
PLAIN_RECIPE = "tutorial"


def recipe_named_for(network: str | None) -> str:
    """The name of the recipe that trains ``network`` when no recipe is named: the default
    recipe for its own network (and for ``None``), else the first recipe made for the
    network, else :data:`PLAIN_RECIPE`.

    >>> recipe_named_for(None), recipe_named_for("fast"), recipe_named_for("wide")
    ('fast', 'fast', 'tutorial')
    """
    if network is None:
        return DEFAULT_RECIPE
    check_choice(network, "network", NETWORKS)
    if RECIPES[DEFAULT_RECIPE].model == network:
        return DEFAULT_RECIPE
    return next((name for name, r in RECIPES.items() if r.model == network), PLAIN_RECIPE)


def recipe_for(recipe: str | Recipe, **overrides: Any) -> Recipe:
    """The named recipe (or ``recipe`` itself) with ``overrides`` applied; ``None`` values
    are ignored, and lists become tuples.  The result is checked when it is made; a recipe
    given without overrides is returned as it is (it was checked when it was made)."""
    if isinstance(recipe, Recipe):
        base = recipe
    elif isinstance(recipe, str) and recipe in RECIPES:
        base = RECIPES[recipe]
    else:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)} or a Recipe, got {recipe!r}")
    changes = {k: tuple(v) if isinstance(v, list) else v
               for k, v in overrides.items() if v is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(Recipe)}
    if unknown:
        raise TypeError(f"unknown recipe settings: {sorted(unknown)}")
    return dataclasses.replace(base, **changes) if changes else base


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
    check_number(warmup, "warmup", low=0, high=1)
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return max(0.0, 1 - step / total)
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    return max(0.0, (total - step) / max(1, total - n_warm))


# --------------------------------------------------------------------------- the optimizers


def make_optimizers(model: nn.Module, r: Recipe, precision: str = "bf16"
                    ) -> list[torch.optim.Optimizer]:
    """The optimizers of recipe ``r`` for ``model``'s trainable parameters.

    ``precision`` is the run's (resolved, ``"bf16"`` or ``"fp32"``): Muon orthogonalises its
    updates in bfloat16 in a ``"bf16"`` run, as airbench does, and in float32 in an ``"fp32"``
    run, where the hardware may lack fast bfloat16 products.

    ``"sgd"``: one SGD over everything.  ``"muon"``: :class:`~convbook.training.muon.Muon` for
    every trainable weight with 4 dimensions (the convolution filters), and SGD with three
    groups for the rest: the whitening bias (``model.whiten.bias``, if any), the head
    (parameters named ``head.*``) and all other parameters (batch-norm biases).  Weight decay
    is per image (see :class:`Recipe`), so each group gets ``weight_decay · batch_size / its
    lr``.
    """
    import torch  # here, not at the top: the recipes above are read without torch
    from torch import nn

    from convbook.training.muon import Muon

    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    check_instance(r, "r", Recipe, "a Recipe (convbook.training.recipes.recipe_for)")
    check_choice(precision, "precision", ("bf16", "fp32"))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")

    def sgd(groups: list[dict]) -> torch.optim.SGD:
        groups = [g for g in groups if g["params"]]
        for g in groups:
            g["weight_decay"] = r.weight_decay * r.batch_size / g["lr"] if g["lr"] else 0.0
            g["initial_lr"] = g["lr"]
        return torch.optim.SGD(groups, lr=r.lr, momentum=r.momentum,
                               nesterov=r.nesterov and r.momentum > 0)

    if r.optimizer == "sgd":
        return [sgd([{"params": [p for _, p in named], "lr": r.lr, "name": "all"}])]
    whiten_bias = getattr(getattr(model, "whiten", None), "bias", None)
    filters = [p for _, p in named if p.ndim == 4]
    head = [p for n, p in named if n.startswith("head.")]
    taken = {id(p) for p in (*filters, *head)} | {id(whiten_bias)}
    rest = [p for _, p in named if id(p) not in taken]
    groups = [{"params": [whiten_bias] if whiten_bias is not None and whiten_bias.requires_grad
               else [], "lr": r.bias_lr, "name": "whiten_bias"},
              {"params": rest, "lr": r.bias_lr, "name": "biases"},
              {"params": head, "lr": r.head_lr, "name": "head"}]
    opts: list[torch.optim.Optimizer] = [sgd(groups)]
    if filters:
        muon = Muon(filters, lr=r.lr, momentum=r.muon_momentum, nesterov=True,
                    dtype=torch.bfloat16 if precision == "bf16" else torch.float32)
        muon.param_groups[0]["initial_lr"] = r.lr
        muon.param_groups[0]["name"] = "filters"
        opts.append(muon)
    return opts


def set_learning_rates(opts: list[torch.optim.Optimizer], r: Recipe, step: int,
                       steps_per_epoch: int, factor: float) -> float:
    """Set every group's lr for ``step`` of a run of ``r`` with the optimizers of
    :func:`make_optimizers`: ``factor`` (the schedule's, :func:`lr_factor`) times each group's
    initial lr, and the whitening bias's own decay over ``r.whiten_epochs``.  Called every
    step with values ``fit`` has checked (it computes the schedule's factors once, before the
    first step), it checks nothing.  Returns the main lr (``r.lr × factor``)."""
    whiten_steps = r.whiten_epochs * steps_per_epoch
    for opt in opts:
        for g in opt.param_groups:
            if g.get("name") == "whiten_bias":
                g["lr"] = g["initial_lr"] * max(0.0, 1 - step / whiten_steps) if whiten_steps \
                    else 0.0
            else:
                g["lr"] = g["initial_lr"] * factor
    return r.lr * factor
