"""Where the self-checks' words live: one catalog of messages per chapter and language.

``convbook/check/messages/<lang>/<chapter>.toml`` holds, for language ``<lang>`` (``en``,
``zh``), the messages of the checks in ``convbook/check/<chapter>.py``: one TOML table per
check, one string per message::

    [conv_parameters]
    what = "a number of parameters"
    success = "{expected}: 32 kernels of 3·3·3 weights, plus 32 biases."
    hint = "Each output channel has one 3×3 kernel per input channel, and one bias."

A message is named by its key, ``"<chapter>.<check>.<name>"`` (a deeper table adds a part:
``"ch08.optimizer_steps.typical.one_epoch"``); ``messages/<lang>/common.toml`` holds the
words every check shares.  ``{name}`` and ``{name:spec}`` are filled in with
:meth:`str.format` from the values the code passes; ``{{`` and ``}}`` stand for braces.

The code names keys and passes values, never words, so a translator edits text files and
no Python, and a new language is a new folder.  ``tests/unit/test_check_messages.py`` checks
that every language has the same keys with the same fields, that every key the code names
exists, and that every message is used.  The files are read at the first message of a
chapter, not at import time.
"""

from __future__ import annotations

import functools
import string
import tomllib
from pathlib import Path
from typing import Any

from convbook.check._lang import get_language

#: the folder of the catalogs: ``MESSAGES / lang / f"{chapter}.toml"``
MESSAGES = Path(__file__).with_name("messages")


@functools.cache
def _catalog(folder: Path, lang: str, chapter: str) -> dict[str, Any]:
    path = folder / lang / f"{chapter}.toml"
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise KeyError(f"no catalog {path} for the messages of {chapter!r}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"the message catalog {path} is not valid TOML: {e}") from None


def template(lang: str, key: str) -> str:
    """The message ``key`` in language ``lang`` as written in its catalog, fields unfilled.

    >>> template("en", "common.wrong_kind.placeholder")
    'replace None with your answer: {expected}'
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    chapter, *parts = key.split(".")
    if not parts or not all([chapter, *parts]):
        raise KeyError(f"a message key is '<chapter>.<check>.<name>', got {key!r}")
    value: Any = _catalog(MESSAGES, lang, chapter)
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"no message {key!r} in {MESSAGES / lang / chapter}.toml")
        value = value[part]
    if not isinstance(value, str):
        raise KeyError(f"{key!r} in {MESSAGES / lang / chapter}.toml is a table of messages, "
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

    >>> from convbook.check import set_language
    >>> set_language("zh"); text("common.wrong_kind.placeholder", expected="一个整数")
    '把 None 换成你的答案：一个整数'
    >>> set_language(None)
    """
    return message(get_language(), key, **values)
