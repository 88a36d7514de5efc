"""A small, fast, reproducible training engine for the CIFAR-10 chapter.

``fit(model, data)`` trains with a named recipe (:mod:`convbook.recipes`: ``"fast"``, the
default, ``"best"`` or ``"tutorial"``).  It runs on the best device available, in bfloat16
mixed precision where the hardware has bfloat16 arithmetic (and says so when it falls back
to float32), augments whole batches on the device, draws live curves, and checkpoints after
every epoch.  Ctrl-C (or Jupyter's stop button) finishes the current step, saves a checkpoint
and stops; ``resume=True`` then ends with exactly the weights of an uninterrupted run.
``evaluate`` and ``predict`` (from :mod:`convbook.evaluation`) measure a model.

Under ``torchrun`` (after :func:`convbook.distributed.init`) ``fit`` trains data-parallel: each
process takes its part of every batch, and only process 0 prints, draws and saves
(:mod:`convbook.distributed` explains the batch, the learning rates and batch norm).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convbook import distributed
from convbook._args import check_bool, check_choice, check_int, check_path
from convbook.checkpoint import load_checkpoint, save_checkpoint
from convbook.data import ImageData, normalize
from convbook.devices import (
    autocast,
    cpu_has_bf16,
    describe_precision,
    resolve_precision,
    reuse_freed_memory,
    select_device,
)
from convbook.evaluation import evaluate, predict
from convbook.live import LiveLoss
from convbook.loader import TrainLoader
from convbook.optim import Muon
from convbook.recipes import RECIPES, Recipe, lr_factor, recipe_for
from convbook.recipes import number as _number

__all__ = [
    "RECIPES", "NonFiniteLossError", "Recipe", "ResumeMismatchError", "cpu_has_bf16",
    "describe_precision", "evaluate", "fit", "lr_factor", "make_optimizers", "predict",
    "recipe_for", "resolve_precision", "select_device",
]


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


def _set_learning_rates(opts: list[torch.optim.Optimizer], r: Recipe, step: int, total: int,
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


# --------------------------------------------------------------------------- Ctrl-C


class _StopRequest:
    """Turns the first Ctrl-C (SIGINT) into a request to stop after the current step.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once.  Outside the main thread (where
    Python cannot install signal handlers) Ctrl-C raises as usual.  With ``agreed=True``
    (data-parallel runs) a Ctrl-C only sets ``signalled``; the training loop sets ``requested``
    once the processes have agreed to stop, so that all of them stop after the same step.
    """

    def __init__(self, agreed: bool = False) -> None:
        self.requested = False
        self.signalled = False
        self.agreed = agreed

    @contextmanager
    def installed(self) -> Iterator[_StopRequest]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            if self.signalled:
                raise KeyboardInterrupt
            self.signalled = True
            self.requested = self.requested or not self.agreed

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message says where and what to try."""


class ResumeMismatchError(ValueError):
    """``resume=True`` with settings or data that differ from the checkpoint's run."""


Callback = Callable[[int, dict[str, list]], None]

#: in a data-parallel run on GPUs, the losses are read (and Ctrl-C agreed on) every this many
#: steps (on the CPU: every step)
_SYNC_EVERY = 8

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "tta_acc", "lr",
                "time")

def data_signature(data: ImageData) -> str:
    """A short hash of the training and test labels and sizes: two subsets of different
    images, or in a different order, get different signatures."""
    h = hashlib.sha256()
    for t in (data.train_labels, data.test_labels):
        h.update(str(tuple(t.shape)).encode())
        h.update(t.to(torch.int64).contiguous().numpy().tobytes())
    h.update(str(tuple(data.train_images.shape)).encode())
    return h.hexdigest()[:16]


