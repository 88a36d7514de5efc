"""Data-parallel training over several processes, as launched by ``torchrun``.

``torchrun --standalone --nproc_per_node=2 -m convbook train ...`` starts two copies of the
program and tells each, in environment variables, who it is (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``) and where to meet the others (``MASTER_ADDR``, ``MASTER_PORT``).  This module is
the plumbing :func:`convbook.training.fit.fit` needs for such a run:

* :func:`init` joins the run (backend ``nccl`` on CUDA GPUs, ``gloo`` on the CPU, one GPU per
  process) and :func:`close` leaves it; in a plain ``python`` run they do nothing, and
  :func:`processes` returns ``None``, so the single-process code path is untouched.
* :func:`shard`: which part of every batch a process trains on.  The batch of ``B`` images is the
  *global* batch: each of ``N`` processes takes ``B / N`` of its images (a contiguous part of the
  epoch's shuffled order), so the steps, the learning rates and the schedule of a recipe stay the
  same, whatever ``N``.
* :meth:`Processes.loss_scale`: DDP *averages* the processes' gradients; the loss is scaled so
  that this average is exactly the gradient one process would compute for the whole batch.
* :meth:`Processes.sum` adds numbers over the processes (the training loss and accuracy, and
  the Ctrl-C flag, so that every process stops after the same step).

Batch norm keeps per-process statistics: each process normalises with the mean and variance
of its own ``B / N`` images (PyTorch's ``SyncBatchNorm`` runs only on GPUs and costs two
collectives per layer and step).  The running statistics used for testing are those of
process 0, copied to the others before every evaluation (:meth:`Processes.evaluate`).
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from convbook._args import check_positive_float
from convbook.hardware import select_device
from convbook.inference import logits_with_plain
from convbook.training.checkpoint import rng_state, set_rng_state
from convbook.training.loader import shard

__all__ = ["DisagreementError", "LostProcessError", "Processes", "close", "describe_failure",
           "init", "launched", "processes", "shard", "sigterm_raises"]

#: what torchrun (and any ``env://`` launcher) sets in each process
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class LostProcessError(RuntimeError):
    """Another process of the run failed, hung or was stopped, so this one cannot go on."""


class DisagreementError(ValueError):
    """The processes of a run start from different data, options or checkpoints."""


def launched() -> bool:
    """True when a launcher such as ``torchrun`` started this process as part of a run."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def _env_int(name: str) -> int:
    text = os.environ.get(name)
    if text is None:
        raise ValueError(f"{name} is not set: start the run with torchrun, which sets "
                         f"{', '.join(ENV_VARS)}")
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None


def init(device: str | torch.device = "auto", timeout: float = 600.0) -> torch.device:
    """Join the run this process was launched into, and return the device it computes on.

    In a plain run (no ``RANK``/``WORLD_SIZE`` in the environment) this only resolves
    ``device`` (:func:`convbook.hardware.select_device`).  Under ``torchrun`` it starts the
    process group: ``nccl`` with one GPU per process (``cuda:LOCAL_RANK``) when the device is a
    CUDA GPU, else ``gloo`` on the CPU.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; under torchrun a GPU index is refused
            (each process takes the GPU of its ``LOCAL_RANK``; pick GPUs with
            ``CUDA_VISIBLE_DEVICES``).
        timeout: seconds a process waits for the others in one exchange before it stops with
            an error, instead of hanging when another process hangs or its machine is gone.
    """
    timeout = check_positive_float(timeout, "timeout")
    dev = select_device(device)
    if not launched():
        return dev
    if dist.is_initialized():
        raise RuntimeError("init was called twice: this process already belongs to a run")
    rank, size, local = _env_int("RANK"), _env_int("WORLD_SIZE"), _env_int("LOCAL_RANK")
    if not 0 <= rank < size:
        raise ValueError(f"RANK must be in [0, WORLD_SIZE), got RANK={rank}, WORLD_SIZE={size}")
    if dev.type == "cuda":
        if dev.index is not None:
            raise ValueError(
                f"device {str(device)!r}: under torchrun each process uses the GPU of its "
                "LOCAL_RANK; pass 'cuda' or 'auto' (choose GPUs with CUDA_VISIBLE_DEVICES)")
        if local >= torch.cuda.device_count():
            raise ValueError(f"process with LOCAL_RANK {local} has no GPU: this machine has "
                             f"{torch.cuda.device_count()}; start fewer processes per machine")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    elif dev.type != "cpu":
        raise ValueError(f"device {dev.type!r}: data-parallel runs work on CUDA GPUs (nccl) "
                         "or on the CPU (gloo); pass --device cpu")
    dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                            timeout=datetime.timedelta(seconds=timeout))
    return dev


