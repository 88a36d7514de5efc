"""What every self-check test asserts about a right and a wrong answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def assert_right_passes_wrong_fails(check: Callable[[Any], Any], right: Any, wrong: Any,
                                    hint: str) -> None:
    """``check(right)`` is a pass shown as "✅ Correct"; ``check(wrong)`` is a fail shown as
    "❌ Not yet" whose message contains ``hint``."""
    passed = check(right)
    assert passed
    assert repr(passed).startswith("✅ Correct")
    failed = check(wrong)
    assert not failed
    assert hint in failed.message
    assert repr(failed).startswith("❌ Not yet")
