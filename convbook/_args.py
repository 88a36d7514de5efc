"""Argument checking shared by every public function.

Every public function validates its arguments here, so that bad input gets one clear
``ValueError`` (a bad value) or ``TypeError`` (a bad type) naming the argument and the rule,
never an error from deep inside torch.

Conventions: sizes, strides and counts are ints; ``True`` and ``False`` are not accepted as
ints there (``bool`` is a subclass of ``int`` in Python, but ``kernel_size=True`` is always a
mistake), while numpy's integer scalars are.  Flags are real bools, not ``0``/``1``.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np
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


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (numpy's too) and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def ntuple(value: object, name: str, n: int, *, minimum: int) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``n`` ints, each at least ``minimum``."""
    if is_int(value):
        values: tuple[int, ...] = (int(value),) * n  # type: ignore[call-overload]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n or not all(is_int(v) for v in value):
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        values = tuple(int(v) for v in value)
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


def check_same_dtype(**tensors: torch.Tensor | None) -> None:
    """Raise a ``TypeError`` naming both unless every tensor given (None skipped) has the
    dtype of the first: ``check_same_dtype(input=x, weight=w, bias=b)``."""
    given = [(name, t) for name, t in tensors.items() if t is not None]
    for name, t in given[1:]:
        if isinstance(t, torch.Tensor) and t.dtype != given[0][1].dtype:
            first, dtype = given[0][0], given[0][1].dtype
            raise TypeError(
                f"{first} ({dtype}) and {name} ({t.dtype}) must have the same dtype; "
                f"convert one with .to({dtype})"
            )


def check_int(
    value: object, name: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``, else raise naming ``name``."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)  # type: ignore[call-overload]
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise naming ``name``."""
    return check_int(value, name, minimum=1)


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (numpy's too), else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_positive_float(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_path(value: object, name: str) -> None:
    """Raise unless ``value`` is a ``str`` or ``os.PathLike`` path."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {value!r}")


def check_conv_weight(
    c_in: int, weight: torch.Tensor, bias: torch.Tensor | None, groups: int, *,
    input_name: str = "input", weight_name: str = "weight",
) -> None:
    """Raise unless ``weight`` and ``bias`` of a (grouped) convolution fit ``c_in`` channels.

    ``weight`` is ``(C_out, C_in / groups, *kernel_size)`` and ``bias`` is ``(C_out,)`` or
    None, as for ``nn.Conv2d`` and ``nn.Conv3d``; ``input_name`` and ``weight_name`` are the
    arguments' names in the messages (``X`` and ``K`` for ``conv2d_backward``).
    """
    c_out = weight.shape[0]
    if c_in % groups:
        raise ValueError(f"{input_name} channels ({c_in}) must be divisible by groups ({groups})")
    if c_out % groups:
        raise ValueError(
            f"{weight_name}'s output channels ({c_out}) must be divisible by groups ({groups})"
        )
    if weight.shape[1] * groups != c_in:
        raise ValueError(
            f"{weight_name} expects {weight.shape[1]} * groups {groups} = "
            f"{weight.shape[1] * groups} input channels, but {input_name} has {c_in}"
        )
    check_bias(bias, c_out)
    kernel = tuple(weight.shape[2:])
    if 0 in kernel:
        raise ValueError(f"{weight_name}'s kernel size must be >= 1 in each axis, got {kernel}")


def check_bias(bias: torch.Tensor | None, c_out: int) -> None:
    """Raise unless ``bias`` is None or a ``(c_out,)`` tensor."""
    if bias is not None:
        check_tensor(bias, "bias", [1], ["(C_out,)"])
        if bias.shape[0] != c_out:
            raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")


def check_number(value: object, name: str, *, low: float = -math.inf, low_ok: bool = True,
                 high: float = math.inf) -> float:
    """Return ``value`` as a float if it is a finite number in ``[low, high)`` (``(low,
    high)`` unless ``low_ok``), else raise naming ``name`` and the rule.

    >>> check_number(0.5, "decay", low=0.0, high=1.0)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if value < low or (value == low and not low_ok) or value >= high:
        left = "[" if low_ok else "("
        if math.isfinite(high):
            rule = f"in {left}{low:g}, {high:g})"
        else:
            rule = f">= {low:g}" if low_ok else f"> {low:g}"
        raise ValueError(f"{name} must be {rule}, got {value}")
    return float(value)


def check_int_range(value: object, name: str, low: int, high: int, *, where: str = "") -> int:
    """Return ``value`` as an int in ``low..high`` (inclusive), else raise naming ``name``,
    the range and ``where`` it applies (" for this layer").

    >>> check_int_range(2, "step", 0, 8)
    2
    >>> check_int_range(9, "step", 0, 8)
    Traceback (most recent call last):
    ...
    ValueError: step must be in 0..8, got 9
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)  # type: ignore[call-overload]
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}{where}, got {value}")
    return value


def check_pair_range(
    value: object, name: str, low: int, high: int, *, where: str = ""
) -> tuple[int, int]:
    """Return ``value`` (an int or two ints) as an ``(h, w)`` pair, each in ``low..high``,
    else raise naming ``name``, the rule and ``where`` it applies (" in the explorer").

    >>> check_pair_range((3, 5), "kernel_size", 1, 7)
    (3, 5)
    """
    h, w = pair(value, name, minimum=low)
    if max(h, w) > high:
        raise ValueError(f"{name} must be <= {high}{where}, got {_show(value)}")
    return h, w


def check_vector(value: object, name: str, length: int, what: str) -> torch.Tensor:
    """Return ``value`` (a sequence, array or tensor of ``length`` finite numbers, one per
    ``what``) as a float32 tensor ``(length,)``, else raise naming ``name``."""
    try:
        vector = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        vector = None
    if vector is None or vector.shape != (length,) or not torch.isfinite(vector).all():
        raise ValueError(
            f"{name} must be {length} finite numbers, one per {what}, got {value!r}"
        )
    return vector
