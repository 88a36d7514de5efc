"""The verdict object every self-check returns."""

from __future__ import annotations

import html
from dataclasses import dataclass

from convbook.language import LANGUAGES, get_language, message


@dataclass(frozen=True)
class CheckResult:
    """Whether a reader's answer is right, with a message that helps when it is not.

    Truthy when correct, so ``assert check.ch01.output_size(...)`` works in tests, and
    shown as one clear line in a notebook.  ``lang`` is the language of ``message``
    (``"en"`` or ``"zh"``), so that the ✅/❌ prefix is in the same language.
    """

    ok: bool
    message: str
    lang: str = "en"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be 'en' or 'zh', got {self.lang!r}")

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if self.ok:
            return message(self.lang, "common.result.correct", message=self.message)
        return message(self.lang, "common.result.not_yet", message=self.message)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#b42318"
        return f'<span style="color:{colour}">{html.escape(repr(self))}</span>'


def verdict(ok: bool, success: str, hint: str) -> CheckResult:
    """``CheckResult`` with ``success`` as the message when ``ok``, else ``hint``, in the
    reader's language (:func:`convbook.check.get_language`)."""
    return CheckResult(bool(ok), success if ok else hint, get_language())
