"""The optimizers of a recipe, and their learning rates at every step.

:func:`make_optimizers` gives the filters of a network to
:class:`~convbook.training.optim.Muon` and everything else to SGD in groups (biases, the head,
the whitening bias), as the recipe says; :func:`set_learning_rates` applies the recipe's
schedule (:func:`~convbook.training.recipes.lr_factor`) to every group before a step.
"""

from __future__ import annotations

import torch
from torch import nn

from convbook._args import check_choice
from convbook.training.optim import Muon
from convbook.training.recipes import Recipe, lr_factor


def make_optimizers(model: nn.Module, r: Recipe, precision: str = "bf16"
                    ) -> list[torch.optim.Optimizer]:
    """The optimizers of recipe ``r`` for ``model``'s trainable parameters.

    ``precision`` is the run's (resolved, ``"bf16"`` or ``"fp32"``): Muon orthogonalises its
    updates in bfloat16 in a ``"bf16"`` run, as airbench does, and in float32 in an ``"fp32"``
    run, where the hardware may lack fast bfloat16 products.

    ``"sgd"``: one SGD over everything.  ``"muon"``: Muon for every trainable weight with 4
    dimensions (the convolution filters), and SGD with three groups for the rest: the
    whitening bias (``model.whiten.bias``, if any), the head (parameters named ``head.*``)
    and all other parameters (batch-norm biases).  Weight decay is per image (see
    :class:`Recipe`), so each group gets ``weight_decay · batch_size / its lr``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(r, Recipe):
        raise TypeError(f"r must be a Recipe (convbook.recipes.recipe_for), got {r!r}")
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


def set_learning_rates(opts: list[torch.optim.Optimizer], r: Recipe, step: int, total: int,
                        steps_per_epoch: int) -> float:
    """Set every group's lr for ``step``; returns the main factor's lr (``r.lr × factor``)."""
    factor = lr_factor(step, total, r.schedule, r.warmup)
    whiten_steps = r.whiten_epochs * steps_per_epoch
    for opt in opts:
        for g in opt.param_groups:
            if g.get("name") == "whiten_bias":
                g["lr"] = g["initial_lr"] * max(0.0, 1 - step / whiten_steps) if whiten_steps \
                    else 0.0
            else:
                g["lr"] = g["initial_lr"] * factor
    return r.lr * factor
