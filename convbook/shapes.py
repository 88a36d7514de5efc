"""Shape arithmetic: how big is the output of a convolution or pooling layer?

One formula per function, each accepting ints (both axes alike) or ``(h, w)`` pairs and
returning the same kind.  Padding is *per side*: ``padding=1`` adds one row at the top
and one at the bottom, two in total.
"""

from __future__ import annotations

from typing import overload

from convbook._args import IntPair, check_bool, check_positive_int, pair


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: ``k + (k - 1)(d - 1) = d(k - 1) + 1``.

    >>> effective_kernel_size(3, dilation=2)
    5
    """
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    dilation = check_positive_int(dilation, "dilation")
    return dilation * (kernel_size - 1) + 1


def _conv_out_1d(n: int, k: int, s: int, p: int, d: int, axis: str) -> int:
    k_eff = effective_kernel_size(k, d)
    if k_eff > n + 2 * p:
        dil = f" (dilated to {k_eff} by dilation {d})" if d > 1 else ""
        raise ValueError(
            f"kernel_size{axis} {k}{dil} is larger than the padded input "
            f"{n + 2 * p} (input {n} + 2 * padding {p})"
        )
    return (n + 2 * p - k_eff) // s + 1


@overload
def conv_out_size(
    n: int, kernel_size: int, stride: int = ..., padding: int = ..., dilation: int = ...
) -> int: ...
@overload
def conv_out_size(
    n: IntPair, kernel_size: IntPair, stride: IntPair = ..., padding: IntPair = ...,
    dilation: IntPair = ...,
) -> tuple[int, int]: ...


def conv_out_size(n, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of a convolution along each spatial axis.

    ``floor((n + 2p - d(k - 1) - 1) / s) + 1``, where ``p`` is the padding on *each* side.
    With total padding ``p_total = 2p`` and no dilation this is the textbook
    ``floor((n - k + p_total + s) / s)``.

    Args:
        n: input size, an int or ``(height, width)``.
        kernel_size, stride, padding, dilation: ints or pairs, as in ``nn.Conv2d``;
            ``padding`` may also be ``"valid"`` (no padding) or ``"same"`` (output size
            equals input size; stride must be 1).

    Returns:
        An int if every argument was an int, else an ``(h, w)`` tuple.

    >>> conv_out_size(8, 3, stride=2, padding=1)
    4
    >>> conv_out_size((8, 8), (3, 5), stride=(3, 4), padding=(0, 1))
    (2, 2)
    """
    scalar = all(isinstance(a, int) for a in (n, kernel_size, stride, dilation)) and (
        isinstance(padding, (int, str))
    )
    ns = pair(n, "n", minimum=1)
    ks = pair(kernel_size, "kernel_size", minimum=1)
    ss = pair(stride, "stride", minimum=1)
    ds = pair(dilation, "dilation", minimum=1)
    if padding == "same":
        if ss != (1, 1):
            raise ValueError(f"padding='same' requires stride 1, got stride {stride}")
        out = ns
    else:
        ps = (0, 0) if padding == "valid" else pair(padding, "padding", minimum=0)
        axes = ("", "") if scalar else ("[0]", "[1]")
        out = tuple(
            _conv_out_1d(ns[i], ks[i], ss[i], ps[i], ds[i], axes[i]) for i in range(2)
        )
    return out[0] if scalar else out


