"""Muon: momentum SGD whose update for each convolution filter bank is orthogonalised.

For a weight ``W`` of shape ``(C_out, C_in, k, k)`` the momentum of the gradient is reshaped to
a ``C_out × (C_in·k·k)`` matrix ``G`` and replaced by the nearest semi-orthogonal matrix
``U Vᵀ`` (where ``G = U S Vᵀ``), computed approximately with a few Newton–Schulz iterations
instead of an SVD.  Every direction of the update then has the same size, so rarely used
directions learn as fast as common ones.  Keller Jordan introduced it for the CIFAR-10 speed
runs (*airbench94_muon*, 2024); :func:`convbook.training.fit.fit` uses it for the convolution
filters of :class:`convbook.models.FastNet` and plain SGD for everything else
(:func:`convbook.training.recipes.make_optimizers`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from convbook._args import (
    check_bool,
    check_int,
    check_number,
    check_positive_float,
    check_tensor,
)

# Coefficients of the quintic iteration X ← aX + (b·A + c·A²)X with A = XXᵀ: chosen to make
# small singular values grow fast (slope 3.4445 at zero), at the price of leaving the
# singular values spread around 1 instead of exactly 1, which does not hurt training.
_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalize(G: torch.Tensor, steps: int = 3, eps: float = 1e-7,
                  dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """An approximately semi-orthogonal matrix with the singular vectors of ``G``.

    Args:
        G: ``(m, n)`` matrix.
        steps: Newton–Schulz iterations (3 is enough for training).
        eps: added to the norm so that ``G = 0`` gives 0.
        dtype: the precision of the iteration: ``torch.bfloat16`` (airbench's choice, fast
            on GPUs and on CPUs with bfloat16 arithmetic) or ``torch.float32`` (faster on
            other CPUs, which compute bfloat16 products about 20 times more slowly).

    Returns:
        ``(m, n)`` tensor of ``dtype``, ``≈ U Vᵀ``: its singular values lie roughly in
        ``[0.5, 1.5]`` (exactly 1 would need many more iterations).
    """
    check_tensor(G, "G", [2], ["(m, n)"])
    check_int(steps, "steps", minimum=0)
    check_positive_float(eps, "eps")
    _check_dtype(dtype)
    return _orthogonalize(G, steps, eps, dtype)


def _orthogonalize(G: torch.Tensor, steps: int, eps: float, dtype: torch.dtype) -> torch.Tensor:
    """:func:`orthogonalize` for checked arguments (every step of :class:`Muon`)."""
    a, b, c = _NS_COEFFICIENTS
    X = G.to(dtype)
    X = X / (X.norm() + eps)  # every singular value now <= 1
    tall = G.size(0) > G.size(1)
    if tall:  # iterate on the smaller Gram matrix
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def _check_dtype(dtype: object) -> None:
    """``TypeError`` unless ``dtype`` is ``torch.bfloat16`` or ``torch.float32``."""
    if dtype not in (torch.bfloat16, torch.float32):
        raise TypeError(f"dtype must be torch.bfloat16 or torch.float32, got {dtype!r}")


class Muon(torch.optim.Optimizer):
    """Orthogonalised momentum for weights with 2 or more dimensions.

    Each step: ``m ← μ·m + g``; the update direction is ``g + μ·m`` (Nesterov) or ``m``,
    reshaped to ``(C_out, rest)`` and orthogonalised; the weight is first rescaled to norm
    ``sqrt(C_out)`` (so its scale never drifts and the learning rate is an angle), then moved by
    ``-lr`` times the update.

    Args:
        params: weights with ``ndim >= 2`` (convolution filters).
        lr: step size.
        momentum: ``μ`` in ``[0, 1)``.
        nesterov: use the Nesterov form of momentum.
        normalize: rescale each weight to norm ``sqrt(C_out)`` before its step.
        dtype: precision of the orthogonalisation (:func:`orthogonalize`); an attribute of
            the optimizer, not saved in its ``state_dict``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 0.02,
        momentum: float = 0.6,
        nesterov: bool = True,
        normalize: bool = True,
        dtype: torch.dtype = torch.bfloat16,
    ) -> None:
        lr = check_number(lr, "lr", low=0)
        momentum = check_number(momentum, "momentum", low=0, high=1)
        check_bool(nesterov, "nesterov")
        check_bool(normalize, "normalize")
        _check_dtype(dtype)
        self.dtype = dtype
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "normalize": normalize}
        if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(f"params must be an iterable of tensors or of parameter groups, "
                            f"got {type(params).__name__}")
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim < 2:
                    raise ValueError(
                        f"params must be weights with 2 or more dimensions (Muon), got one of "
                        f"shape {tuple(p.shape)}: give biases and norms to SGD"
                    )

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.mul_(mu).add_(p.grad)
                g = p.grad.add(buf, alpha=mu) if group["nesterov"] else buf
                if group["normalize"]:
                    p.mul_(len(p) ** 0.5 / p.norm().clamp(min=1e-12))
                update = _orthogonalize(g.reshape(len(g), -1), 3, 1e-7, self.dtype).reshape(g.shape)
                p.add_(update.to(p.dtype), alpha=-group["lr"])
        return loss
