"""Multiple input and output channels, built step by step on :func:`corr2d` (D2L style).

Each function is the readable version the chapter teaches; :func:`convbook.ops.conv2d`
does the same work vectorized.
"""

from __future__ import annotations

import torch

from convbook._args import check_tensor
from convbook.ops.corr import corr2d


def _check_channels(X: torch.Tensor, c_in: int) -> None:
    if X.shape[0] != c_in:
        raise ValueError(
            f"K expects {c_in} input channels, but X has {X.shape[0]} (X: (c_in, h, w))"
        )


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlate each input channel with its own kernel slice, then sum over channels.

    Args:
        X: ``(c_in, n_h, n_w)``.
        K: ``(c_in, k_h, k_w)``, one 2D kernel per input channel.

    Returns:
        ``(n_h - k_h + 1, n_w - k_w + 1)``: a single output channel.
    """
    check_tensor(X, "X", [3], ["(c_in, n_h, n_w)"])
    check_tensor(K, "K", [3], ["(c_in, k_h, k_w)"])
    _check_channels(X, K.shape[0])
    return sum(corr2d(x, k) for x, k in zip(X, K))  # type: ignore[return-value]


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """One multi-input cross-correlation per output channel, stacked along dimension 0.

    Args:
        X: ``(c_in, n_h, n_w)``.
        K: ``(c_out, c_in, k_h, k_w)``: ``c_out`` kernels, each with ``c_in`` slices.

    Returns:
        ``(c_out, n_h - k_h + 1, n_w - k_w + 1)``.
    """
    check_tensor(X, "X", [3], ["(c_in, n_h, n_w)"])
    check_tensor(K, "K", [4], ["(c_out, c_in, k_h, k_w)"])
    _check_channels(X, K.shape[1])
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_multi_in_out_1x1(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution as one matrix product: a fully connected layer applied per pixel.

    Every pixel's vector of ``c_in`` channel values is multiplied by the same
    ``(c_out, c_in)`` weight matrix.

    Args:
        X: ``(c_in, n_h, n_w)``.
        K: ``(c_out, c_in, 1, 1)``.

    Returns:
        ``(c_out, n_h, n_w)``.
    """
    check_tensor(X, "X", [3], ["(c_in, n_h, n_w)"])
    check_tensor(K, "K", [4], ["(c_out, c_in, 1, 1)"])
    if K.shape[2:] != (1, 1):
        raise ValueError(f"K must be a 1x1 kernel, got kernel size {tuple(K.shape[2:])}")
    _check_channels(X, K.shape[1])
    c_in, h, w = X.shape
    c_out = K.shape[0]
    X = X.reshape(c_in, h * w)  # one column per pixel
    K = K.reshape(c_out, c_in)
    Y = K @ X  # (c_out, h * w)
    return Y.reshape(c_out, h, w)