def _check_same_run(saved: dict[str, Any], now: dict[str, Any], path: os.PathLike) -> None:
    """Refuse to resume when the checkpoint's run and this one differ."""
    def flat(config: dict[str, Any]) -> dict[str, Any]:
        # a setting added to Recipe after the checkpoint was written had its default then
        defaults = {f.name: f.default for f in dataclasses.fields(Recipe)}
        settings = {**defaults, **config.get("settings", {})}
        return {**{k: v for k, v in config.items() if k not in ("settings", "mean", "std")},
                **{f"recipe's {k}": tuple(v) if isinstance(v, list) else v
                   for k, v in settings.items()}}

    saved, now = flat(saved), flat(now)
    diffs = [f"{k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}"
             for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diffs:
        raise ResumeMismatchError(
            f"cannot resume from {path}: it was written by a different run ("
            + "; ".join(diffs) + "). Resume with the same options, or start afresh with "
            "another checkpoint file"
        )


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


def fit(
    model: nn.Module,
    data: ImageData,
    epochs: int | None = None,
    *,
    recipe: str | Recipe = "fast",
    device: str | torch.device = "auto",
    precision: str = "auto",
    channels_last: bool = True,
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    live: LiveLoss | bool | None = None,
    progress: bool = True,
    callback: Callback | None = None,
    config: dict[str, Any] | None = None,
    minutes: float | None = None,
    eval_every: int = 1,
    **overrides: Any,
) -> dict[str, list]:
    """Train ``model`` on ``data`` and return the history.

    Args:
        model: any ``(N, 3, H, W) → (N, classes)`` module; moved to the device.  A model with
            an ``init_whitening(images)`` method (``FastNet``) has it called with 5,000
            normalised training images first.
        data: train and test images as uint8 tensors (:func:`convbook.data.cifar10`).
        epochs: passes over the training set (default: the recipe's).
        recipe: ``"fast"``, ``"best"``, ``"tutorial"`` or a :class:`Recipe`; ``overrides``
            replace its fields (``lr=0.1``, ``batch_size=256``, ...).
        device: ``"auto"`` (CUDA, MPS, CPU), or a device.
        precision: ``"auto"`` (bf16 autocast where the hardware has bfloat16 arithmetic, see
            :func:`describe_precision`), ``"fp32"`` or ``"bf16"``.
        channels_last: NHWC memory layout (default): faster for convolutions on CPUs and GPUs.
        seed: seeds shuffling, augmentation, the whitening sample and dropout; the same seed
            gives the same run.
        checkpoint: save a checkpoint here after every epoch, and when stopped by Ctrl-C.
        resume: continue from ``checkpoint`` if it exists; the result equals an uninterrupted
            run's.  Refused (:class:`ResumeMismatchError`) when the checkpoint's settings, seed
            or data differ from this run's.
        live: a :class:`LiveLoss`, ``True`` for a new one, ``None``/``False`` for none.
        progress: show a ``tqdm`` bar per epoch.
        callback: called as ``callback(epoch, history)`` after each epoch (and its checkpoint).
        config: plain values stored in the checkpoint (e.g. the model's name); compared on
            resume like the recipe.
        minutes: stop after the epoch during which this many minutes have passed (its
            checkpoint is written; the learning-rate schedule still spans ``epochs``).
        eval_every: measure test accuracy after every this many epochs (0: only at the end);
            the last epoch is always measured, with the recipe's test-time augmentation too.

    In a data-parallel run (:func:`convbook.distributed.init` under ``torchrun``) every process
    calls ``fit`` with the same arguments; each trains on its part of every batch of
    ``batch_size`` images, and the history (and ``callback``) is the same everywhere.  Only
    process 0 shows progress and ``live`` curves and writes the checkpoint; on resume every
    process reads it.

    Returns:
        ``{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "tta_acc", "lr",
        "time"}``, one entry per epoch: ``test_*`` without test-time augmentation (``None``
        for epochs not measured), ``tta_acc`` the accuracy with the recipe's test-time
        augmentation (only after the last epoch, else ``None``), ``time`` the seconds since the
        start of the run, ``lr`` the last step's.

    Raises:
        KeyboardInterrupt: after Ctrl-C, once the current step is done and the checkpoint
            saved.
        NonFiniteLossError: when the loss becomes NaN or infinite.
    """
    r = recipe_for(recipe, epochs=epochs, **overrides)
    epochs = r.epochs
    _check_fit_arguments(model, data, seed, checkpoint, live, callback, config, minutes,
                         eval_every, channels_last=channels_last, resume=resume,
                         progress=progress)
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    procs = distributed.processes()  # None in a plain run
    if procs is not None and not procs.main:
        live, progress = None, False
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    mean, std = (t.to(dev) for t in data.mean_std())
    n_train = len(data.train_labels)
    loader = TrainLoader(data.train_images, data.train_labels, r.batch_size, mean, std,
                         translate=r.translate, flip=r.flip, seed=seed, device=dev,
                         memory_format=fmt, rank=procs.rank if procs else 0,
                         world_size=procs.size if procs else 1)
    steps = len(loader)
    total = epochs * steps
    run_config = {**(config or {}), "settings": dataclasses.asdict(r), "seed": seed,
                  "data": data_signature(data), "mean": mean.tolist(), "std": std.tolist()}

    history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
    start_epoch, start_step, elapsed = 0, 0, 0.0
    partial = {"loss_sum": 0.0, "correct": 0, "seen": 0}
    ckpt = None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        ckpt = load_checkpoint(checkpoint)  # read and checked before anything changes
        _check_same_run(ckpt["config"], run_config, checkpoint)
    model.to(dev, memory_format=fmt)
    if ckpt is None:
        torch.manual_seed(seed)
        if hasattr(model, "init_whitening"):
            g = torch.Generator().manual_seed(seed)
            sample = torch.randperm(n_train, generator=g)[:5000]
            model.init_whitening(normalize(data.train_images[sample].to(dev), mean, std))
        if procs:
            procs.seed(seed)
    whiten_bias = getattr(getattr(model, "whiten", None), "bias", None)
    opts = make_optimizers(model, r, prec)
    if ckpt is not None:
        load_checkpoint(checkpoint, model, opts, restore_rng=True)
        if procs:
            procs.restore_rng(ckpt["rng"], seed)
        start_epoch, history = ckpt["epoch"], ckpt["history"]
        progress_state = ckpt.get("progress") or {}
        start_step = progress_state.get("step", 0)
        partial = progress_state.get("partial", partial)
        elapsed = progress_state.get("time", history["time"][-1] if history["time"] else 0.0)
    if procs:  # a process that found no checkpoint, or other data, would train another run
        procs.check_same({"epoch": start_epoch, "step": start_step, **run_config})
    net = procs.wrap(model) if procs else model  # DDP: the gradients are averaged in backward

    def measure(tta: int = 0) -> dict[str, float]:  # shared out between the processes
        return (procs.evaluate if procs else evaluate)(model, data, mean=mean, std=std,
                                                       device=dev, precision=prec, tta=tta)

    if live is True:
        live = LiveLoss()
    from tqdm.auto import tqdm

    t0 = time.perf_counter() - elapsed
    state = {"epoch": start_epoch, "step": start_step}

    def save(step_in_epoch: int) -> None:
        if checkpoint is None:
            return
        rng = procs.gather_rng() if procs else None  # every process takes part
        if procs is None or procs.main:
            prog = {"step": step_in_epoch, "partial": dict(partial),
                    "time": time.perf_counter() - t0} if step_in_epoch else {}
            save_checkpoint(checkpoint, model, opts, epoch=state["epoch"], history=history,
                            config=run_config, progress=prog, rng=rng)
        if procs:
            procs.barrier()  # none goes on (and maybe reads the file) before it is written

    stop = _StopRequest(agreed=procs is not None)
    stopped_at = {"saved": False}  # has a checkpoint of the current state been written?
    lr = r.lr
    try:
        with stop.installed(), (reuse_freed_memory() if dev.type == "cpu" else nullcontext()):
            for epoch in range(start_epoch, epochs):
                state["epoch"] = epoch
                model.train()
                first = start_step if epoch == start_epoch else 0
                if first == 0:
                    partial = {"loss_sum": 0.0, "correct": 0, "seen": 0}
                pending = _pending(dev)
                batches = loader.epoch(epoch, start=first, scale=r.image_scale(epoch))
                bar = tqdm(batches, total=steps, initial=first, desc=f"epoch {epoch + 1}/{epochs}",
                           leave=False, disable=not progress)
                for i, (xb, yb) in enumerate(bar, start=first):
                    step = epoch * steps + i
                    if whiten_bias is not None and whiten_bias.requires_grad and \
                            step >= r.whiten_epochs * steps and not procs:
                        # its schedule has reached 0.  (DDP expects the same parameters to get
                        # gradients every step: there it stays trainable, with learning rate 0.)
                        whiten_bias.requires_grad_(False)
                    lr = _set_learning_rates(opts, r, step, total, steps)
                    with autocast(dev, prec):
                        logits = net(xb)
                    loss = F.cross_entropy(logits.float(), yb, label_smoothing=r.label_smoothing,
                                           reduction="sum" if r.loss_sum else "mean")
                    for opt in opts:
                        opt.zero_grad(set_to_none=True)
                    if procs:  # DDP averages the gradients: scale them to the whole batch's
                        scale = procs.loss_scale(len(yb), loader.batch_len(i), r.loss_sum)
                        (loss * scale).backward()
                    else:
                        loss.backward()
                    # Reading a number from a GPU waits for it to finish: on a GPU the loss is
                    # read every 0.5 s (and at the end of an epoch), on the CPU every step,
                    # where it costs nothing and a NaN is caught before it reaches the weights.
                    # The processes of a data-parallel run add up their numbers when they read
                    # them, so they must agree on when: on GPUs every _SYNC_EVERY steps.
                    pending["loss"] += loss.detach() * (1 if r.loss_sum else len(yb))
                    pending["correct"] += (logits.argmax(1) == yb).sum()
                    pending["seen"] += len(yb)
                    sync = (dev.type == "cpu" or i + 1 == steps or stop.requested
                            or (i % _SYNC_EVERY == 0 if procs else
                                time.monotonic() - pending["since"] >= 0.5))
                    if sync:
                        flushed = _flush(pending, partial, procs, stop)
                        if not math.isfinite(flushed):
                            raise NonFiniteLossError(
                                f"the training loss became {flushed} at epoch {epoch + 1}, "
                                f"step {i + 1} (lr {lr:.3g}); stopped before the weights took "
                                "it in. Lower the learning rate, or check the data"
                                if dev.type == "cpu" else
                                f"the training loss became {flushed} by epoch {epoch + 1}, "
                                f"step {i + 1} (lr {lr:.3g}). Lower the learning rate, or "
                                "check the data"
                            )
                        if live:
                            live.update(epoch + (i + 1) / steps, loss=flushed)
                    for opt in opts:
                        opt.step()
                    if stop.requested:  # (in a data-parallel run: on every process)
                        if i + 1 == steps:
                            break  # the epoch is done: finish it (test, checkpoint), then stop
                        save(i + 1)
                        stopped_at["saved"] = True
                        raise KeyboardInterrupt
                done = epoch + 1
                last = done == epochs or (minutes is not None and
                                          time.perf_counter() - t0 >= minutes * 60)
                if procs and minutes is not None:
                    last = procs.any(last)  # the clocks of the processes differ
                tta_acc = None
                if last and r.tta:  # one pass gives the plain accuracy and the TTA one
                    both = measure(tta=r.tta)
                    test = {"loss": both["plain_loss"], "acc": both["plain_acc"]}
                    tta_acc = both["acc"]
                elif last or (eval_every and done % eval_every == 0):
                    test = measure()
                else:
                    test = {"loss": None, "acc": None}
                train_loss = partial["loss_sum"] / max(1, partial["seen"])
                train_acc = partial["correct"] / max(1, partial["seen"])
                for key, value in (("epoch", done), ("train_loss", train_loss),
                                   ("train_acc", train_acc), ("test_loss", test["loss"]),
                                   ("test_acc", test["acc"]), ("tta_acc", tta_acc), ("lr", lr),
                                   ("time", time.perf_counter() - t0)):
                    history[key].append(value)
                if live:
                    shown = {"train_acc": round(train_acc, 4)}
                    if test["acc"] is not None:
                        shown.update(test_loss=round(test["loss"], 4),
                                     test_acc=round(test["acc"], 4))
                    if tta_acc is not None:
                        shown["tta_acc"] = round(tta_acc, 4)
                    live.epoch_end(done, **shown)
                state["epoch"] = done
                save(0)
                stopped_at["saved"] = checkpoint is not None
                if callback is not None:
                    callback(done, history)
                if stop.requested:
                    raise KeyboardInterrupt
                if last:
                    break
    except KeyboardInterrupt:
        if procs and not procs.main:
            raise
        if checkpoint is not None and stopped_at["saved"]:
            print(f"\ninterrupted: checkpoint saved to {checkpoint}; resume=True continues "
                  "from where it stopped")
        elif checkpoint is not None and Path(checkpoint).exists():
            print(f"\ninterrupted: {checkpoint} holds the last completed epoch; resume=True "
                  "continues from there")
        raise
    finally:
        if whiten_bias is not None:
            whiten_bias.requires_grad_(True)  # as it was, for another call of fit
        if live:
            live.close()
    return history


def _pending(device: torch.device) -> dict[str, Any]:
    """Running sums of the steps not yet read back from the device."""
    return {"loss": torch.zeros((), device=device), "seen": 0,
            "correct": torch.zeros((), dtype=torch.long, device=device),
            "since": time.monotonic()}


def _flush(pending: dict[str, Any], partial: dict[str, Any],
           procs: distributed.Processes | None = None, stop: _StopRequest | None = None) -> float:
    """Move ``pending`` into the epoch's sums ``partial``; return its mean loss per image.

    In a data-parallel run the sums are added up over the processes, and so is the Ctrl-C flag
    of ``stop``: if any process was interrupted, every process's ``stop.requested`` is set.
    """
    if procs is None:
        loss, correct, seen = pending["loss"].item(), pending["correct"].item(), pending["seen"]
    else:
        loss, correct, seen, stops = procs.sum(pending["loss"], pending["correct"],
                                                pending["seen"], stop.signalled)
        stop.requested = stop.requested or stops > 0
    partial["loss_sum"] += loss
    partial["correct"] += int(correct)
    partial["seen"] += int(seen)
    pending.update(_pending(pending["loss"].device))
    return loss / max(1, seen)


