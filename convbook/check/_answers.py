"""How every self-check reads a reader's answer: one rule for the whole book.

* **An integer** may be a Python ``int``, a NumPy or PyTorch integer scalar (``np.int64(112)``,
  ``torch.tensor(112)``, ``x.shape[-1]``), or a float that is a whole number (``112.0``,
  ``np.float32(112)``, ``torch.tensor(112.0)``): all read as the int ``112``.  Not accepted:
  ``True`` and ``False`` (Python counts them as 1 and 0, which would let ``True`` pass for a
  1), strings (``"112"``), floats with a fraction (``112.5``), NaN and infinity.
* **A number** (a ratio, an error, bits per pixel) is any of the above or any finite float;
  again not a ``bool`` and not a string.
* **A list of integers** (a shape, an ordering) is a list, tuple, ``torch.Size``, 1D array or
  1D tensor whose items each follow the integer rule.
* **A table** (a nested list, an array, a tensor) is read as a ``float64`` tensor of finite
  numbers; a ``bool`` tensor or array is not a table of numbers.

Each reader returns ``None`` when the answer does not follow its rule, and
:func:`wrong_kind` turns that into the same two messages everywhere: ``replace None with
...`` for the placeholder, ``answer with ...; got ...`` otherwise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

from convbook.check._result import CheckResult, verdict
from convbook.language import text

_NOT_A_SCALAR = object()


def _scalar(answer: object) -> object:
    """A Python scalar from a NumPy/PyTorch scalar or 0-d array; other answers unchanged."""
    if isinstance(answer, torch.Tensor):
        if answer.dim() != 0 or answer.dtype == torch.bool:
            return _NOT_A_SCALAR
        return answer.item()
    if isinstance(answer, (np.ndarray, np.generic)):
        if answer.ndim != 0 or answer.dtype == np.bool_:
            return _NOT_A_SCALAR
        return answer.item()
    return answer


def as_int(answer: object) -> int | None:
    """``answer`` as an ``int`` under the book's rule (see the module docstring), else None.

    >>> as_int(112), as_int(112.0), as_int(True), as_int(112.5)
    (112, 112, None, None)
    """
    value = _scalar(answer)
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    return None


def as_number(answer: object) -> float | None:
    """``answer`` as a finite ``float`` (ints and integer scalars too), else None."""
    value = _scalar(answer)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def as_int_list(answer: object, length: int | None = None) -> list[int] | None:
    """``answer`` as a list of ints (each item by :func:`as_int`), else None.

    ``length``: the number of items the answer must have (any number if None).
    """
    if isinstance(answer, (torch.Tensor, np.ndarray)):
        if answer.ndim != 1:
            return None
        items: Sequence[object] = list(answer)
    elif isinstance(answer, (list, tuple)):  # torch.Size is a tuple
        items = answer
    else:
        return None
    ints = [as_int(item) for item in items]
    if any(i is None for i in ints) or (length is not None and len(ints) != length):
        return None
    return ints  # type: ignore[return-value]


def as_tensor(answer: object, ndim: int | None = None) -> torch.Tensor | None:
    """``answer`` (a nested list, array or tensor of numbers) as a ``float64`` tensor of
    finite numbers, else None.  ``ndim``: the number of dimensions it must have."""
    if answer is None or isinstance(answer, (str, bytes, bool)):
        return None
    if isinstance(answer, torch.Tensor) and answer.dtype == torch.bool:
        return None
    if isinstance(answer, np.ndarray) and answer.dtype == np.bool_:
        return None
    try:
        tensor = torch.as_tensor(answer, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None
    if tensor.numel() == 0 or not torch.isfinite(tensor).all():
        return None
    if ndim is not None and tensor.dim() != ndim:
        return None
    return tensor


def wrong_kind(answer: object, expected: str) -> CheckResult:
    """The ❌ verdict for an answer of the wrong kind; ``expected`` says what is wanted, in
    the reader's language, e.g. ``text("ch02.output_size.what")``."""
    if answer is None:
        return verdict(False, "", text("common.wrong_kind.placeholder", expected=expected))
    shown = repr(answer)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return verdict(False, "", text("common.wrong_kind.other", expected=expected, shown=shown))


def judge_int(
    answer: object,
    expected: int,
    key: str,
    *,
    typical: dict[int, str] | None = None,
    **values: object,
) -> CheckResult:
    """The verdict on an answer that should be the integer ``expected``.

    The words are the messages under ``key`` (see :mod:`convbook.language`):
    ``what`` (what the number counts, e.g. "the output width"), ``success``, ``hint``, and
    ``typical.<name>`` for each typical wrong answer: ``typical`` maps such answers to
    their names.  ``expected`` and ``values`` fill in the messages' fields.

    ``wrong_kind`` unless the answer reads as an int (:func:`as_int`); then ✅ with
    ``success`` if it is ``expected``; ❌ with the typical answer's message; else ❌ with
    ``hint``.
    """
    values = {"expected": expected, **values}
    got = as_int(answer)
    if got is None:
        what = text(f"{key}.what", **values)
        return wrong_kind(answer, text("common.judge.an_int", what=what))
    return _judged(key, values, got == expected, (typical or {}).get(got))


def judge_number(
    answer: object,
    expected: float,
    key: str,
    *,
    tolerance: float,
    typical: dict[float, str] | None = None,
    **values: object,
) -> CheckResult:
    """The verdict on an answer that should be the number ``expected``, give or take
    ``tolerance`` (absolute); the messages as for :func:`judge_int`.

    ``wrong_kind`` unless the answer reads as a number (:func:`as_number`); then ✅ with
    ``success`` if it is within ``tolerance`` of ``expected``; ❌ with the message of the
    first typical wrong answer it is as close to; else ❌ with ``hint``.
    """
    values = {"expected": expected, **values}
    got = as_number(answer)
    if got is None:
        what = text(f"{key}.what", **values)
        return wrong_kind(answer, text("common.judge.a_number", what=what))
    near = next((name for value, name in (typical or {}).items()
                 if abs(got - value) <= tolerance), None)
    return _judged(key, values, abs(got - expected) <= tolerance, near)


def _judged(key: str, values: dict[str, object], right: bool,
            typical: str | None) -> CheckResult:
    """The verdict of :func:`judge_int` and :func:`judge_number` once the answer is read:
    ``success`` when ``right``, else the typical wrong answer's message (``typical``: its
    name, or None), else ``hint``."""
    if right:
        return verdict(True, text(f"{key}.success", **values), "")
    if typical is not None:
        return verdict(False, "", text(f"{key}.typical.{typical}", **values))
    return verdict(False, "", text(f"{key}.hint", **values))
