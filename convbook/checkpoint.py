"""Save and load training checkpoints safely.

A checkpoint holds only tensors and plain Python values (model ``state_dict``, optimizer
state, epoch, RNG states as uint8 tensors, the history as lists and dicts), so it loads with
``torch.load(..., weights_only=True)``, which never runs code from the file.  It is written
atomically: a crash or Ctrl-C while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convbook._io import atomic_torch_save


def rng_state() -> dict[str, Any]:
    """The global RNG states (CPU and, when present, CUDA) as tensors."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    epoch: int = 0,
    history: dict[str, list] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and optionally ``optimizer``) to ``path`` atomically.

    Args:
        path: the ``.pt`` file; its directory is created if needed.
        epoch: completed epochs; training resumes at this epoch.
        history: per-epoch metrics, lists of numbers.
        config: plain values needed to rebuild the run (model name, hyperparameters).

    Returns:
        ``Path(path)``.
    """
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "epoch": int(epoch),
        "history": history or {},
        "config": config or {},
        "rng": rng_state(),
    }
    atomic_torch_save(payload, path)
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
    restore_rng: bool = False,
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Loads the weights into ``model`` and the state into ``optimizer`` when given, restores the
    global RNG state when ``restore_rng``, and returns the whole checkpoint dict.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if model is not None:
        model.load_state_dict(ckpt["model"])
    if optimizer is not None and ckpt.get("optimizer") is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if restore_rng:
        set_rng_state(ckpt["rng"])
    return ckpt
