"""``fit``: train a CIFAR-10 classifier with a recipe, the whole engine behind one call.

``fit(model, data)`` trains with a named recipe (:mod:`convbook.training.recipes`: ``"fast"``,
the default, ``"best"`` or ``"tutorial"``).  It runs on the best device available, in bfloat16
mixed precision where the hardware has bfloat16 arithmetic (and says so when it falls back to
float32), augments whole batches on the device, draws live curves, and checkpoints after every
epoch.  Ctrl-C (or Jupyter's stop button) finishes the current step, saves a checkpoint and
stops (:class:`StopRequest`, :class:`TrainingInterrupted`); ``resume=True`` then ends with
exactly the weights of an uninterrupted run.  In Jupyter the stop reads as one line, no
traceback (:class:`Stopped`; :func:`stops_quietly` does the same for a hand-written loop).

A :class:`Run` holds the phases of one run: set up once (device and precision, the batches, the
model on the device with its whitening, the optimizers, or all of that from a checkpoint), then
one epoch at a time (:meth:`Run.train_epoch`, the loop of chapter 8 with a schedule, mixed
precision and Ctrl-C), each epoch measured and recorded (:meth:`Run.end_epoch`), and a
checkpoint saved (:meth:`Run.save`) after every epoch and when Ctrl-C stops it in the middle
of one.  ``fit`` checks its arguments; everything after trusts them.

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

import dataclasses
import hashlib
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import (
    TooLargeError,
    check_bool,
    check_callable,
    check_instance,
    check_int,
    check_number,
    check_path,
    memory_bytes,
)
from convbook.data import ImageData, normalize
from convbook.hardware import autocast, resolve_precision, reuse_freed_memory, select_device
from convbook.inference import evaluate
from convbook.training import distributed
from convbook.training.checkpoint import read_checkpoint, restore_checkpoint, save_checkpoint
from convbook.training.live import LiveLoss
from convbook.training.loader import TrainLoader
from convbook.training.recipes import (
    Recipe,
    lr_factor,
    make_optimizers,
    recipe_for,
    set_learning_rates,
)

#: what ``fit`` returns: one entry per epoch under each key
HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "tta_acc", "lr",
                "time")

#: in a data-parallel run on GPUs, the losses are read (and Ctrl-C agreed on) every this many
#: steps (on the CPU: every step)
_SYNC_EVERY = 8

Callback = Callable[[int, dict[str, list]], None]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message says where and what to try."""


class ResumeMismatchError(ValueError):
    """``resume=True`` with settings or data that differ from the checkpoint's run."""


