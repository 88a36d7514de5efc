"""The training engine of the CIFAR-10 chapter: one call, ``fit(model, data)``, and its parts.

Each module uses only those listed after it (tested: no import goes back up)::

    train         fit(model, data, ...): a training run, start to finish        -> run, recipes
    run           Run: set-up, one epoch, its evaluation, checkpoints; StepSums -> all below
    interrupt     StopRequest: Ctrl-C finishes the step, saves, then stops
    optimizers    make_optimizers, set_learning_rates: a recipe's optimizers    -> recipes, optim
    recipes       Recipe, RECIPES, recipe_for, lr_factor: how to train          -> loader
    distributed   init, processes, Processes: data-parallel under torchrun      -> evaluation
    evaluation    predict, evaluate: logits and accuracy, test-time augmentation -> loader
    loader        TrainLoader, downscale, shard: shuffled, augmented batches    -> devices
    checkpoint    save_checkpoint, load_checkpoint: atomic, weights_only
    optim         Muon, orthogonalize: the optimizer of the convolution filters
    live          LiveLoss: the loss curve, drawn while training
    devices       select_device, resolve_precision, reuse_freed_memory

(and the data set itself: :mod:`convbook.data`; the networks: :mod:`convbook.models`.)
The names above are attributes of this package (``convbook.training.train``, ...), imported on
first use.  The chapters' older names still work: ``convbook.train`` is
:mod:`convbook.training.train`, and ``convbook.recipes``, ``convbook.loader``,
``convbook.evaluation``, ``convbook.optim``, ``convbook.checkpoint``, ``convbook.distributed``,
``convbook.devices`` and ``convbook.live`` are the modules of the same name here.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = ("checkpoint", "devices", "distributed", "evaluation", "interrupt", "live", "loader",
            "optim", "optimizers", "recipes", "run", "train")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
