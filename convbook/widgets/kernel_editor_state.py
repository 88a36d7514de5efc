"""What the kernel editor computes, without widgets: a kernel from what a reader gives (a
preset at a size, a tensor or array, the text typed into a cell), the image
cross-correlated with it (:class:`Correlator`, fast enough for every keystroke), and the
output as shown (absolute value or not, clipped or normalized to [0, 1]).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from convbook import kernels
from convbook.ops import conv2d

SIZES = range(1, 8)
FLOAT32_MAX = float(torch.finfo(torch.float32).max)
# Largest cached stack of basis responses (k*k*C*H*W floats, 128 MB); beyond it every
# edit calls conv2d directly.
_MAX_STACK = 2**25


def parse(text: str) -> float | None:
    """The number in ``text``, or None unless it is a finite number that fits float32."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= FLOAT32_MAX else None


def fmt(value: float) -> str:
    """A kernel value as a cell shows it."""
    return f"{value:.4g}"


def as_kernel(kernel: object) -> torch.Tensor:
    """A kernel given as a tensor (a learned ``nn.Parameter`` too), array or nested list,
    checked and returned as a float32 ``(k, k)`` tensor."""
    if isinstance(kernel, torch.Tensor):
        if kernel.is_complex():
            raise TypeError(f"kernel must hold real numbers, got dtype {kernel.dtype}")
        K = kernel.detach().cpu().double()
    else:
        try:
            K = torch.from_numpy(np.asarray(kernel, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(
                f"kernel must be a preset name or a square tensor or array of numbers, "
                f"got {kernel!r}"
            ) from None
    if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] not in SIZES:
        raise ValueError(f"kernel must be square, 1x1 to 7x7, got shape {tuple(K.shape)}")
    if not torch.isfinite(K).all() or K.abs().max() > FLOAT32_MAX:
        raise ValueError(
            f"kernel values must be finite numbers that fit float32 (|x| <= {FLOAT32_MAX:.3g}; "
            "no NaN or inf)"
        )
    return K.float()


def preset_kernel(name: str, size: int) -> torch.Tensor:
    """Preset ``name`` at ``size`` if it has sizes, else at its own size."""
    builder = kernels.RESIZABLE.get(name)
    return builder(size) if builder is not None else kernels.PRESETS[name]


def recentred(K: torch.Tensor, size: int) -> torch.Tensor:
    """``K: (k, k)`` kept centred in a ``(size, size)`` kernel: cropped, or padded with
    zeros."""
    out = torch.zeros(size, size)
    k = K.shape[0]
    n = min(k, size)
    a, b = (k - n) // 2, (size - n) // 2
    out[b : b + n, b : b + n] = K[a : a + n, a : a + n]
    return out


class Correlator:
    """An image, ``(H, W)`` or ``(C, H, W)``, ready to be cross-correlated with kernel after
    kernel (``'same'`` zero padding, each channel as its own one-channel image)."""

    def __init__(self, image: torch.Tensor) -> None:
        self.image = image
        # (C, 1, H, W): each channel is filtered as its own one-channel image.
        self._batch = image.reshape(-1, 1, *image.shape[-2:])
        self._stack_key: int | None = None  # kernel size the cached _stack was made for
        self._stack = np.empty(0, dtype=np.float32)

    def correlate(self, K: torch.Tensor) -> np.ndarray:
        """The image cross-correlated with ``K`` (``'same'`` zero padding), channel by
        channel, shaped like the image (float32)."""
        k = K.shape[0]
        if k * k * self.image.numel() <= _MAX_STACK:
            # sum over the k*k taps of weight times basis response: numpy's own loop
            out = np.einsum("t,tn->n", K.numpy().ravel(), self._shifted(k))
        else:
            with torch.no_grad():
                out = conv2d(self._batch, K.reshape(1, 1, k, k), padding="same").numpy()
        return out.reshape(self.image.shape)

    def _shifted(self, k: int) -> np.ndarray:
        """``(k*k, C*H*W)``: the image correlated with each one-hot ``(k, k)`` kernel.

        Cross-correlation is linear in the kernel, so ``K.flatten() @ _shifted(k)`` equals
        ``conv2d(image, K, padding='same')``.  Computing the ``k*k`` basis responses once
        per image and size (with :func:`convbook.ops.conv2d`) turns every later edit into
        one weighted sum, which keeps an update of a 512x512 photo to a few ms.
        """
        if self._stack_key != k:
            basis = torch.eye(k * k).reshape(k * k, 1, k, k)
            with torch.no_grad():
                stack = conv2d(self._batch, basis, padding="same")  # (C, k*k, H, W)
            self._stack = stack.transpose(0, 1).reshape(k * k, -1).contiguous().numpy()
            self._stack_key = k
        return self._stack


def display(output: np.ndarray, absolute: bool, mode: str) -> np.ndarray:
    """``output`` as shown: its ``absolute`` value or not, then ``mode`` ``'clip'`` or
    ``'normalize'`` to [0, 1]."""
    shown = np.abs(output) if absolute else output
    if mode == "normalize":
        wide = shown.astype(np.float64)  # hi - lo may overflow float32
        lo, hi = wide.min(), wide.max()
        if hi > lo:
            return ((wide - lo) / (hi - lo)).astype(np.float32)
        return np.zeros_like(shown)
    return np.clip(shown, 0.0, 1.0)