class Stopped(KeyboardInterrupt):
    """A Ctrl-C (or Jupyter's stop button) that Jupyter reports in one line, its message,
    instead of a traceback into library code: IPython shows what ``_render_traceback_``
    returns.  In a terminal it is an ordinary ``KeyboardInterrupt``."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def stops_quietly(message: str) -> AbstractContextManager[None]:
    """Inside, Ctrl-C (or Jupyter's stop button) raises :class:`Stopped` with ``message``, one
    line in Jupyter, instead of a ``KeyboardInterrupt`` with a traceback into whatever code it
    landed in (a hand-written training loop spends its time in torch and matplotlib).  A
    :class:`Stopped` raised inside (:func:`fit`'s :class:`TrainingInterrupted`) passes as it is.

    >>> try:
    ...     with stops_quietly("the demo stopped"):
    ...         raise KeyboardInterrupt
    ... except Stopped as stop:
    ...     print(stop._render_traceback_())
    ['Stopped: the demo stopped']
    """
    check_instance(message, "message", str, "the line to show when Ctrl-C stops the code")
    return _reraised_as_stopped(message)


@contextmanager
def _reraised_as_stopped(message: str) -> Iterator[None]:
    try:
        yield
    except Stopped:
        raise
    except KeyboardInterrupt:
        raise Stopped(message) from None


class TrainingInterrupted(Stopped):
    """Ctrl-C stopped ``fit`` (after finishing its step).  The message says where the run can
    be resumed from.  ``checkpoint`` is the file (``None`` if none was given); ``resumable``
    whether it holds this run (written by it, or the checkpoint it resumed from), and
    ``saved`` whether it was written at the point where the run stopped (else it holds the
    last completed epoch)."""

    def __init__(self, checkpoint: str | os.PathLike[str] | None, resumable: bool,
                 saved: bool) -> None:
        self.checkpoint, self.resumable, self.saved = checkpoint, resumable, saved
        again = "fit(..., resume=True) with the same arguments continues"
        if checkpoint is None:
            text = "interrupted; no checkpoint= was given, so the run cannot be resumed"
        elif not resumable:
            text = f"interrupted before the first checkpoint was written to {checkpoint}"
        elif saved:
            text = f"interrupted: checkpoint saved to {checkpoint}; {again} where it stopped"
        else:
            text = f"interrupted: {checkpoint} holds the last completed epoch; {again} there"
        super().__init__(text)


def data_signature(data: ImageData) -> str:
    """A short hash of the training and test labels and sizes: two subsets of different
    images, or in a different order, get different signatures."""
    check_instance(data, "data", ImageData, "an ImageData (convbook.data.cifar10())")
    h = hashlib.sha256()
    for t in (data.train_labels, data.test_labels):
        h.update(str(tuple(t.shape)).encode())
        h.update(t.to(torch.int64).contiguous().numpy().tobytes())
    h.update(str(tuple(data.train_images.shape)).encode())
    return h.hexdigest()[:16]


def check_same_run(saved: dict[str, Any], now: dict[str, Any], path: os.PathLike | str) -> None:
    """Raise :class:`ResumeMismatchError` when the checkpoint's run (``saved``, its config) and
    this one (``now``) differ in a setting, the seed or the data, naming every difference, one
    a line."""
    def flat(config: dict[str, Any]) -> dict[str, Any]:
        # a setting added to Recipe after the checkpoint was written had its default then
        defaults = {f.name: f.default for f in dataclasses.fields(Recipe)}
        settings = {**defaults, **config.get("settings", {})}
        return {**{k: v for k, v in config.items() if k not in ("settings", "mean", "std")},
                **{f"recipe's {k}": tuple(v) if isinstance(v, list) else v
                   for k, v in settings.items()}}

    saved, now = flat(saved), flat(now)
    diffs = [f"  {k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}"
             for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diffs:
        raise ResumeMismatchError(
            f"cannot resume from {path}: it was written by a different run; it differs in\n"
            + "\n".join(diffs) + "\nResume with the same options, or start afresh with "
            "another checkpoint file")


class StopRequest:
    """Turns the first Ctrl-C (SIGINT, or Jupyter's stop button) into a request to stop after
    the current step, which the training loop reads after every step.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once.  Outside the main thread (where
    Python cannot install signal handlers) Ctrl-C raises as usual.  With ``agreed=True``
    (data-parallel runs) a Ctrl-C only sets ``signalled``; the training loop sets ``requested``
    once the processes have agreed to stop, so that all of them stop after the same step.
    """

    def __init__(self, agreed: bool = False) -> None:
        self.requested = False
        self.signalled = False
        self.agreed = check_bool(agreed, "agreed")

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Inside: Ctrl-C sets the request instead of raising (the previous handler after)."""
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


class StepSums:
    """An epoch's training loss, correct answers and images, summed over its steps.

    ``epoch`` holds the sums already read back from the device (``loss_sum``, ``correct``,
    ``seen``; saved in mid-epoch checkpoints); the steps since then add to device tensors that
    :meth:`flush` reads, which on a GPU waits for the device to finish: it is done every
    step on the CPU, every half second on a GPU.
    """

    def __init__(self, device: torch.device, epoch: dict[str, Any] | None = None) -> None:
        self.device = device
        self.epoch = dict(epoch) if epoch else {"loss_sum": 0.0, "correct": 0, "seen": 0}
        self._clear()

    def _clear(self) -> None:
        self.loss = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), dtype=torch.long, device=self.device)
        self.seen = 0
        self.since = time.monotonic()

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """One step: ``loss`` summed over its images, ``logits: (B, classes)``, ``labels: (B,)``."""
        self.loss += loss.detach()
        self.correct += (logits.argmax(1) == labels).sum()
        self.seen += len(labels)

    def flush(self, procs: distributed.Processes | None = None,
              stop: StopRequest | None = None) -> float:
        """Move the steps not read yet into ``epoch``; return their mean loss per image.

        In a data-parallel run the sums are added up over the processes, and so is the Ctrl-C
        flag of ``stop``: if any process was interrupted, every process's ``stop.requested``
        is set.
        """
        if procs is None:
            loss, correct, seen = self.loss.item(), self.correct.item(), self.seen
        else:
            loss, correct, seen, stops = procs.sum(self.loss, self.correct, self.seen,
                                                    stop.signalled)
            stop.requested = stop.requested or stops > 0
        self.epoch["loss_sum"] += loss
        self.epoch["correct"] += int(correct)
        self.epoch["seen"] += int(seen)
        self._clear()
        return loss / max(1, seen)

    def means(self) -> tuple[float, float]:
        """The epoch's mean training loss per image and its training accuracy."""
        seen = max(1, self.epoch["seen"])
        return self.epoch["loss_sum"] / seen, self.epoch["correct"] / seen


class Run:
    """A training run of ``model`` on ``data`` with recipe ``r``, set up and ready to train.

    The arguments are those of :func:`fit`, checked there: the device already selected, the
    precision resolved (``"bf16"`` or ``"fp32"``), and ``saved`` the checkpoint to resume
    from, already read (``None`` for a fresh run).  Setting up refuses a checkpoint of another
    run and a run too large for the device's memory before anything is allocated, then puts
    the model on the device, computes its whitening from the data (a fresh run) or restores
    its weights, optimizers and random state (a resumed one), and makes the optimizers.
    ``epoch`` and ``first_step`` say where training starts.
    """

    def __init__(self, model: nn.Module, data: ImageData, r: Recipe, *, dev: torch.device,
                 prec: str, channels_last: bool, seed: int,
                 checkpoint: str | os.PathLike[str] | None, saved: dict[str, Any] | None,
                 live: LiveLoss | bool | None, progress: bool, callback: Callback | None,
                 config: dict[str, Any] | None, minutes: float | None,
                 eval_every: int) -> None:
        self.model, self.data, self.r = model, data, r
        self.dev, self.prec = dev, prec
        self.procs = distributed.processes()  # None in a plain run
        if self.procs is not None and not self.procs.main:
            live, progress = None, False  # process 0 speaks for all
        self.checkpoint, self.callback, self.progress = checkpoint, callback, progress
        self.minutes, self.eval_every = minutes, eval_every
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.config = {**(config or {}), "settings": dataclasses.asdict(r), "seed": seed,
                       "data": data_signature(data)}
        if saved is not None:  # checked before anything is allocated or changed
            check_same_run(saved["config"], self.config, checkpoint or "the checkpoint")
        world = self.procs.size if self.procs else 1
        check_memory(model, data, -(-r.batch_size // world), r.translate, prec, dev)
        self.mean, self.std = (t.to(self.dev) for t in data.mean_std())
        self.config.update(mean=self.mean.tolist(), std=self.std.tolist())
        self.loader = TrainLoader(
            data.train_images, data.train_labels, r.batch_size, self.mean, self.std,
            translate=r.translate, flip=r.flip, seed=seed, device=self.dev, memory_format=fmt,
            rank=self.procs.rank if self.procs else 0, world_size=world)
        self.steps = len(self.loader)
        total = r.epochs * self.steps  # the schedule, once: no step checks it again
        self.factors = [lr_factor(s, total, r.schedule, r.warmup) for s in range(total)]
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.epoch, self.first_step, elapsed = 0, 0, 0.0
        sums = None
        model.to(self.dev, memory_format=fmt)
        if saved is None:
            self._initialise(seed)
        self.whiten_bias = getattr(getattr(model, "whiten", None), "bias", None)
        self.opts = make_optimizers(model, r, self.prec)
        if saved is not None:
            restore_checkpoint(saved, model, self.opts, restore_rng=True,
                               path=checkpoint or "the checkpoint")
            if self.procs:
                self.procs.restore_rng(saved["rng"], seed)
            self.epoch, self.history = saved["epoch"], saved["history"]
            at = saved.get("progress") or {}
            self.first_step, sums = at.get("step", 0), at.get("partial")
            elapsed = at.get("time", self.history["time"][-1] if self.history["time"] else 0.0)
        if self.procs:  # a process that found another checkpoint, or other data, would train
            self.procs.check_same({"epoch": self.epoch, "step": self.first_step, **self.config})
        self.net = self.procs.wrap(model) if self.procs else model  # DDP averages gradients
        self.sums = StepSums(self.dev, sums)
        self.live = LiveLoss() if live is True else live or None
        self.stop = StopRequest(agreed=self.procs is not None)
        self.saved = False  # has a checkpoint of the current state been written?
        self.wrote = saved is not None  # does the checkpoint file hold this run?
        self.lr = r.lr
        self.t0 = time.perf_counter() - elapsed

    def _initialise(self, seed: int) -> None:
        """A fresh run: seed everything, and set the whitening filters from 5,000 images."""
        torch.manual_seed(seed)
        if hasattr(self.model, "init_whitening"):
            g = torch.Generator().manual_seed(seed)
            sample = torch.randperm(len(self.data.train_labels), generator=g)[:5000]
            images = self.data.train_images[sample].to(self.dev)
            self.model.init_whitening(normalize(images, self.mean, self.std))
        if self.procs:
            self.procs.seed(seed)

    # ------------------------------------------------------------------ one epoch

    def train_epoch(self, epoch: int) -> None:
        """Train epoch ``epoch`` (0-based), from ``first_step`` when it is the one resumed.

        Raises :class:`TrainingInterrupted` after saving when Ctrl-C stops it before its last
        step, and :class:`NonFiniteLossError` when the loss becomes NaN or infinite.
        """
        from tqdm.auto import tqdm

        r, steps = self.r, self.steps
        self.model.train()
        self.saved = False  # the last checkpoint, if any, is of an earlier point
        first = self.first_step if epoch == self.epoch else 0
        if first == 0:
            self.sums = StepSums(self.dev)
        batches = self.loader.epoch(epoch, start=first, scale=r.image_scale(epoch))
        bar = tqdm(batches, total=steps, initial=first, desc=f"epoch {epoch + 1}/{r.epochs}",
                   leave=False, disable=not self.progress)
        for i, (xb, yb) in enumerate(bar, start=first):
            self._step(epoch, i, xb, yb)
            if self.stop.requested:  # (in a data-parallel run: on every process)
                if i + 1 == steps:
                    return  # the epoch is done: finish it (test, checkpoint), then stop
                self.save(epoch, i + 1)
                raise self.interrupted()

    def _step(self, epoch: int, i: int, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Step ``i`` of epoch ``epoch`` on the batch ``xb: (B, C, H, W)``, ``yb: (B,)``."""
        r, steps, procs = self.r, self.steps, self.procs
        step = epoch * steps + i
        wb = self.whiten_bias
        if wb is not None and wb.requires_grad and step >= r.whiten_epochs * steps and not procs:
            # its schedule has reached 0.  (DDP expects the same parameters to get gradients
            # every step: there it stays trainable, with learning rate 0.)
            wb.requires_grad_(False)
        self.lr = set_learning_rates(self.opts, r, step, steps, self.factors[step])
        with autocast(self.dev, self.prec):
            logits = self.net(xb)
        loss = F.cross_entropy(logits.float(), yb, label_smoothing=r.label_smoothing,
                               reduction="sum" if r.loss_sum else "mean")
        for opt in self.opts:
            opt.zero_grad(set_to_none=True)
        if procs:  # DDP averages the gradients: scale them to the whole batch's
            (loss * procs.loss_scale(len(yb), self.loader.batch_len(i), r.loss_sum)).backward()
        else:
            loss.backward()
        self.sums.add(loss * (1 if r.loss_sum else len(yb)), logits, yb)
        # Reading a number from a GPU waits for it to finish: on a GPU the loss is read every
        # 0.5 s (and at the end of an epoch), on the CPU every step, where it costs nothing and
        # a NaN is caught before it reaches the weights.  The processes of a data-parallel run
        # add up their numbers when they read them, so they must agree on when: on GPUs every
        # _SYNC_EVERY steps.
        if (self.dev.type == "cpu" or i + 1 == steps or self.stop.requested
                or (i % _SYNC_EVERY == 0 if procs else
                    time.monotonic() - self.sums.since >= 0.5)):
            mean_loss = self.sums.flush(procs, self.stop)
            if not math.isfinite(mean_loss):
                when = "at" if self.dev.type == "cpu" else "by"
                kept = ("; stopped before the weights took it in" if self.dev.type == "cpu"
                        else "")
                raise NonFiniteLossError(
                    f"the training loss became {mean_loss} {when} epoch {epoch + 1}, step "
                    f"{i + 1} (lr {self.lr:.3g}){kept}. Lower the learning rate, or check "
                    "the data")
            if self.live:
                self.live.update(epoch + (i + 1) / steps, loss=mean_loss)
        for opt in self.opts:
            opt.step()

    # ------------------------------------------------------------------ after an epoch

    def measure(self, tta: int = 0) -> dict[str, float]:
        """Test loss and accuracy (with test-time augmentation ``tta``), shared out between
        the processes of a data-parallel run."""
        measure = self.procs.evaluate if self.procs else evaluate
        return measure(self.model, self.data, mean=self.mean, std=self.std, device=self.dev,
                       precision=self.prec, tta=tta)

    def end_epoch(self, epoch: int) -> bool:
        """After epoch ``epoch``: test (every ``eval_every`` epochs, and with test-time
        augmentation after the last), record the history, show it, save a checkpoint, call the
        callback.  Returns True when this was the last epoch (or the time budget ran out);
        raises :class:`TrainingInterrupted` when Ctrl-C asked to stop."""
        r, done = self.r, epoch + 1
        last = done == r.epochs or (self.minutes is not None and
                                    time.perf_counter() - self.t0 >= self.minutes * 60)
        if self.procs and self.minutes is not None:
            last = self.procs.any(last)  # the clocks of the processes differ
        tta_acc = None
        if last and r.tta:  # one pass gives the plain accuracy and the TTA one
            both = self.measure(tta=r.tta)
            test = {"loss": both["plain_loss"], "acc": both["plain_acc"]}
            tta_acc = both["acc"]
        elif last or (self.eval_every and done % self.eval_every == 0):
            test = self.measure()
        else:
            test = {"loss": None, "acc": None}
        train_loss, train_acc = self.sums.means()
        for key, value in (("epoch", done), ("train_loss", train_loss), ("train_acc", train_acc),
                           ("test_loss", test["loss"]), ("test_acc", test["acc"]),
                           ("tta_acc", tta_acc), ("lr", self.lr),
                           ("time", time.perf_counter() - self.t0)):
            self.history[key].append(value)
        if self.live:
            shown = {"train_acc": round(train_acc, 4)}
            if test["acc"] is not None:
                shown.update(test_loss=round(test["loss"], 4), test_acc=round(test["acc"], 4))
            if tta_acc is not None:
                shown["tta_acc"] = round(tta_acc, 4)
            self.live.epoch_end(done, **shown)
        self.save(done, 0)
        if self.callback is not None:
            self.callback(done, self.history)
        if self.stop.requested:
            raise self.interrupted()
        return last

    def save(self, epoch: int, step_in_epoch: int) -> None:
        """Write the checkpoint (if any): ``epoch`` epochs done and ``step_in_epoch`` steps of
        the next (with that epoch's sums so far and the time).  In a data-parallel run every
        process takes part (its random state), process 0 writes, and all wait for the file."""
        if self.checkpoint is None:
            return
        rng = self.procs.gather_rng() if self.procs else None
        if self.procs is None or self.procs.main:
            at = {"step": step_in_epoch, "partial": dict(self.sums.epoch),
                  "time": time.perf_counter() - self.t0} if step_in_epoch else {}
            save_checkpoint(self.checkpoint, self.model, self.opts, epoch=epoch,
                            history=self.history, config=self.config, progress=at, rng=rng)
        if self.procs:
            self.procs.barrier()  # none goes on (and maybe reads the file) before it is written
        self.saved = self.wrote = True

    def interrupted(self) -> TrainingInterrupted:
        """What Ctrl-C raises: where the run can be resumed from."""
        return TrainingInterrupted(self.checkpoint, self.wrote, self.saved)

    def close(self) -> None:
        """Leave the model as it was given (its whitening bias trainable) and the curves shut."""
        if self.whiten_bias is not None:
            self.whiten_bias.requires_grad_(True)  # as it was, for another call of fit
        if self.live:
            self.live.close()


def check_memory(model: nn.Module, data: ImageData, batch: int, translate: int, prec: str,
                 dev: torch.device) -> None:
    """Raise :class:`~convbook._args.TooLargeError` when training ``model`` on ``data`` with
    ``batch`` images a step (this process's share) cannot fit in the memory of ``dev``
    (:func:`convbook._args.memory_bytes`), before anything is allocated.

    The estimate is a lower bound, so it never refuses a run that would fit: the training
    images padded for shifts of ``translate`` pixels (uint8, copied to the device), and one
    batch's activations, every layer's output kept for the backward pass (2 bytes a number
    in a bfloat16 run, else 4).  The outputs of one image are counted by running the model,
    in eval mode, on a tensor of the "meta" device, which has a shape but no memory.
    """
    n, c, h, w = data.train_images.shape
    images = n * c * (h + 2 * translate) * (w + 2 * translate)
    per_image = _activations(model, (c, h, w)) * (2 if prec == "bf16" else 4)
    available = memory_bytes(str(dev) if dev.type == "cuda" else "cpu")
    needed = images + min(batch, n) * per_image
    if needed <= available:
        return
    gb = lambda b: f"{b / 1e9:.3g} GB"  # noqa: E731
    if images + per_image > available:
        advice = "resize the images (CIFAR-10's are 32×32)"
    else:
        advice = "train with a smaller batch size, or resize the images"
    raise TooLargeError(
        f"data: training on {h}×{w} images needs at least {gb(needed)} ({gb(per_image)} "
        f"of activations per image, {min(batch, n)} images a step, and {gb(images)} of "
        f"images), more than the {gb(available)} of memory here: {advice}")


def _activations(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """Numbers in the outputs of every leaf module of ``model`` for one image of ``shape``,
    counted on the meta device (no memory, no computation)."""
    from torch.func import functional_call

    total = 0

    def count(module: nn.Module, args: object, out: object) -> None:
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if next(m.children(), None) is None]
    state = {k: v.to("meta") for k, v in (*model.named_parameters(), *model.named_buffers())}
    was_training = model.training
    model.eval()  # the same shapes as in training, without what a model does only then
    try:
        with torch.no_grad():
            functional_call(model, state, (torch.empty(1, *shape, device="meta"),))
    except Exception:  # a model that cannot run on the meta device is not estimated
        return 0
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total


def fit(model: nn.Module, data: ImageData, epochs: int | None = None, *,
        recipe: str | Recipe = "fast", device: str | torch.device = "auto",
        precision: str = "auto", channels_last: bool = True, seed: int = 0,
        checkpoint: str | os.PathLike[str] | None = None,
        resume: bool | dict[str, Any] = False, live: LiveLoss | bool | None = None,
        progress: bool = True, callback: Callback | None = None,
        config: dict[str, Any] | None = None, minutes: float | None = None,
        eval_every: int = 1, **overrides: Any) -> dict[str, list]:
    """Train ``model`` on ``data`` and return the history (see the module docstring).

    Args:
        model: any ``(N, 3, H, W) → (N, classes)`` module, moved to the device; one with an
            ``init_whitening(images)`` method (``FastNet``) has it called with 5,000 images.
        data: train and test images as uint8 tensors (:func:`convbook.data.cifar10`).
        epochs, overrides: replace the recipe's settings (``lr=0.1``, ``batch_size=256``).
        recipe: ``"fast"``, ``"best"``, ``"tutorial"`` or a :class:`Recipe`.
        device: ``"auto"`` (CUDA, MPS, CPU), or a device.
        precision: ``"auto"`` (:func:`convbook.hardware.describe_precision`), ``"fp32"`` or
            ``"bf16"``.
        channels_last: NHWC memory layout (default): faster convolutions on CPUs and GPUs.
        seed: seeds shuffling, augmentation, the whitening sample and dropout.
        checkpoint: saved here after every epoch, and when stopped by Ctrl-C.
        resume: continue from ``checkpoint``, ending as an uninterrupted run would; refused
            (:class:`ResumeMismatchError`) if its settings, seed or data differ, and
            (``FileNotFoundError``) if there is no such file.  ``True`` reads the file; a
            checkpoint already read (:func:`~convbook.training.checkpoint.read_checkpoint`)
            is used as it is (the command line reads it before the data set, to refuse a bad
            file early).
        live: a :class:`LiveLoss`, ``True`` for a new one, ``None``/``False`` for none.
        progress: a ``tqdm`` bar per epoch.
        callback: called as ``callback(epoch, history)`` after each epoch and its checkpoint.
        config: plain values stored in the checkpoint and compared on resume.
        minutes: stop after the epoch during which this many minutes have passed.
        eval_every: test after every this many epochs (0: only after the last, which is
            always tested, with the recipe's test-time augmentation too).

    Raises:
        TrainingInterrupted: after Ctrl-C, once the current step is done and the checkpoint
            saved (a ``KeyboardInterrupt``; its message says how to resume).
        NonFiniteLossError: when the loss becomes NaN or infinite.
        TooLargeError: when the images are too large to train on with this memory.
    """
    r = recipe_for(recipe, epochs=epochs, **overrides)
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    check_instance(data, "data", ImageData, "an ImageData (convbook.data.cifar10())")
    check_int(seed, "seed", minimum=0)
    check_int(eval_every, "eval_every", minimum=0)
    for name, flag in (("channels_last", channels_last), ("progress", progress)):
        check_bool(flag, name)
    if minutes is not None:
        check_number(minutes, "minutes", low=0, low_ok=False)
    if checkpoint is not None:
        check_path(checkpoint, "checkpoint")
        if Path(checkpoint).is_dir():
            raise ValueError(f"checkpoint must be a file path, got the directory {checkpoint}")
    if live is not None:
        check_instance(live, "live", (bool, LiveLoss), "a LiveLoss, True, False or None")
    if callback is not None:
        check_callable(callback, "callback", "as callback(epoch, history)")
    if config is not None:
        check_instance(config, "config", dict, "a dict of plain values")
    saved = None
    if not isinstance(resume, dict) and check_bool(resume, "resume"):
        if checkpoint is None:
            raise ValueError("resume=True needs checkpoint=, the file to resume from")
        saved = read_checkpoint(checkpoint)  # FileNotFoundError when there is none
    elif isinstance(resume, dict):
        saved = resume
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    run = Run(model, data, r, dev=dev, prec=prec, channels_last=channels_last, seed=seed,
              checkpoint=checkpoint, saved=saved, live=live, progress=progress,
              callback=callback, config=config, minutes=minutes, eval_every=eval_every)
    try:
        with run.stop.installed(), reuse_freed_memory() if dev.type == "cpu" else nullcontext():
            for epoch in range(run.epoch, r.epochs):
                run.train_epoch(epoch)
                if run.end_epoch(epoch):
                    break
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside a training step
        raise run.interrupted() from None
    finally:
        run.close()
    return run.history
