"""The backward pass of a convolution from scratch: ``conv2d_backward`` gives the gradients
of a loss with respect to the input, the kernel and the bias of :func:`~convbook.ops.conv2d`.

For ``Y = conv2d(X, K, b, stride=s, padding=p, dilation=d, groups=g)``, the forward pass
reads ``Y[n, o, i, j] = b[o] + sum over c, a, b' of K[o, c, a, b'] Xp[n, c, s i + d a,
s j + d b']``, with ``Xp`` the padded input (``c`` running over the input channels of
``o``'s group).  Given ``dY = dL/dY``:

* ``dX``: each output gradient ``dY[n, o, i, j]`` goes back, times the kernel, to the window
  it was read from: that scatter is the *transposed convolution* of ``dY`` with the same
  kernel, stride, dilation and groups.  Its ``output_padding`` returns the rows and columns
  that no window reached (they get no gradient), and the padding is cut away at the end.
* ``dK``: tap ``K[o, c, a, b']`` multiplied ``Xp[n, c, s i + d a, s j + d b']`` once for
  every output pixel ``(i, j)``, so its gradient is the sum of those pixels times
  ``dY[n, o, i, j]``: a *cross-correlation* of ``Xp`` with ``dY`` used as the kernel,
  *dilated by the stride* (``dY``'s taps ``s`` apart) and read every ``d``-th position
  (stride ``d``), summed over the batch.
* ``db``: ``dY`` summed over the batch and every position.

No torch convolution function and no autograd: the package's own ``conv_transpose2d`` and
``conv2d`` do the work (``tests/unit/test_ops_backward.py`` checks every gradient against
autograd through ``torch.nn.functional.conv2d``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convbook._args import (
    IntPair,
    check_conv_weight,
    check_positive_int,
    check_same_dtype,
    check_tensor,
    pair,
)
from convbook.ops._layout import batched, unbatched
from convbook.ops.conv import Padding, conv2d, padding_per_side
from convbook.ops.transposed import conv_transpose2d
from convbook.shapes import effective_kernel_size


def conv2d_backward(
    X: torch.Tensor,
    K: torch.Tensor,
    dY: torch.Tensor,
    *,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of a loss with respect to the input, kernel and bias of ``conv2d``.

    Args:
        X: the forward pass's input, ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``,
            floating point.
        K: its kernel, ``(C_out, C_in / groups, k_h, k_w)``, of ``X``'s dtype.
        dY: the gradient of the loss with respect to the output, of the output's shape
            ``(N, C_out, H_out, W_out)`` (unbatched if ``X`` is) and ``X``'s dtype.
        stride, padding, dilation, groups: the forward pass's, as for
            :func:`~convbook.ops.conv2d` (``padding`` may be ``"same"`` or ``"valid"``).

    Returns:
        ``(dX, dK, db)``: ``dL/dX`` of ``X``'s shape, ``dL/dK`` of ``K``'s shape and
        ``dL/db`` of shape ``(C_out,)`` (what the bias gets, whether or not there is one).

    >>> X = torch.tensor([[[[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]]]])
    >>> dX, dK, db = conv2d_backward(X, torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    >>> dK  # each tap: the sum of the 2x2 window of X it multiplied
    tensor([[[[ 8., 12.],
              [20., 24.]]]])
    >>> dX  # how many windows read each pixel
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    x, dy, was_unbatched = _batched(X, K, dY)
    groups = check_positive_int(groups, "groups")
    s = pair(stride, "stride", minimum=1)
    d = pair(dilation, "dilation", minimum=1)
    k = (K.shape[2], K.shape[3])
    top, bottom, left, right = padding_per_side(padding, k, s, d)
    check_conv_weight(x.shape[1], K, None, groups, input_name="X", weight_name="K")
    _check_dY(x, K, dY, s, d, (top + bottom, left + right))

    n, c_in, h, w = x.shape
    h_out, w_out = dy.shape[2:]
    # The padded input's rows and columns that some window read: up to the last window's end.
    read = (s[0] * (h_out - 1) + d[0] * (k[0] - 1) + 1, s[1] * (w_out - 1) + d[1] * (k[1] - 1) + 1)
    padded = (h + top + bottom, w + left + right)

    # dX: scatter every dY[n, o, i, j] back through the kernel (the transposed convolution);
    # output_padding adds the rows and columns no window read; then cut the padding away.
    skipped = (padded[0] - read[0], padded[1] - read[1])
    dXp = conv_transpose2d(dy, K, stride=s, dilation=d, groups=groups, output_padding=skipped)
    dX = dXp[:, :, top : top + h, left : left + w]

    # dK: cross-correlate the padded input with dY as the kernel, its taps s apart
    # (dilation s), read every d-th position (stride d).  Per group, the images are summed
    # as channels are in a convolution: the batch axis becomes the channel axis, and each
    # input channel of a group becomes one image of the "batch".
    g, cg = groups, c_in // groups
    if n == 0:
        dK = torch.zeros_like(K)
    else:
        xp = F.pad(x, (left, right, top, bottom))[:, :, : read[0], : read[1]]
        xs = xp.reshape(n, g, cg, *read).permute(2, 1, 0, 3, 4).reshape(cg, g * n, *read)
        dK = conv2d(xs, dy.transpose(0, 1), stride=d, dilation=s, groups=g)  # (cg, C_out, k)
        dK = dK.transpose(0, 1).contiguous()

    db = dy.sum(dim=(0, 2, 3))
    return unbatched(dX, was_unbatched), dK, db


def _batched(
    X: torch.Tensor, K: torch.Tensor, dY: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Check the tensors' kinds and return ``X`` and ``dY`` batched, and whether ``X`` was not."""
    x, was_unbatched = batched(X, 2, floating=True, name="X")
    check_tensor(K, "K", [4], ["(C_out, C_in/groups, k_h, k_w)"])
    layout = "(C_out, H_out, W_out)" if was_unbatched else "(N, C_out, H_out, W_out)"
    check_tensor(dY, "dY", [X.dim()], [layout])
    check_same_dtype(X=X, K=K, dY=dY)
    return x, (dY.unsqueeze(0) if was_unbatched else dY), was_unbatched


def _check_dY(
    x: torch.Tensor, K: torch.Tensor, dY: torch.Tensor, s: tuple[int, int],
    d: tuple[int, int], total_padding: tuple[int, int],
) -> None:
    """Raise unless the kernel fits the padded input and ``dY`` (batched or not, as the
    input ``X`` was) has the forward output's shape; ``x`` is ``X`` batched."""
    n, _, h, w = x.shape
    padded = (h + total_padding[0], w + total_padding[1])
    extent = (effective_kernel_size(K.shape[2], d[0]), effective_kernel_size(K.shape[3], d[1]))
    if extent[0] > padded[0] or extent[1] > padded[1]:
        raise ValueError(
            f"K's kernel of size {tuple(K.shape[2:])} (dilated: {extent}) is larger than the "
            f"padded input {padded}"
        )
    out = (n, K.shape[0], (padded[0] - extent[0]) // s[0] + 1, (padded[1] - extent[1]) // s[1] + 1)
    out = out[4 - dY.dim() :]  # without the batch axis if X came without one
    if tuple(dY.shape) != out:
        raise ValueError(
            f"dY must have the shape of conv2d's output for X, K, stride, padding and "
            f"dilation, {out}, got {tuple(dY.shape)}"
        )
