"""Max and average pooling from scratch: a readable loop and vectorized ``F`` look-alikes.

The vectorized versions pad the input (with ``-inf`` for max, so padding never wins), cut
out every window with ``Tensor.unfold`` and reduce over it; max pooling picks each window's
maximal cell the way torch does, so that gradients flow to the same cells.  No torch pooling
function is called.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convbook._args import IntPair, check_bool, check_tensor, is_int, pair
from convbook.ops._layout import batched, unbatched
from convbook.shapes import effective_kernel_size, pool_out_size


def pool2d(X: torch.Tensor, pool_size: IntPair, mode: str = "max") -> torch.Tensor:
    """Max or average pooling of one ``(n_h, n_w)`` channel, the loop version.

    No padding, stride 1: the window visits every position where it fits, like
    :func:`convbook.ops.corr2d`, but takes the maximum or the mean instead of a weighted sum.

    Args:
        X: ``(n_h, n_w)``.
        pool_size: ``p`` or ``(p_h, p_w)``, no larger than ``X``.
        mode: ``"max"`` or ``"avg"``.

    Returns:
        ``(n_h - p_h + 1, n_w - p_w + 1)``.
    """
    check_tensor(X, "X", [2], ["(n_h, n_w)"])
    p_h, p_w = pair(pool_size, "pool_size", minimum=1)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if p_h > X.shape[0] or p_w > X.shape[1]:
        raise ValueError(
            f"pool_size {(p_h, p_w)} is larger than input X of shape {tuple(X.shape)}"
        )
    dtype = X.dtype if X.is_floating_point() else torch.get_default_dtype()
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1), dtype=dtype, device=X.device)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i : i + p_h, j : j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.to(dtype).mean()
    return Y


def _windows(
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair,
    ceil_mode: bool,
    pad_value: float,
    overflow_value: float,
) -> torch.Tensor:
    """Windows of ``x`` (N, C, H, W), as (N, C, H_out, W_out, k_h, k_w).

    ``x`` is padded with ``pad_value`` on each side; where ceil mode's last windows run
    past the bottom/right padding, the extra cells hold ``overflow_value``.
    """
    h, w = x.shape[-2:]
    if all(is_int(a) for a in (kernel_size, stride or 1, padding, dilation)):
        # Int arguments: errors read "kernel_size 5 ..." without an axis index.
        h_out = pool_out_size(h, kernel_size, stride, padding, dilation, ceil_mode)
        w_out = pool_out_size(w, kernel_size, stride, padding, dilation, ceil_mode)
    else:
        h_out, w_out = pool_out_size((h, w), kernel_size, stride, padding, dilation, ceil_mode)
    k = pair(kernel_size, "kernel_size", minimum=1)
    s = k if stride is None else pair(stride, "stride", minimum=1)
    p = pair(padding, "padding", minimum=0)
    d = pair(dilation, "dilation", minimum=1)
    ek = (effective_kernel_size(k[0], d[0]), effective_kernel_size(k[1], d[1]))
    if any(p):
        x = F.pad(x, (p[1], p[1], p[0], p[0]), value=pad_value)
    # The extent the windows need beyond the padded input (ceil mode only).
    extra_h = max(0, (h_out - 1) * s[0] + ek[0] - x.shape[-2])
    extra_w = max(0, (w_out - 1) * s[1] + ek[1] - x.shape[-1])
    if extra_h or extra_w:
        x = F.pad(x, (0, extra_w, 0, extra_h), value=overflow_value)
    x = x.unfold(2, ek[0], s[0])[..., :: d[0]]  # (N, C, H_out, Wp, k_h)
    x = x.unfold(3, ek[1], s[1])[..., :: d[1]]  # (N, C, H_out, W_out, k_h, k_w)
    return x[:, :, :h_out, :w_out]


def max_pool2d(
    input: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """2D max pooling, like ``torch.nn.functional.max_pool2d``.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``; each channel is pooled on its own.
        kernel_size: int or ``(h, w)``.
        stride: int or ``(h, w)``; defaults to ``kernel_size``.
        padding: int or ``(h, w)`` of ``-inf`` added on each side, at most ``kernel_size / 2``.
        dilation: int or ``(h, w)`` spacing between window elements.
        ceil_mode: round the output size up, letting a last window run off the edge.

    Returns:
        ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), sizes as
        :func:`convbook.shapes.pool_out_size`. Differentiable in ``input``.
    """
    x, was_unbatched = batched(input, 2, floating=True)
    check_bool(ceil_mode, "ceil_mode")
    inf = float("-inf")
    win = _windows(x, kernel_size, stride, padding, dilation, ceil_mode, inf, inf).flatten(-2)
    # Which cell of each window is the maximum, chosen as torch does, since the gradient
    # goes to that one cell only: the first maximal cell in row-major order (ties are
    # common after a ReLU), never a padding cell; the last NaN if the window holds NaNs.
    with torch.no_grad():
        ones = torch.ones((1, 1, *x.shape[-2:]), dtype=torch.uint8, device=x.device)
        inside = _windows(ones, kernel_size, stride, padding, dilation, ceil_mode, 0, 0)
        inside = inside.flatten(-2).bool()  # (1, 1, H_out, W_out, K): cells in the input
        is_max = (win == win.amax(-1, keepdim=True)) & inside
        is_nan = win.isnan()
        last_nan = win.shape[-1] - 1 - is_nan.flip(-1).byte().argmax(-1)
        index = torch.where(is_nan.any(-1), last_nan, is_max.byte().argmax(-1))
    out = win.gather(-1, index.unsqueeze(-1)).squeeze(-1)
    return unbatched(out, was_unbatched)


def avg_pool2d(
    input: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """2D average pooling, like ``torch.nn.functional.avg_pool2d``.

    Each window's sum is divided by the number of cells it covers that lie in the input,
    plus, if ``count_include_pad``, those in the zero padding.  Cells that a ceil-mode
    window covers beyond the padding never count.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size, stride, padding, ceil_mode: as in :func:`max_pool2d`.
        count_include_pad: whether zero padding counts in the divisor.

    Returns:
        ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``). Differentiable in ``input``.
    """
    x, was_unbatched = batched(input, 2, floating=True)
    check_bool(ceil_mode, "ceil_mode")
    check_bool(count_include_pad, "count_include_pad")
    sums = _windows(x, kernel_size, stride, padding, 1, ceil_mode, 0.0, 0.0).sum((-2, -1))
    # The divisor: the same windows over a map of ones marking the cells that count.
    ones = torch.ones((1, 1, *x.shape[-2:]), dtype=x.dtype, device=x.device)
    pad_value = 1.0 if count_include_pad else 0.0
    counts = _windows(ones, kernel_size, stride, padding, 1, ceil_mode, pad_value, 0.0)
    out = sums / counts.sum((-2, -1))
    return unbatched(out, was_unbatched)
