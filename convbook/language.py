"""The reader's language, and the book's words in it: English, or Chinese for the Chinese
edition.

**Which language.** The chapters of both editions run the same code; each chapter's
set-up cell says which edition it belongs to (``convbook.set_language("zh")`` in
``chapters/zh/``, ``"en"`` in ``chapters/``; ``tools/translations.py`` writes it), so a
chapter answers in its language wherever it runs: a copied folder, Binder, Colab.  The
language is

1. the language given to :func:`set_language`, if any;
2. else the environment variable ``CONVBOOK_LANG``, if it is ``en`` or ``zh`` (case and
   surrounding spaces ignored);
3. else ``zh`` when the notebook is a Chinese chapter, should its set-up cell not have run:
   the environment variable ``JPY_SESSION_NAME`` (Jupyter Server sets it to the notebook's
   path for the kernel it starts), or else the working directory (JupyterLab and nbclient
   start a notebook's kernel in the notebook's folder), has a component ``zh`` directly
   under a ``chapters`` one;
4. else ``en``.

Nothing is read at import time and nothing is cached: every message asks again.

**The words.** ``convbook/messages/<lang>/<catalog>.toml`` holds, for language ``<lang>``
(``en``, ``zh``), the words of one part of the package, one string per message:
``chNN.toml`` the self-checks of ``convbook/check/chNN.py`` (one table per check),
``common.toml`` the words every check shares, ``widgets.toml`` the widgets' labels,
titles and messages, ``figures.toml`` the titles, labels and legends of the package's
figures::

    [conv_parameters]
    what = "a number of parameters"
    success = "{expected}: 32 kernels of 3·3·3 weights, plus 32 biases."

A message is named by its key, ``"<catalog>.<table>.<name>"`` (a deeper table adds a part:
``"ch08.optimizer_steps.typical.one_epoch"``).  ``{name}`` and ``{name:spec}`` are filled
in with :meth:`str.format` from the values the code passes; ``{{`` and ``}}`` stand for
braces.  The code names keys and passes values, never words, so a translator edits text
files and no Python, and a new language is a new folder.
``tests/unit/test_messages.py`` checks that every language has the same keys with the same
fields, that every key the code names exists, and that every message is used.  A catalog is
read at its first message, not at import time.

Words drawn into a picture (a figure, a widget's image) need a font that has their
characters: :mod:`convbook.fonts` draws them in the reader's language where it can.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import string
import tomllib
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")

#: the folder of the catalogs: ``MESSAGES / lang / f"{catalog}.toml"``
MESSAGES = Path(__file__).with_name("messages")

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


@functools.cache
def _catalog(folder: Path, lang: str, name: str) -> dict[str, Any]:
    path = folder / lang / f"{name}.toml"
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise KeyError(f"no catalog {path} for the messages of {name!r}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"the message catalog {path} is not valid TOML: {e}") from None


def template(lang: str, key: str) -> str:
    """The message ``key`` in language ``lang`` as written in its catalog, fields unfilled.

    >>> template("en", "common.wrong_kind.placeholder")
    'replace None with your answer: {expected}'
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    name, *parts = key.split(".")
    if not parts or not all([name, *parts]):
        raise KeyError(f"a message key is '<catalog>.<table>.<name>', got {key!r}")
    value: Any = _catalog(MESSAGES, lang, name)
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"no message {key!r} in {MESSAGES / lang / name}.toml")
        value = value[part]
    if not isinstance(value, str):
        raise KeyError(f"{key!r} in {MESSAGES / lang / name}.toml is a table of messages, "
                       "not one message")
    return value


def fields(template_text: str) -> set[str]:
    """The names of the fields of a message: ``{"expected", "ratio"}`` for
    ``"{expected}, about {ratio:.1f}× fewer"``."""
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template_text) if name}


def message(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in language ``lang``, its fields filled in from ``values``."""
    words = template(lang, key)
    try:
        return words.format(**values)
    except KeyError as e:
        raise KeyError(f"message {key!r} ({lang}) needs the value {e.args[0]!r}") from None


def text(key: str, **values: object) -> str:
    """The message ``key`` in the reader's language (:func:`get_language`).

    >>> set_language("zh"); text("common.wrong_kind.placeholder", expected="一个整数")
    '把 None 换成你的答案：一个整数'
    >>> set_language(None)
    """
    return message(get_language(), key, **values)
