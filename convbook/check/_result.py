"""The verdict object every self-check returns."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """Whether a reader's answer is right, with a message that helps when it is not.

    Truthy when correct, so ``assert check.ch01.output_size(...)`` works in tests, and
    shown as one clear line in a notebook.
    """

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"{'✅ Correct' if self.ok else '❌ Not yet'}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#b42318"
        return f'<span style="color:{colour}">{html.escape(repr(self))}</span>'


def verdict(ok: bool, success: str, hint: str) -> CheckResult:
    """``CheckResult`` with ``success`` as the message when ``ok``, else ``hint``."""
    return CheckResult(bool(ok), success if ok else hint)
