"""Convolution by the convolution theorem: a product of Fourier transforms.

The discrete Fourier transform turns a *circular* convolution into an element-wise
product: ``DFT(x ⊛ k) = DFT(x) · DFT(k)``.  Three details make that a convolution layer:

* **Correlation, not convolution.**  A layer computes ``Σ_a x[i + a] k[a]`` (chapter 1),
  which is the convolution with the kernel flipped; for a real kernel, flipping it
  (circularly) conjugates its transform, so the correlation is ``DFT⁻¹(X · conj(K))``.
* **Circular, not linear.**  With transforms of size ``P`` the indices wrap around:
  output ``i`` reads ``x[(i + a) mod P]``.  A full linear result needs ``P >= n + k - 1``
  (zeros appended so that nothing wraps), but a layer keeps only the outputs whose window
  lies inside the padded input, ``i <= n - k``, and those never wrap: transforms of the
  padded input's size are enough, and the wrapped values land exactly in the outputs cut
  away.
* **Channels.**  Transforms are linear, so the sum over input channels can be taken
  between the transforms: ``Y_o = DFT⁻¹(Σ_c X_c · conj(K_oc))``, one transform per input
  channel, per kernel slice and per output channel, then ``C_out · C_in`` element-wise
  products of spectra.

Its cost hardly depends on the kernel size (the kernel is zero-padded to the input's size),
where the direct method's grows as ``k_h · k_w``: large kernels favour the FFT.  Stride is
done by computing every stride-1 output and keeping every ``s``-th (wasteful, honest), and
dilation by inserting ``d - 1`` zeros between the kernel's taps.
"""

from __future__ import annotations

import torch

from convbook._args import IntPair
from convbook.ops.conv import Padding, check_conv2d_args, finish_output

#: the dtypes torch.fft computes in on every device
FFT_DTYPES = (torch.float32, torch.float64)


def conv2d_fft(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2D convolution (cross-correlation) computed with FFTs, like ``F.conv2d``.

    Args:
        input: float32 or float64, ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, k_h, k_w)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or ``(h, w)``, each >= 1.
        padding: int or ``(h, w)`` zeros on each side, or ``"valid"`` / ``"same"``.
        groups: split the channels into this many independent convolutions.

    Returns:
        ``(N, C_out, H_out, W_out)`` (unbatched: ``(C_out, H_out, W_out)``), the output of
        ``F.conv2d`` up to rounding; differentiable.

    >>> X = torch.arange(9.0).reshape(1, 3, 3)
    >>> conv2d_fft(X, torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])).round()
    tensor([[[19., 25.],
             [37., 43.]]])
    """
    a = check_conv2d_args(input, weight, bias, stride, padding, dilation, groups)
    if input.dtype not in FFT_DTYPES:
        raise TypeError(f"input must be float32 or float64 for the FFT method (torch.fft), "
                        f"got {input.dtype}")
    x = a.padded_input()
    n, _, hp, wp = x.shape
    c_out, cg = weight.shape[:2]
    g, og = a.groups, c_out // a.groups
    (sh, sw), (h_out, w_out) = a.stride, a.output_size
    if n == 0:  # an empty batch (MKL's FFT refuses empty transforms)
        return finish_output(x.new_zeros(0, c_out, h_out, w_out), bias, a.was_unbatched)
    size = (hp, wp)  # transforms of the padded input's size: the outputs kept never wrap
    f = hp * (wp // 2 + 1)  # frequencies of a real transform of this size
    X = torch.fft.rfft2(x, s=size).reshape(n, g, cg, f)
    K = torch.fft.rfft2(dilated(weight, a.dilation), s=size)  # the kernel zero-padded
    # Correlation: conj(K).  For each frequency, a sum over the group's input channels.
    Y = torch.einsum("ngcf,gocf->ngof", X, K.conj().reshape(g, og, cg, f))
    y = torch.fft.irfft2(Y.reshape(n, c_out, hp, wp // 2 + 1), s=size)
    # Output (i, j) sits at index (i·s, j·s): keep the valid positions, every s-th one.
    y = y[..., : (h_out - 1) * sh + 1 : sh, : (w_out - 1) * sw + 1 : sw]
    return finish_output(y.contiguous(), bias, a.was_unbatched)


def dilated(weight: torch.Tensor, dilation: tuple[int, int]) -> torch.Tensor:
    """``weight`` ``(..., k_h, k_w)`` with ``d - 1`` zeros between neighbouring taps, so
    that an undilated correlation with it is the dilated correlation with ``weight``:
    ``(..., d_h (k_h - 1) + 1, d_w (k_w - 1) + 1)``."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return weight
    kh, kw = weight.shape[-2:]
    out = weight.new_zeros(*weight.shape[:-2], dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    out[..., ::dh, ::dw] = weight
    return out
