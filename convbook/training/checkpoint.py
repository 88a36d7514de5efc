"""Save and load training checkpoints safely.

A checkpoint holds only tensors and plain Python values (model ``state_dict``, optimizer
states, epoch, RNG states as uint8 tensors, the history as lists and dicts), so it loads with
``torch.load(..., weights_only=True)``, which never runs code from the file.  It is written
atomically: a crash or Ctrl-C while saving leaves the previous checkpoint intact.  It is
always read onto the CPU first; ``load_state_dict`` then copies the weights to wherever the
model lives, so a checkpoint written on a GPU loads on a CPU and the other way round, and the
RNG states (which must stay CPU byte tensors) are never moved to a GPU.

:func:`load_checkpoint` reads a file and restores what it holds; a resumed run reads its
checkpoint once (:func:`read_checkpoint`), checks it, and restores it later
(:func:`restore_checkpoint`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convbook._args import check_bool, check_instance, check_int, check_path
from convbook._io import atomic_torch_save


def rng_state() -> dict[str, Any]:
    """The global RNG states (CPU and, when present, CUDA) as tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (from tensors on any device)."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


class CheckpointError(ValueError):
    """A file that is not a readable convbook checkpoint (truncated, foreign, or unsafe)."""


Optimizers = torch.optim.Optimizer | Sequence[torch.optim.Optimizer] | None


def _as_list(optimizer: Optimizers) -> list[torch.optim.Optimizer]:
    if optimizer is None:
        return []
    if isinstance(optimizer, torch.optim.Optimizer):
        return [optimizer]
    if not isinstance(optimizer, Sequence) or not all(
            isinstance(o, torch.optim.Optimizer) for o in optimizer):
        raise TypeError(f"optimizer must be an optimizer, a list of them, or None, got "
                        f"{optimizer!r}")
    return list(optimizer)


def _reason(error: Exception) -> str:
    """A short reason why ``torch.load`` failed, without its multi-line advice."""
    text = str(error)
    if "Unsupported global" in text:
        name = text.split("Unsupported global:", 1)[1].split()[:2]
        return ("it holds Python objects (" + " ".join(name).rstrip(".")
                + "), which could run code and are refused")
    if "PytorchStreamReader" in text:
        return text.split(". ")[0]  # e.g. "...failed reading zip archive: not a ZIP archive"
    if isinstance(error, EOFError):
        return "the file ends too early"
    return f"{type(error).__name__}: {text.splitlines()[0][:120] if text else ''}".rstrip(": ")


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: Optimizers = None,
    *,
    epoch: int = 0,
    history: dict[str, list] | None = None,
    config: dict[str, Any] | None = None,
    progress: dict[str, Any] | None = None,
    rng: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and optionally its optimizers) to ``path`` atomically.

    Args:
        path: the ``.pt`` file; its directory is created if needed.
        optimizer: one optimizer, a list of them (a list is saved and restored in order), or
            ``None``.
        epoch: completed epochs; training resumes at this epoch.
        history: per-epoch metrics, lists of numbers.
        config: plain values needed to rebuild the run (model name, hyperparameters).
        progress: plain values saying where inside an epoch the run stopped (batches done,
            running sums), for an exact resumption; empty at an epoch boundary.
        rng: the random state to store (default: this process's, :func:`rng_state`); a
            data-parallel run stores every process's
            (:meth:`~convbook.training.distributed.Processes.gather_rng`).

    Returns:
        ``Path(path)``.
    """
    check_path(path, "path")
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    opts = _as_list(optimizer)
    check_int(epoch, "epoch", minimum=0)
    for name, value in (("history", history), ("config", config), ("progress", progress)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict or None, got {value!r}")
    payload = {
        "model": model.state_dict(),
        "optimizer": (None if optimizer is None
                      else opts[0].state_dict() if isinstance(optimizer, torch.optim.Optimizer)
                      else [o.state_dict() for o in opts]),
        "epoch": int(epoch),
        "history": history or {},
        "config": config or {},
        "progress": progress or {},
        "rng": rng_state() if rng is None else rng,
    }
    atomic_torch_save(payload, path)
    return Path(path)


#: how the files ``torch.save`` writes begin: a zip archive (the format since torch 1.6), or
#: a pickle (the older format; protocol 2 and later)
_TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the checkpoint at ``path`` onto the CPU (``weights_only=True``) and check that it
    is one: the whole dict, restored into nothing yet (:func:`restore_checkpoint` does that).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is a directory, not a file ``torch.save`` wrote, truncated,
            holds code (refused by ``weights_only``), or lacks a checkpoint's entries; the
            message names the file.
    """
    check_path(path, "path")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"path must be a checkpoint file, got the directory {path}")
    with open(path, "rb") as f:
        start = f.read(8)
    if not start.startswith(_TORCH_FILE_STARTS):
        what = "it is empty" if not start else f"it starts with {start!r}"
        raise CheckpointError(
            f"{path} is not a readable convbook checkpoint: {what}, which is not how a file "
            "written by torch.save begins; give the file that convbook train or fit wrote")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, foreign pickle, code refused by weights_only
        raise CheckpointError(
            f"{path} is not a readable convbook checkpoint ({_reason(e)}); it may be "
            "truncated, written by another program, or contain code"
        ) from e
    missing = [k for k in ("model", "epoch", "rng") if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} is not a convbook checkpoint: it has no {missing}")
    return ckpt


