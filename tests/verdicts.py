"""What every self-check test asserts about a right and a wrong answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest


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


def right_passes_wrong_fails(cases: Sequence[tuple[Callable[[Any], Any], Any, Any, str]]):
    """A test, parametrized over ``cases`` of ``(check, right, wrong, hint)``, that applies
    :func:`assert_right_passes_wrong_fails` to each; a test module assigns it to its name:
    ``test_right_passes_wrong_fails = right_passes_wrong_fails([...])``."""

    @pytest.mark.parametrize("check, right, wrong, hint", cases)
    def test(check: Callable[[Any], Any], right: Any, wrong: Any, hint: str) -> None:
        assert_right_passes_wrong_fails(check, right, wrong, hint)

    return test
