"""Argument checking shared by the ops and shape functions.

Every public function validates its arguments here, so that bad input gets one clear
``ValueError`` naming the argument and the rule, never a shape error from deep inside torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IntPair = int | tuple[int, int]


def pair(value: object, name: str, *, minimum: int) -> tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` pair of ints, each at least ``minimum``.

    Accepts an int (used for both axes) or a sequence of two ints.

    >>> pair(3, "stride", minimum=1)
    (3, 3)
    >>> pair((1, 2), "padding", minimum=0)
    (1, 2)
    """
    return ntuple(value, name, 2, minimum=minimum)  # type: ignore[return-value]


def ntuple(value: object, name: str, n: int, *, minimum: int) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``n`` ints, each at least ``minimum``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    if isinstance(value, int):
        values: tuple[int, ...] = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        values = tuple(value)
    else:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    for v in values:
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {_show(value)}")
    return values


def _show(value: object) -> str:
    return str(tuple(value)) if isinstance(value, Sequence) else str(value)


def check_tensor(value: object, name: str, dims: Sequence[int], layout: Sequence[str]) -> None:
    """Raise unless ``value`` is a tensor with one of the allowed numbers of dimensions.

    ``layout`` names the expected layouts, e.g. ``["(C, H, W)", "(N, C, H, W)"]``.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() not in dims:
        expected = " or ".join(f"{d}D {lay}" for d, lay in zip(dims, layout))
        raise ValueError(
            f"{name} must be a {expected} tensor, got a {value.dim()}D tensor "
            f"of shape {tuple(value.shape)}"
        )


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value
