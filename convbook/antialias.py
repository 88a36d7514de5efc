"""Anti-aliased downsampling: blur, then subsample (Zhang, 2019).

Keeping every other row and column of a feature map (what a stride of 2 does, in a
convolution or a pooling layer) folds fine detail into coarse patterns, *aliasing*, so a
one-pixel shift of the input can change the subsampled map a lot.  Richard Zhang (*Making
Convolutional Networks Shift-Invariant Again*, ICML 2019) low-pass filters before
subsampling:

* :func:`blur_pool2d` (the layer :class:`BlurPool2d`): every channel blurred with the
  binomial kernel ``[1, 2, 1]ᵀ [1, 2, 1] / 16`` (:func:`binomial_kernel`), then every other
  row and column kept;
* :func:`max_blur_pool2d` (:class:`MaxBlurPool2d`), Zhang's replacement for
  ``nn.MaxPool2d(2)``: the maximum of every 2×2 window at stride 1, then :func:`blur_pool2d`.

``[1, 2, 1] / 4`` is the two-tap average ``[1, 1] / 2`` applied twice, so the blur is computed
as two 2×2 average pools, the second with stride 2: fast on every device, and equal to the
depthwise convolution with :func:`binomial_kernel` (the tests check it).

``padding_mode`` says what lies beyond the border: ``"circular"`` (the map wraps around:
then every step before the subsampling commutes exactly with circular shifts),
``"reflect"`` (Zhang's choice) or ``"zeros"`` (zeros for the blur; the maximum ignores the
border, as ``nn.MaxPool2d`` does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_choice, check_tensor

PADDING_MODES = ("zeros", "circular")


def binomial_kernel() -> torch.Tensor:
    """The ``(3, 3)`` blur of :func:`blur_pool2d`: ``[1, 2, 1]ᵀ [1, 2, 1] / 16``.

    >>> (binomial_kernel() * 16).int().tolist()
    [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    """
    row = torch.tensor([1.0, 2.0, 1.0])
    return torch.outer(row, row) / 16


def _check(x: object, padding_mode: object, minimum: int) -> None:
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    assert isinstance(x, torch.Tensor)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    check_choice(padding_mode, "padding_mode", PADDING_MODES)
    if min(x.shape) < 1:
        raise ValueError(f"x must not be empty, got shape {tuple(x.shape)}")
    if padding_mode == "zeros" and min(x.shape[2:]) < minimum:
        raise ValueError(f"x must be at least {minimum}x{minimum} for padding_mode='zeros', "
                         f"got {tuple(x.shape[2:])}")


def _circular(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """Wrap ``before`` rows and columns of the far side around to the near one, and
    ``after`` of the near side to the far one."""
    return F.pad(x, (before, after, before, after), mode="circular")


def blur_pool2d(x: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Blur every channel with :func:`binomial_kernel` (padding 1), keep every other row and
    column: ``x: (N, C, H, W)`` float → ``(N, C, ⌈H/2⌉, ⌈W/2⌉)``.

    Output ``[i, j]`` is the blur centred on input ``[2i, 2j]``: anti-aliased subsampling by
    2, e.g. after a stride-1 convolution in place of a stride-2 one.  ``padding_mode``:
    ``"zeros"`` or ``"circular"``.

    >>> blur_pool2d(torch.tensor([[[[0.0, 0, 4, 4, 0, 0, 4, 4]]]]), "circular").tolist()
    [[[[1.0, 3.0, 1.0, 3.0]]]]
    """
    _check(x, padding_mode, 1)
    if padding_mode == "circular":
        x = F.avg_pool2d(_circular(x, 1, 1), 2, stride=1)  # (x[i-1] + x[i]) / 2 per axis
    else:
        x = F.avg_pool2d(x, 2, stride=1, padding=1)  # the same, zeros beyond the border
    return F.avg_pool2d(x, 2, stride=2)  # (x[2i-1] + 2 x[2i] + x[2i+1]) / 4 per axis


def max_blur_pool2d(x: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Zhang's anti-aliased max pooling: the maximum of every 2×2 window at stride 1, then
    the binomial blur at stride 2.  Output ``[i, j]`` is the blur of the window maxima
    centred on the window whose top-left corner is input ``[2i, 2j]``.

    ``x: (N, C, H, W)`` float → ``(N, C, H // 2, W // 2)`` with ``"zeros"``: the shape of
    ``nn.MaxPool2d(2)``'s output; the windows that hang over the border ignore what lies
    beyond it, as ``nn.MaxPool2d``'s padding does, and the blur needs no padding (``H, W >=
    2``).  With ``"circular"`` the map wraps around: ``(N, C, ⌈H/2⌉, ⌈W/2⌉)``.

    >>> max_blur_pool2d(torch.tensor([[[[0.0, 0, 1, 1, 0, 0, 1, 1]]]]), "circular").tolist()
    [[[[0.5, 1.0, 0.5, 1.0]]]]
    """
    _check(x, padding_mode, 2)
    if padding_mode == "circular":
        return blur_pool2d(F.max_pool2d(_circular(x, 0, 1), 2, stride=1), "circular")
    # m[i] = max(x[i-1], x[i]) for i = 0..H (-inf beyond the border), then
    # (m[2i] + 2 m[2i+1] + m[2i+2]) / 4: two average pools, as in blur_pool2d
    m = F.max_pool2d(x, 2, stride=1, padding=1)
    return F.avg_pool2d(F.avg_pool2d(m, 2, stride=1), 2, stride=2)


class _Pool(nn.Module):
    """A layer without parameters that applies ``pool(x, padding_mode)``."""

    pool = staticmethod(blur_pool2d)

    def __init__(self, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.padding_mode = check_choice(padding_mode, "padding_mode", PADDING_MODES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x, self.padding_mode)

    def extra_repr(self) -> str:
        return f"padding_mode={self.padding_mode!r}"


class BlurPool2d(_Pool):
    """:func:`blur_pool2d` as a layer, with no parameters: ``(N, C, H, W) → (N, C, ⌈H/2⌉,
    ⌈W/2⌉)``."""

    pool = staticmethod(blur_pool2d)


class MaxBlurPool2d(_Pool):
    """:func:`max_blur_pool2d` as a layer, with no parameters: a drop-in replacement for
    ``nn.MaxPool2d(2)``, ``(N, C, H, W) → (N, C, H // 2, W // 2)``."""

    pool = staticmethod(max_blur_pool2d)
