"""Two-dimensional cross-correlation, written as the readable loop the book teaches."""

from __future__ import annotations

import torch

from convbook._args import check_tensor


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2D cross-correlation of one single-channel image with one kernel.

    Slides ``K`` over ``X`` (no padding, stride 1) and at each position sums the
    element-wise product of the kernel and the window under it.

    Args:
        X: input, shape ``(n_h, n_w)``.
        K: kernel, shape ``(k_h, k_w)``, no larger than ``X``.

    Returns:
        ``Y`` of shape ``(n_h - k_h + 1, n_w - k_w + 1)``. Gradients flow to ``X`` and ``K``.

    >>> X = torch.tensor([[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]])
    >>> K = torch.tensor([[0., 1.], [2., 3.]])
    >>> corr2d(X, K)
    tensor([[19., 25.],
            [37., 43.]])
    """
    check_tensor(X, "X", [2], ["(n_h, n_w)"])
    check_tensor(K, "K", [2], ["(k_h, k_w)"])
    h, w = K.shape
    if 0 in (h, w):
        raise ValueError(
            f"K must have at least one row and one column, got shape {tuple(K.shape)}"
        )
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(
            f"kernel K of shape {tuple(K.shape)} is larger than input X of shape "
            f"{tuple(X.shape)}"
        )
    dtype = torch.promote_types(X.dtype, K.dtype)
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=dtype, device=X.device)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y