def restore_checkpoint(
    ckpt: dict[str, Any],
    model: nn.Module | None = None,
    optimizer: Optimizers = None,
    *,
    restore_rng: bool = False,
    path: str | os.PathLike[str] = "the checkpoint",
) -> None:
    """Copy the weights of ``ckpt`` (from :func:`read_checkpoint`) into ``model`` (on whatever
    device it is) and the optimizer states into ``optimizer`` (one, or a list as saved) when
    given, and restore the global RNG state when ``restore_rng``.  ``path`` names the file in
    the messages.

    Raises:
        CheckpointError: the checkpoint does not fit ``model`` / ``optimizer``.
    """
    check_instance(ckpt, "ckpt", dict, "a checkpoint dict (read_checkpoint)")
    if model is not None:
        check_instance(model, "model", nn.Module, "a torch.nn.Module or None")
    _as_list(optimizer)
    check_bool(restore_rng, "restore_rng")
    check_path(path, "path")
    _restore(ckpt, model, optimizer, restore_rng, path)


def _restore(ckpt: dict[str, Any], model: nn.Module | None, optimizer: Optimizers,
             restore_rng: bool, path: str | os.PathLike[str]) -> None:
    """:func:`restore_checkpoint` for checked arguments."""
    opts = _as_list(optimizer)
    try:
        if model is not None:
            model.load_state_dict(ckpt["model"])
        saved = ckpt.get("optimizer")
        if opts and saved is not None:
            saved = [saved] if isinstance(saved, dict) else list(saved)
            if len(saved) != len(opts):
                raise ValueError(f"it holds {len(saved)} optimizer states, expected {len(opts)}")
            for o, state in zip(opts, saved):
                o.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(
            f"{path} does not fit this model or optimizer: {str(e).splitlines()[0][:300]}"
        ) from e
    if restore_rng:
        set_rng_state(ckpt["rng"])


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    optimizer: Optimizers = None,
    *,
    restore_rng: bool = False,
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (:func:`read_checkpoint`) and
    restore it into ``model``, ``optimizer`` and the RNG when given
    (:func:`restore_checkpoint`).  Returns the whole checkpoint dict.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is not a readable convbook checkpoint, or does not fit
            ``model`` / ``optimizer``; the message names the file.
    """
    check_path(path, "path")
    if model is not None:
        check_instance(model, "model", nn.Module, "a torch.nn.Module or None")
    _as_list(optimizer)
    check_bool(restore_rng, "restore_rng")
    ckpt = read_checkpoint(path)
    _restore(ckpt, model, optimizer, restore_rng, path)
    return ckpt
