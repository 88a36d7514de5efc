"""Self-checks for the exercises: ``convbook.check.ch01.<exercise>(answer)``.

Each function compares the reader's answer with one computed independently (by torch or
by a formula) and returns a :class:`CheckResult` that prints ✅ or ❌ with a hint, in English
or, in the Chinese chapters, in Chinese (see :func:`get_language`; :func:`set_language`
chooses one by hand).
"""

from __future__ import annotations

import importlib
from typing import Any

from convbook.check._result import CheckResult, verdict
from convbook.language import get_language, set_language

__all__ = ["CheckResult", "get_language", "set_language", "verdict"]


def __getattr__(name: str) -> Any:
    if name.startswith("ch") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'convbook.check' has no attribute {name!r}")
