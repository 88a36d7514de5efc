"""convbook: the helper package of an interactive textbook about image convolution.

Importing ``convbook`` is cheap and has no side effects: sub-modules are imported on
first use (``convbook.ops``, ``convbook.shapes``, ``convbook.widgets``, ...).
``convbook.set_language("zh")`` (each chapter's set-up cell) is
:func:`convbook.language.set_language`.
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
    "fonts",
    "hardware",
    "images",
    "inference",
    "kernels",
    "language",
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


# functions of sub-modules that the chapters call as ``convbook.<name>``
_FUNCTIONS = {"set_language": "language", "get_language": "language"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'convbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES, *_FUNCTIONS])
