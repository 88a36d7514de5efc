"""Convolution as a matrix: ``kernel2matrix`` builds the matrix ``W`` of a 2D cross-correlation.

For a fixed input size, a cross-correlation (stride 1, no padding, one channel) is linear
in its input, so it is a matrix product: ``corr2d(X, K).flatten() == W @ X.flatten()``.
Multiplying by ``W.T`` instead maps the small output back to the input's size: that is
exactly the transposed convolution with the same kernel.
"""

from __future__ import annotations

import torch

from convbook._args import check_allocation, check_tensor, pair


def kernel2matrix(K: torch.Tensor, input_shape: tuple[int, int]) -> torch.Tensor:
    """The matrix of the cross-correlation with kernel ``K`` on inputs of ``input_shape``.

    Row ``i * out_w + j`` holds ``K`` placed at offset ``(i, j)`` of an all-zero image of
    ``input_shape``, flattened; so row r dotted with ``X.flatten()`` is output pixel r.

    Args:
        K: kernel, ``(k_h, k_w)``.
        input_shape: ``(n_h, n_w)``, at least as large as ``K``.

    Returns:
        ``W`` of shape ``(out_h * out_w, n_h * n_w)`` with ``out = n - k + 1``; gradients
        flow to ``K``.

    >>> kernel2matrix(torch.tensor([[1., 2.], [3., 4.]]), (2, 3))
    tensor([[1., 2., 0., 3., 4., 0.],
            [0., 1., 2., 0., 3., 4.]])
    """
    check_tensor(K, "K", [2], ["(k_h, k_w)"])
    n_h, n_w = pair(input_shape, "input_shape", minimum=1)
    k_h, k_w = K.shape
    if 0 in (k_h, k_w):
        raise ValueError(
            f"K must have at least one row and one column, got shape {tuple(K.shape)}"
        )
    if k_h > n_h or k_w > n_w:
        raise ValueError(
            f"kernel K of shape {tuple(K.shape)} is larger than input_shape {(n_h, n_w)}"
        )
    out_h, out_w = n_h - k_h + 1, n_w - k_w + 1
    check_allocation((out_h * out_w, n_h * n_w), K.element_size(), "input_shape", "the matrix",
                     device=str(K.device))
    # Column index of K[a, b] in row (i, j): (i + a) * n_w + (j + b).
    i = torch.arange(out_h).view(-1, 1, 1, 1)
    j = torch.arange(out_w).view(1, -1, 1, 1)
    a = torch.arange(k_h).view(1, 1, -1, 1)
    b = torch.arange(k_w).view(1, 1, 1, -1)
    columns = ((i + a) * n_w + (j + b)).reshape(out_h * out_w, k_h * k_w)
    W = torch.zeros(out_h * out_w, n_h * n_w, dtype=K.dtype, device=K.device)
    values = K.reshape(1, -1).expand(out_h * out_w, -1)
    return W.scatter(1, columns.to(K.device), values)
