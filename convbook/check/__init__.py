"""Self-checks for the exercises: ``convbook.check.ch01.<exercise>(answer)``.

Each function compares the reader's answer with one computed independently (by torch or
by a formula) and returns a :class:`CheckResult` that prints ✅ or ❌ with a hint.
"""

from __future__ import annotations

import importlib
from typing import Any

from convbook.check._result import CheckResult, verdict

__all__ = ["CheckResult", "verdict"]


def __getattr__(name: str) -> Any:
    if name.startswith("ch") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'convbook.check' has no attribute {name!r}")
