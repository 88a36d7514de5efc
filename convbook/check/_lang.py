"""The language of the self-checks' messages: English, or Chinese for the Chinese edition.

The Chinese chapters (``chapters/zh/``) run the same code cells as the English ones, so the
language is picked up from where the notebook runs, never chosen in a chapter's code:

1. the language given to :func:`set_language`, if any;
2. else the environment variable ``CONVBOOK_LANG``, if it is ``en`` or ``zh`` (case and
   surrounding spaces ignored);
3. else ``zh`` when the notebook is a Chinese chapter: the environment variable
   ``JPY_SESSION_NAME`` (Jupyter Server sets it to the notebook's path for the kernel it
   starts), or else the working directory (JupyterLab and nbclient start a notebook's kernel
   in the notebook's folder), has a component ``zh`` directly under a ``chapters`` one;
4. else ``en``.

Nothing is read at import time and nothing is cached: every message asks again.
"""

from __future__ import annotations

import itertools
import os
import re

LANGUAGES = ("en", "zh")

_chosen: str | None = None


def set_language(lang: str | None) -> None:
    """Answer in ``"en"`` or ``"zh"`` from now on; ``None`` goes back to automatic.

    >>> set_language("zh"); get_language()
    'zh'
    >>> set_language(None)
    """
    global _chosen
    if lang is not None and not isinstance(lang, str):
        raise TypeError(f"lang must be a str or None, got {type(lang).__name__}")
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"lang must be 'en' or 'zh' (or None for automatic), got {lang!r}")
    _chosen = lang


def _in_chinese_chapters(path: str) -> bool:
    """Whether ``path`` (``/`` or ``\\`` separated) has ``zh`` directly under ``chapters``."""
    parts = [part for part in re.split(r"[/\\]", path) if part]
    return any(a == "chapters" and b == "zh" for a, b in itertools.pairwise(parts))


def get_language() -> str:
    """``"en"`` or ``"zh"``, by the rules of the module docstring."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get("CONVBOOK_LANG", "").strip().lower()
    if env in LANGUAGES:
        return env
    if _in_chinese_chapters(os.environ.get("JPY_SESSION_NAME", "")):
        return "zh"
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed
        cwd = ""
    return "zh" if _in_chinese_chapters(cwd) else "en"