def close() -> None:
    """Leave the run (nothing in a plain run)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        # gloo's worker threads may still be letting go of the last exchanges' tensors, which
        # takes the interpreter's lock; if the interpreter is already shutting down by then,
        # the process aborts ("terminate called without an active exception", about one exit
        # in 12 with torch 2.14).  Giving them a moment while it still runs avoids that.
        time.sleep(0.1)


@dataclass(frozen=True)
class Processes:
    """The processes of a data-parallel run, as seen from one of them.

    Attributes:
        rank: this process's number, 0 to ``size - 1``; process 0 prints and saves.
        size: the number of processes.
        device: where the tensors of the exchanges live (this process's GPU for ``nccl``,
            else the CPU).
    """

    rank: int
    size: int
    device: torch.device

    @property
    def main(self) -> bool:
        """True for process 0, the one that prints, draws and writes checkpoints."""
        return self.rank == 0

    def sum(self, *values: float | torch.Tensor) -> list[float]:
        """Each value added up over all processes (one exchange for all of them)."""
        t = torch.stack([torch.as_tensor(v, dtype=torch.float64).to(self.device).reshape(())
                         for v in values])
        dist.all_reduce(t)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """True on every process if ``flag`` is true on at least one."""
        return self.sum(float(flag))[0] > 0

    def barrier(self) -> None:
        """Wait until every process has come here."""
        dist.barrier()

    def check_same(self, values: dict[str, Any]) -> None:
        """Raise :class:`DisagreementError` on every process unless all have equal ``values``
        (plain Python values: where training starts, the data's signature, the settings)."""
        everyone: list[Any] = [None] * self.size
        dist.all_gather_object(everyone, values)
        diffs = [f"process {r} has {k} {v.get(k)!r:.60}, process 0 {everyone[0].get(k)!r:.60}"
                 for r, v in enumerate(everyone) for k in sorted(set(v) | set(everyone[0]))
                 if v.get(k) != everyone[0].get(k)]
        if diffs:
            raise DisagreementError(
                "the processes of the run disagree (" + "; ".join(diffs[:4])
                + "): every process must read the same data with the same options, and the "
                "same checkpoint (on a file system that every machine shares)")

    def loss_scale(self, n_here: int, n_batch: int, loss_sum: bool) -> float:
        """Factor for this process's loss so that DDP's *average* of the gradients equals the
        gradient of one process computing the loss of the whole batch.

        ``n_here`` of the batch's ``n_batch`` images are this process's.  With the loss summed
        over the images the 1-process gradient is the sum of the processes' gradients, so the
        factor is ``size``; with the mean loss each process's mean must also be reweighed by
        its share of the batch: ``size · n_here / n_batch``.

        >>> Processes(0, 2, torch.device("cpu")).loss_scale(3, 5, loss_sum=False)
        1.2
        """
        return self.size * (1.0 if loss_sum else n_here / n_batch)

    def wrap(self, model: nn.Module) -> nn.parallel.DistributedDataParallel:
        """``model`` in DDP, which starts every process from process 0's weights and averages
        the gradients during ``backward``."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Copy process 0's buffers (batch norm's running statistics) to every process."""
        for b in model.buffers():
            dist.broadcast(b.data, 0)

    def evaluate(self, model: nn.Module, data: Any, **kwargs: Any) -> dict[str, float]:
        """:func:`convbook.inference.evaluate` on the test set, shared out: each process
        measures its :func:`shard` of the images and the sums are added up.  Every process
        gets the result (with ``"plain_loss"`` and ``"plain_acc"`` when ``tta`` is given, as
        there); ``kwargs`` go to :func:`convbook.inference.predict`."""
        self.broadcast_buffers(model)  # one model, process 0's, on every process
        n = len(data.test_labels)
        part = shard(n, self.rank, self.size)
        labels = data.test_labels[part]
        sums = [0.0, 0, 0.0, 0]  # loss and correct, with and without test-time augmentation
        if len(labels):
            for i, logits in enumerate(logits_with_plain(model, data.test_images[part],
                                                         **kwargs)):
                sums[2 * i] = F.cross_entropy(logits, labels, reduction="sum")
                sums[2 * i + 1] = (logits.argmax(1) == labels).sum()
        loss_sum, correct, plain_loss, plain_correct = self.sum(*sums)
        result = {"loss": loss_sum / n, "acc": correct / n}
        if kwargs.get("tta"):
            result.update(plain_loss=plain_loss / n, plain_acc=plain_correct / n)
        return result

    def gather_rng(self) -> dict[str, Any]:
        """Every process's random state (for dropout), for a checkpoint: process 0's as in a
        plain run, and all of them, in order of rank, under ``"ranks"``."""
        states: list[Any] = [None] * self.size
        dist.all_gather_object(states, rng_state())
        return {**states[0], "ranks": states}

    def seed(self, seed: int) -> None:
        """Give every process but process 0 a random stream of its own (dropout masks then
        differ between the processes' images); process 0 keeps ``seed``'s, as in a plain run."""
        if self.rank:
            torch.manual_seed(seed * 1_000_003 + self.rank)

    def restore_rng(self, saved: dict[str, Any], seed: int) -> None:
        """Restore this process's random state from a checkpoint's ``"rng"``; when it was
        written by another number of processes, processes other than 0 are seeded afresh."""
        states = saved.get("ranks")
        if states is not None and len(states) == self.size:
            set_rng_state(states[self.rank])
        else:
            self.seed(seed)


def processes() -> Processes | None:
    """The run this process belongs to, or ``None`` in a plain (single-process) run."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    device = (torch.device("cuda", torch.cuda.current_device())
              if dist.get_backend() == "nccl" else torch.device("cpu"))
    return Processes(dist.get_rank(), dist.get_world_size(), device)


#: the parts of the messages of gloo's and NCCL's errors when another process went away
_LOST = ("gloo", "NCCL", "Connection reset", "Connection closed", "Timed out")


def describe_failure(error: BaseException) -> str | None:
    """One line saying that another process failed, for the errors an exchange raises when
    that happens (``None`` for other errors)."""
    if isinstance(error, LostProcessError):
        return str(error)
    lost = isinstance(error, dist.DistError) or (
        isinstance(error, RuntimeError) and any(s in str(error) for s in _LOST))
    if not lost:
        return None
    text = str(error).strip()
    detail = re.sub(r"^\[[^\]]*\] ", "", text.splitlines()[0]) if text else type(error).__name__
    detail = detail.split(". ")[0].rstrip(".")  # gloo adds advice and an emoji
    return ("lost contact with another process of the run (it stopped, was killed, hangs or "
            f"cannot be reached): {detail[:300]}")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into a :class:`LostProcessError` while inside.

    torchrun sends SIGTERM to the other processes when one of them fails; the process then
    says so and exits, instead of vanishing without a word.
    """
    def handler(signum, frame):
        raise LostProcessError("stopped by the launcher (SIGTERM), usually because another "
                               "process of the run failed; see its error above")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