def _pool_out_1d(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool, axis: str) -> int:
    if 2 * p > k:
        raise ValueError(
            f"padding{axis} {p} is more than half of kernel_size{axis} {k} "
            f"(torch requires padding <= kernel_size / 2 for pooling)"
        )
    k_eff = effective_kernel_size(k, d)
    span = n + 2 * p - k_eff  # how far the window can slide
    if ceil_mode:
        out = -(-span // s) + 1  # ceil(span / s) + 1
        # A window may run off the right edge, but must not *start* in the right padding.
        if (out - 1) * s >= n + p:
            out -= 1
    else:
        out = span // s + 1
    if out < 1:
        dil = f" (dilated to {k_eff} by dilation {d})" if d > 1 else ""
        raise ValueError(
            f"kernel_size{axis} {k}{dil} is larger than padded input {n + 2 * p} "
            f"(input {n} + 2 * padding {p})"
        )
    return out


@overload
def pool_out_size(
    n: int, kernel_size: int, stride: int | None = ..., padding: int = ...,
    dilation: int = ..., ceil_mode: bool = ...,
) -> int: ...
@overload
def pool_out_size(
    n: IntPair, kernel_size: IntPair, stride: IntPair | None = ..., padding: IntPair = ...,
    dilation: IntPair = ..., ceil_mode: bool = ...,
) -> tuple[int, int]: ...


def pool_out_size(n, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output size of a pooling layer (``nn.MaxPool2d`` / ``nn.AvgPool2d``) along each axis.

    ``floor((n + 2p - d(k - 1) - 1) / s) + 1`` as for a convolution, except that

    * ``stride`` defaults to ``kernel_size`` (windows side by side, not overlapping);
    * ``padding`` (per side) may be at most ``kernel_size / 2``, as torch requires;
    * with ``ceil_mode=True`` the division rounds up, so a last window may run off the
      right/bottom edge, but a window never *starts* inside the right/bottom padding.

    Returns an int if every argument was an int, else an ``(h, w)`` tuple.

    >>> pool_out_size(4, 2)
    2
    >>> pool_out_size(5, 2, ceil_mode=True)
    3
    """
    if stride is None:
        stride = kernel_size
    scalar = all(isinstance(a, int) for a in (n, kernel_size, stride, padding, dilation))
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    ns = pair(n, "n", minimum=1)
    ks = pair(kernel_size, "kernel_size", minimum=1)
    ss = pair(stride, "stride", minimum=1)
    ps = pair(padding, "padding", minimum=0)
    ds = pair(dilation, "dilation", minimum=1)
    axes = ("", "") if scalar else ("[0]", "[1]")
    out = tuple(
        _pool_out_1d(ns[i], ks[i], ss[i], ps[i], ds[i], ceil_mode, axes[i]) for i in range(2)
    )
    return out[0] if scalar else out


def _conv_transpose_out_1d(n: int, k: int, s: int, p: int, op: int, d: int, axis: str) -> int:
    if op >= s and op >= d:
        raise ValueError(
            f"output_padding{axis} must be smaller than stride{axis} or dilation{axis}, "
            f"got output_padding {op}, stride {s}, dilation {d}"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(
            f"output size{axis} would be {out} (< 1): padding {p} removes more than the "
            f"{out + 2 * p} rows or columns the transposed convolution produces"
        )
    return out


@overload
def conv_transpose_out_size(
    n: int, kernel_size: int, stride: int = ..., padding: int = ..., output_padding: int = ...,
    dilation: int = ...,
) -> int: ...
@overload
def conv_transpose_out_size(
    n: IntPair, kernel_size: IntPair, stride: IntPair = ..., padding: IntPair = ...,
    output_padding: IntPair = ..., dilation: IntPair = ...,
) -> tuple[int, int]: ...


def conv_transpose_out_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """Output size of a transposed convolution along each spatial axis.

    ``(n - 1)s - 2p + d(k - 1) + output_padding + 1``: each of the ``n`` inputs places a
    (dilated) kernel of extent ``d(k - 1) + 1`` at a step of ``s``, then ``p`` rows or
    columns are cut from *each* side and ``output_padding`` are added at the end (bottom or
    right).  It undoes :func:`conv_out_size`'s shape: a convolution with the same arguments
    maps the result back to ``n``.

    Args:
        n: input size, an int or ``(height, width)``.
        kernel_size, stride, padding, output_padding, dilation: ints or pairs, as in
            ``nn.ConvTranspose2d``; ``output_padding`` must be smaller than the stride or
            the dilation.

    Returns:
        An int if every argument was an int, else an ``(h, w)`` tuple.

    >>> conv_transpose_out_size(2, 2)
    3
    >>> conv_transpose_out_size(4, 3, stride=2, padding=1, output_padding=1)
    8
    """
    args = (n, kernel_size, stride, padding, output_padding, dilation)
    scalar = all(isinstance(a, int) for a in args)
    ns = pair(n, "n", minimum=1)
    ks = pair(kernel_size, "kernel_size", minimum=1)
    ss = pair(stride, "stride", minimum=1)
    ps = pair(padding, "padding", minimum=0)
    ops = pair(output_padding, "output_padding", minimum=0)
    ds = pair(dilation, "dilation", minimum=1)
    axes = ("", "") if scalar else ("[0]", "[1]")
    out = tuple(
        _conv_transpose_out_1d(ns[i], ks[i], ss[i], ps[i], ops[i], ds[i], axes[i])
        for i in range(2)
    )
    return out[0] if scalar else out
