"""The message catalogs (convbook/messages/<lang>/*.toml) as flat dictionaries, for the tests
of the catalogs themselves (tests/unit/test_messages.py) and of the Chinese edition's terms
and notation (tests/repo/test_translations.py)."""

from __future__ import annotations

import tomllib

from convbook.language import LANGUAGES, MESSAGES

#: the catalogs whose words the widgets and figures show (the rest are the self-checks')
WIDGET_AND_FIGURE_CATALOGS = ("widgets", "figures")


def flat(table: dict, prefix: str) -> dict[str, str]:
    """``{"ch08.optimizer_steps.typical.one_epoch": "...", ...}`` from a catalog's tables."""
    out = {}
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            out.update(flat(value, key))
        else:
            assert isinstance(value, str), f"{key} is a {type(value).__name__}, not a message"
            out[key] = value
    return out


def catalog(lang: str) -> dict[str, str]:
    """Every message of language ``lang``, by key."""
    assert lang in LANGUAGES
    out = {}
    for path in sorted((MESSAGES / lang).glob("*.toml")):
        with path.open("rb") as file:
            out.update(flat(tomllib.load(file), path.stem))
    return out
