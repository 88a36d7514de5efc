"""File writing shared by the modules that save tensors (data caches, checkpoints)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch


def atomic_torch_save(obj: object, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to ``path`` so that readers see the old file or the new one, never half.

    Writes a temporary file in the same directory, fsyncs it, then ``os.replace``\\s it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
