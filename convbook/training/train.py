"""``fit``: train a CIFAR-10 classifier with a recipe, the whole engine behind one call.

``fit(model, data)`` trains with a named recipe (:mod:`convbook.training.recipes`: ``"fast"``,
the default, ``"best"`` or ``"tutorial"``).  It runs on the best device available, in bfloat16
mixed precision where the hardware has bfloat16 arithmetic (and says so when it falls back to
float32), augments whole batches on the device, draws live curves, and checkpoints after every
epoch.  Ctrl-C (or Jupyter's stop button) finishes the current step, saves a checkpoint and
stops; ``resume=True`` then ends with exactly the weights of an uninterrupted run.  The phases of
a run (set-up, an epoch, its evaluation, checkpoints) are :class:`~convbook.training.run.Run`'s.

Under ``torchrun`` (after :func:`convbook.training.distributed.init`) every process calls
``fit`` with the same arguments and trains on its part of every batch of ``batch_size``
images; the history (and ``callback``) is the same everywhere.  Only process 0 shows progress
and ``live`` curves and writes the checkpoint; on resume every process reads it.

``fit`` returns the history: ``{"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
"tta_acc", "lr", "time"}``, one entry per epoch: ``test_*`` without test-time augmentation
(``None`` for epochs not measured), ``tta_acc`` the accuracy with the recipe's test-time
augmentation (only after the last epoch, else ``None``), ``time`` the seconds since the start
of the run, ``lr`` the last step's.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convbook._args import check_bool, check_int, check_path
from convbook.data import ImageData
from convbook.training.devices import (
    cpu_has_bf16,
    describe_precision,
    resolve_precision,
    reuse_freed_memory,
    select_device,
)
from convbook.training.evaluation import evaluate, predict
from convbook.training.live import LiveLoss
from convbook.training.optimizers import make_optimizers
from convbook.training.recipes import RECIPES, Recipe, lr_factor, recipe_for
from convbook.training.recipes import number as _number
from convbook.training.run import (
    HISTORY_KEYS,
    Callback,
    NonFiniteLossError,
    ResumeMismatchError,
    Run,
    data_signature,
)

__all__ = [
    "HISTORY_KEYS", "RECIPES", "NonFiniteLossError", "Recipe", "ResumeMismatchError",
    "cpu_has_bf16", "data_signature", "describe_precision", "evaluate", "fit", "lr_factor",
    "make_optimizers", "predict", "recipe_for", "resolve_precision", "select_device",
]


def fit(model: nn.Module, data: ImageData, epochs: int | None = None, *,
        recipe: str | Recipe = "fast", device: str | torch.device = "auto",
        precision: str = "auto", channels_last: bool = True, seed: int = 0,
        checkpoint: str | os.PathLike[str] | None = None, resume: bool = False,
        live: LiveLoss | bool | None = None, progress: bool = True,
        callback: Callback | None = None, config: dict[str, Any] | None = None,
        minutes: float | None = None, eval_every: int = 1, **overrides: Any) -> dict[str, list]:
    """Train ``model`` on ``data`` and return the history (see the module docstring).

    Args:
        model: any ``(N, 3, H, W) → (N, classes)`` module, moved to the device; one with an
            ``init_whitening(images)`` method (``FastNet``) has it called with 5,000 images.
        data: train and test images as uint8 tensors (:func:`convbook.data.cifar10`).
        epochs, overrides: replace the recipe's settings (``lr=0.1``, ``batch_size=256``).
        recipe: ``"fast"``, ``"best"``, ``"tutorial"`` or a :class:`Recipe`.
        device: ``"auto"`` (CUDA, MPS, CPU), or a device.
        precision: ``"auto"`` (:func:`describe_precision`), ``"fp32"`` or ``"bf16"``.
        channels_last: NHWC memory layout (default): faster convolutions on CPUs and GPUs.
        seed: seeds shuffling, augmentation, the whitening sample and dropout.
        checkpoint: saved here after every epoch, and when stopped by Ctrl-C.
        resume: continue from ``checkpoint`` if it exists, ending as an uninterrupted run
            would; refused (:class:`ResumeMismatchError`) if its settings, seed or data differ.
        live: a :class:`LiveLoss`, ``True`` for a new one, ``None``/``False`` for none.
        progress: a ``tqdm`` bar per epoch.
        callback: called as ``callback(epoch, history)`` after each epoch and its checkpoint.
        config: plain values stored in the checkpoint and compared on resume.
        minutes: stop after the epoch during which this many minutes have passed.
        eval_every: test after every this many epochs (0: only after the last, which is
            always tested, with the recipe's test-time augmentation too).

    Raises:
        KeyboardInterrupt: after Ctrl-C, once the current step is done and the checkpoint saved.
        NonFiniteLossError: when the loss becomes NaN or infinite.
    """
    r = recipe_for(recipe, epochs=epochs, **overrides)
    _check_fit_arguments(model, data, seed, checkpoint, live, callback, config, minutes,
                         eval_every, channels_last=channels_last, resume=resume,
                         progress=progress)
    run = Run(model, data, r, device=device, precision=precision, channels_last=channels_last,
              seed=seed, checkpoint=checkpoint, resume=resume, live=live, progress=progress,
              callback=callback, config=config, minutes=minutes, eval_every=eval_every)
    try:
        with run.stop.installed(), reuse_freed_memory() if run.dev.type == "cpu" else _nothing():
            for epoch in range(run.epoch, r.epochs):
                run.train_epoch(epoch)
                if run.end_epoch(epoch):
                    break
    except KeyboardInterrupt:
        run.say_interrupted()
        raise
    finally:
        run.close()
    return run.history


def _nothing() -> nullcontext:
    """No context: what the CPU's memory reuse becomes on other devices."""
    return nullcontext()


def _check_fit_arguments(model, data, seed, checkpoint, live, callback, config, minutes,
                         eval_every, **flags) -> None:
    """Raise a ``TypeError``/``ValueError`` naming the first argument of ``fit`` that is bad."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData (convbook.data.cifar10()), got "
                        f"{type(data).__name__}")
    check_int(seed, "seed", minimum=0)
    check_int(eval_every, "eval_every", minimum=0)
    for name, value in flags.items():
        check_bool(value, name)
    if minutes is not None and not _number(minutes, "minutes") > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    if checkpoint is not None:
        check_path(checkpoint, "checkpoint")
        if Path(checkpoint).is_dir():
            raise ValueError(f"checkpoint must be a file path, got the directory {checkpoint}")
    if live is not None and not isinstance(live, (bool, LiveLoss)):
        raise TypeError(f"live must be a LiveLoss, True, False or None, got {live!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(epoch, history), got "
                        f"{callback!r}")
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config must be a dict of plain values, got {config!r}")


