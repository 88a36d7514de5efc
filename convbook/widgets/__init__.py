"""Interactive widgets (ipywidgets) used in the chapters; each also works headless.

Every widget follows the pattern of :mod:`convbook.widgets.base` (``BookWidget``): public
sub-widgets, one way to show an error, callbacks that never raise, a headless API, a still
image and CSS classes.  Sub-modules are imported on first use, so ``import
convbook.widgets`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "BookWidget": "base",
    "KernelEditor": "kernel_editor",
    "ConvExplorer": "explorer",
    "frame_strip": "explorer_frames",
    "FrameStrip": "explorer_frames",
    "LayerExplorer": "layer_explorer",
    "RooflineExplorer": "roofline_explorer",
    "ImageUpload": "upload",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'convbook.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
