"""convbook: the helper package of an interactive textbook about image convolution.

Importing ``convbook`` is cheap and has no side effects: sub-modules are imported on
first use (``convbook.ops``, ``convbook.shapes``, ``convbook.widgets``, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "antialias",
    "check",
    "cli",
    "counting",
    "data",
    "explain",
    "hardware",
    "images",
    "inference",
    "kernels",
    "layers",
    "models",
    "ops",
    "plots",
    "receptive_field",
    "roofline",
    "shapes",
    "source",
    "timing",
    "training",
    "volume_figure",
    "widgets",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'convbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
