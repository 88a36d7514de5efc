"""Argument checking shared by every public function.

Every public function validates its arguments here, so that bad input gets one clear
``ValueError`` (a bad value) or ``TypeError`` (a bad type) naming the argument and the rule,
never an error from deep inside torch.

Conventions: sizes, strides and counts are ints; ``True`` and ``False`` are not accepted as
ints there (``bool`` is a subclass of ``int`` in Python, but ``kernel_size=True`` is always a
mistake), while numpy's integer scalars are.  Flags are real bools, not ``0``/``1``.

Importing this module loads neither torch nor numpy (``convbook --help`` reads the training
recipes, which are checked here, without them): a value can only be a tensor or a numpy
scalar when its library is already loaded, so the checks look for those types among the
loaded modules.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: a per-axis ``(height, width)`` value: the one name for an ``(int, int)`` pair in convbook
Pair = tuple[int, int]
#: what a size, stride, padding or dilation argument accepts: one int for both axes, or a Pair
IntPair = int | Pair


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


def _is_tensor(value: object) -> bool:
    torch = sys.modules.get("torch")  # not loaded: then nothing is a tensor
    return torch is not None and isinstance(value, torch.Tensor)


def check_tensor(value: object, name: str, dims: Sequence[int], layout: Sequence[str]) -> None:
    """Raise unless ``value`` is a tensor with one of the allowed numbers of dimensions.

    ``layout`` names the expected layouts, e.g. ``["(C, H, W)", "(N, C, H, W)"]``.
    """
    if not _is_tensor(value):
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
        if _is_tensor(t) and t.dtype != given[0][1].dtype:
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
    np = sys.modules.get("numpy")  # not loaded: then no value is a numpy bool
    if not (isinstance(value, bool) or (np is not None and isinstance(value, np.bool_))):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_str(value: object, name: str) -> str:
    """Return ``value`` if it is a non-empty ``str``, else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def check_callable(value: object, name: str, how: str = "") -> Callable[..., Any]:
    """Return ``value`` if it can be called (``how`` says how, e.g. ``"as fn()"``), else raise."""
    if not callable(value):
        raise TypeError(f"{name} must be callable{' ' + how if how else ''}, got {value!r}")
    return value


def check_instance(value: object, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    """Return ``value`` if it is an instance of ``kind``, else a ``TypeError`` saying ``name``
    must be ``what`` (e.g. ``"a torch.nn.Module"``)."""
    if not isinstance(value, kind):
        got = repr(value) if isinstance(value, (str, int, float, type(None))) else \
            type(value).__name__
        raise TypeError(f"{name} must be {what}, got {got}")
    return value


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
    check_groups(c_in, c_out, groups, in_name=f"{input_name} channels",
                 out_name=f"{weight_name}'s output channels")
    if weight.shape[1] * groups != c_in:
        raise ValueError(
            f"{weight_name} expects {weight.shape[1]} * groups {groups} = "
            f"{weight.shape[1] * groups} input channels, but {input_name} has {c_in}"
        )
    check_bias(bias, c_out)
    kernel = tuple(weight.shape[2:])
    if 0 in kernel:
        raise ValueError(f"{weight_name}'s kernel size must be >= 1 in each axis, got {kernel}")


def check_groups(c_in: int, c_out: int, groups: int, *, in_name: str, out_name: str) -> None:
    """Raise unless ``groups`` divides both channel counts, naming them ``in_name`` and
    ``out_name`` (``"in_channels (4) must be divisible by groups (3)"``)."""
    for name, channels in ((in_name, c_in), (out_name, c_out)):
        if channels % groups:
            raise ValueError(f"{name} ({channels}) must be divisible by groups ({groups})")


def check_bias(bias: torch.Tensor | None, c_out: int) -> None:
    """Raise unless ``bias`` is None or a ``(c_out,)`` tensor."""
    if bias is not None:
        check_tensor(bias, "bias", [1], ["(C_out,)"])
        if bias.shape[0] != c_out:
            raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")


def check_number(value: object, name: str, *, low: float = -math.inf, low_ok: bool = True,
                 high: float = math.inf, high_ok: bool = False, finite: bool = True) -> float:
    """Return ``value`` as a float if it is a number in ``[low, high)`` (a round bracket where
    ``low_ok`` or ``high_ok`` is false: ``(low, high]`` with ``low_ok=False, high_ok=True``),
    else raise naming ``name`` and the rule.  Numbers are ``int`` and ``float``, numpy's too,
    never ``bool``; with ``finite=False`` inf and NaN are numbers too (and no range applies).

    >>> check_number(0.5, "decay", low=0.0, high=1.0)
    0.5
    >>> check_number(1, "scale", low=0.0, low_ok=False, high=1.0, high_ok=True)
    1.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    given, value = value, float(value)
    if not math.isfinite(value):
        if finite:
            raise ValueError(f"{name} must be a finite number, got {given}")
        return value
    if (value < low or (value == low and not low_ok) or value > high
            or (value == high and not high_ok)):
        left, right = "[" if low_ok else "(", "]" if high_ok else ")"
        if math.isfinite(high) and math.isfinite(low):
            rule = f"in {left}{low:g}, {high:g}{right}"
        elif math.isfinite(high):
            rule = f"<= {high:g}" if high_ok else f"< {high:g}"
        else:
            rule = f">= {low:g}" if low_ok else f"> {low:g}"
        raise ValueError(f"{name} must be {rule}, got {given}")
    return value


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
    import torch

    try:
        vector = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        vector = None
    if vector is None or vector.shape != (length,) or not torch.isfinite(vector).all():
        raise ValueError(
            f"{name} must be {length} finite numbers, one per {what}, got {value!r}"
        )
    return vector


class TooLargeError(ValueError):
    """An argument asks for a tensor (or a training run) larger than the memory of the
    machine: found before anything is allocated, and named in the message."""


@functools.cache
def memory_bytes(device: str = "cpu") -> int:
    """The memory of ``device`` in bytes: for a CUDA GPU (``"cuda"``, ``"cuda:N"``) that
    GPU's memory; for anything else the machine's physical memory, or the memory limit of
    the container (cgroup) it runs in when that is smaller.  What :func:`check_allocation`
    compares with; read once per process and device."""
    if device.startswith("cuda"):
        import torch

        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        return int(torch.cuda.get_device_properties(index).total_memory)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/sys/fs/cgroup/memory.max") as f:  # cgroup v2
            limit = f.read().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def check_allocation(shape: Sequence[int], itemsize: int, name: str, what: str, *,
                     device: str = "cpu") -> None:
    """Raise :class:`TooLargeError` naming ``name`` when a tensor of ``shape`` with
    ``itemsize`` bytes per element (``what``, e.g. ``"the padded input"``) would not fit in
    the memory of ``device`` (:func:`memory_bytes`): before torch tries to allocate it, or
    overflows counting its elements.

    >>> try:
    ...     check_allocation((10**6, 10**6), 4, "input_shape", "the matrix")
    ... except TooLargeError as e:
    ...     print(str(e).split(" (")[0])
    input_shape would make the matrix of shape
    """
    needed = math.prod(int(n) for n in shape) * itemsize
    available = memory_bytes(device)
    if needed > available:
        raise TooLargeError(
            f"{name} would make {what} of shape {tuple(int(n) for n in shape)} "
            f"({_gigabytes(needed)}), more than the {_gigabytes(available)} of memory here")


def _gigabytes(n: int) -> str:
    return f"{n / 1e9:.3g} GB"
