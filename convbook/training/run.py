"""One training run, phase by phase: the parts :func:`~convbook.training.train.fit` joins.

A :class:`Run` is set up once: device and precision, the batches, the model on the device with
its whitening, the optimizers, or all of that from a checkpoint.  Then it trains one epoch at a
time (:meth:`Run.train_epoch`, the loop of chapter 8 with a schedule, mixed precision and
Ctrl-C), measures and records each epoch (:meth:`Run.end_epoch`), and saves a checkpoint
(:meth:`Run.save`) after every epoch and when Ctrl-C stops it in the middle of one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convbook.data import ImageData, normalize
from convbook.training import distributed
from convbook.training.checkpoint import load_checkpoint, save_checkpoint
from convbook.training.devices import autocast, resolve_precision, select_device
from convbook.training.evaluation import evaluate
from convbook.training.interrupt import StopRequest
from convbook.training.live import LiveLoss
from convbook.training.loader import TrainLoader
from convbook.training.optimizers import make_optimizers, set_learning_rates
from convbook.training.recipes import Recipe

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


def data_signature(data: ImageData) -> str:
    """A short hash of the training and test labels and sizes: two subsets of different
    images, or in a different order, get different signatures."""
    h = hashlib.sha256()
    for t in (data.train_labels, data.test_labels):
        h.update(str(tuple(t.shape)).encode())
        h.update(t.to(torch.int64).contiguous().numpy().tobytes())
    h.update(str(tuple(data.train_images.shape)).encode())
    return h.hexdigest()[:16]


def check_same_run(saved: dict[str, Any], now: dict[str, Any], path: os.PathLike) -> None:
    """Raise :class:`ResumeMismatchError` when the checkpoint's run (``saved``, its config) and
    this one (``now``) differ in a setting, the seed or the data, naming every difference."""
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

    The arguments are those of :func:`~convbook.training.train.fit` (checked there).  Setting
    up reads the checkpoint first when resuming (and refuses one of another run), then puts
    the model on the device, computes its whitening from the data (a fresh run) or restores
    its weights, optimizers and random state (a resumed one), and makes the optimizers.
    ``epoch`` and ``first_step`` say where training starts.
    """

    def __init__(self, model: nn.Module, data: ImageData, r: Recipe, *,
                 device: str | torch.device, precision: str, channels_last: bool, seed: int,
                 checkpoint: str | os.PathLike[str] | None, resume: bool,
                 live: LiveLoss | bool | None, progress: bool, callback: Callback | None,
                 config: dict[str, Any] | None, minutes: float | None,
                 eval_every: int) -> None:
        self.model, self.data, self.r = model, data, r
        self.dev = select_device(device)
        self.prec = resolve_precision(precision, self.dev)
        self.procs = distributed.processes()  # None in a plain run
        if self.procs is not None and not self.procs.main:
            live, progress = None, False  # process 0 speaks for all
        self.checkpoint, self.callback, self.progress = checkpoint, callback, progress
        self.minutes, self.eval_every = minutes, eval_every
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.mean, self.std = (t.to(self.dev) for t in data.mean_std())
        self.loader = TrainLoader(
            data.train_images, data.train_labels, r.batch_size, self.mean, self.std,
            translate=r.translate, flip=r.flip, seed=seed, device=self.dev, memory_format=fmt,
            rank=self.procs.rank if self.procs else 0,
            world_size=self.procs.size if self.procs else 1)
        self.steps = len(self.loader)
        self.config = {**(config or {}), "settings": dataclasses.asdict(r), "seed": seed,
                       "data": data_signature(data), "mean": self.mean.tolist(),
                       "std": self.std.tolist()}
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.epoch, self.first_step, elapsed = 0, 0, 0.0
        sums = None
        saved = None
        if resume and checkpoint is not None and Path(checkpoint).exists():
            saved = load_checkpoint(checkpoint)  # read and checked before anything changes
            check_same_run(saved["config"], self.config, checkpoint)
        model.to(self.dev, memory_format=fmt)
        if saved is None:
            self._initialise(seed)
        self.whiten_bias = getattr(getattr(model, "whiten", None), "bias", None)
        self.opts = make_optimizers(model, r, self.prec)
        if saved is not None:
            load_checkpoint(checkpoint, model, self.opts, restore_rng=True)
            if self.procs:
                self.procs.restore_rng(saved["rng"], seed)
            self.epoch, self.history = saved["epoch"], saved["history"]
            at = saved.get("progress") or {}
            self.first_step, sums = at.get("step", 0), at.get("partial")
            elapsed = at.get("time", self.history["time"][-1] if self.history["time"] else 0.0)
        if self.procs:  # a process that found no checkpoint, or other data, would train another
            self.procs.check_same({"epoch": self.epoch, "step": self.first_step, **self.config})
        self.net = self.procs.wrap(model) if self.procs else model  # DDP averages gradients
        self.sums = StepSums(self.dev, sums)
        self.live = LiveLoss() if live is True else live or None
        self.stop = StopRequest(agreed=self.procs is not None)
        self.saved = False  # has a checkpoint of the current state been written?
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

        Raises ``KeyboardInterrupt`` after saving when Ctrl-C stops it before its last step,
        and :class:`NonFiniteLossError` when the loss becomes NaN or infinite.
        """
        from tqdm.auto import tqdm

        r, steps = self.r, self.steps
        self.model.train()
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
                raise KeyboardInterrupt

    def _step(self, epoch: int, i: int, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Step ``i`` of epoch ``epoch`` on the batch ``xb: (B, C, H, W)``, ``yb: (B,)``."""
        r, steps, procs = self.r, self.steps, self.procs
        step = epoch * steps + i
        wb = self.whiten_bias
        if wb is not None and wb.requires_grad and step >= r.whiten_epochs * steps and not procs:
            # its schedule has reached 0.  (DDP expects the same parameters to get gradients
            # every step: there it stays trainable, with learning rate 0.)
            wb.requires_grad_(False)
        self.lr = set_learning_rates(self.opts, r, step, r.epochs * steps, steps)
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
        raises ``KeyboardInterrupt`` when Ctrl-C asked to stop."""
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
            raise KeyboardInterrupt
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
        self.saved = True

    def say_interrupted(self) -> None:
        """After Ctrl-C: say where the run can be resumed from (process 0 only)."""
        if (self.procs and not self.procs.main) or self.checkpoint is None:
            return
        if self.saved:
            print(f"\ninterrupted: checkpoint saved to {self.checkpoint}; resume=True continues "
                  "from where it stopped")
        elif Path(self.checkpoint).exists():
            print(f"\ninterrupted: {self.checkpoint} holds the last completed epoch; "
                  "resume=True continues from there")

    def close(self) -> None:
        """Leave the model as it was given (its whitening bias trainable) and the curves shut."""
        if self.whiten_bias is not None:
            self.whiten_bias.requires_grad_(True)  # as it was, for another call of fit
        if self.live:
            self.live.close()
