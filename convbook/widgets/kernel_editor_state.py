"""The kernel editor's state and what it computes, without widgets: the settings as a
frozen dataclass (:class:`KernelEditorState`) and the check of a change to them
(:func:`changed`); a kernel from what a reader gives (a preset at a size, a tensor or
array, the text typed into a cell); the image cross-correlated with it
(:class:`Correlator`, fast enough for every keystroke); and the output as shown (absolute
value or not, clipped or normalized to [0, 1]), with a note when float32 leaves too few
grey levels for normalizing to show.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from convbook import kernels
from convbook._args import check_bool, check_choice, check_int_range
from convbook.language import text
from convbook.ops import conv2d

SIZES = range(1, 8)
#: the preset dropdown's entry for a kernel that is no preset
CUSTOM = "custom"
#: how the output is brought to [0, 1] for display
MODES = ("clip", "normalize")
#: below this many float32 values in the output's range, normalizing shows visible steps
_FEW_LEVELS = 256
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


@dataclass(frozen=True)
class KernelEditorState:
    """What a :class:`~convbook.widgets.kernel_editor.KernelEditor` shows.

    ``kernel``: the ``k x k`` weights, row by row, each a float32 value; ``preset``: the
    name of the preset it is, or ``'custom'``; ``image``: the photo's name, or
    ``'custom'`` for the image given to the editor; ``absolute``: show ``|output|``;
    ``mode``: ``'clip'`` or ``'normalize'`` to [0, 1].
    """

    kernel: tuple[tuple[float, ...], ...]
    preset: str = "identity"
    image: str = "camera"
    absolute: bool = False
    mode: str = "clip"

    @property
    def size(self) -> int:
        """The kernel's side, ``k``."""
        return len(self.kernel)

    def kernel_tensor(self) -> torch.Tensor:
        """The kernel as a new float32 ``(k, k)`` tensor."""
        return torch.tensor(self.kernel, dtype=torch.float32)


def as_rows(K: torch.Tensor) -> tuple[tuple[float, ...], ...]:
    """A float32 ``(k, k)`` kernel as the rows of :attr:`KernelEditorState.kernel`."""
    return tuple(tuple(row) for row in K.float().tolist())


def changed(state: KernelEditorState, changes: dict[str, Any],
            images: Sequence[str]) -> KernelEditorState:
    """The state that ``changes`` (keyword arguments of ``KernelEditor.set``) make of
    ``state``, every value checked first; ``images`` are the image names there are.

    ``kernel``: a preset name (at the current size, or ``size``, if the preset has sizes),
    ``'custom'`` (the kernel as it is, to edit), or a square tensor, array or nested list;
    ``size``: 1 to 7 (a preset with sizes is rebuilt, any other kernel kept centred,
    cropped or padded with zeros); ``image``, ``absolute``, ``mode``: see the state.

    Raises:
        TypeError, ValueError: naming the first bad argument and the rule.
    """
    unknown = set(changes) - {"kernel", "size", "image", "absolute", "mode"}
    if unknown:
        raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
    kernel = changes.get("kernel")
    size = check_int_range(changes["size"], "size", 1, max(SIZES)) if "size" in changes else None
    image = check_choice(changes.get("image", state.image), "image", images)
    absolute = check_bool(changes.get("absolute", state.absolute), "absolute")
    mode = check_choice(changes.get("mode", state.mode), "mode", MODES)
    preset, K = state.preset, state.kernel_tensor()
    if isinstance(kernel, str):
        preset = check_choice(kernel, "kernel", [*kernels.PRESETS, CUSTOM])
        if preset != CUSTOM:
            K = preset_kernel(preset, size or state.size)
    elif kernel is not None:
        K, preset = as_kernel(kernel), CUSTOM
    if size is not None and size != K.shape[0]:
        if preset in kernels.RESIZABLE:
            K = preset_kernel(preset, size)
        else:
            K, preset = recentred(K, size), CUSTOM
    return dataclasses.replace(state, kernel=as_rows(K), preset=preset, image=image,
                               absolute=absolute, mode=mode)


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


def levels_note(output: np.ndarray, absolute: bool, mode: str) -> str | None:
    """Why a normalized output shows few grey levels, or ``None``: when float32 has fewer
    than 256 values in the output's range (a kernel of tiny, denormal numbers), or none
    (a constant output, shown black)."""
    if mode != "normalize":
        return None
    shown = np.abs(output) if absolute else output
    lo, hi = np.float32(shown.min()), np.float32(shown.max())
    if lo == hi:
        return text("widgets.kernel_editor.constant", value=f"{float(lo):.3g}")
    count = _float32_ordinal(hi) - _float32_ordinal(lo) + 1
    if count >= _FEW_LEVELS:
        return None
    return text("widgets.kernel_editor.few_levels", low=f"{float(lo):.3g}",
                high=f"{float(hi):.3g}", count=count)


def _float32_ordinal(x: np.float32) -> int:
    """The position of ``x`` among all float32 values, in order (0 at zero)."""
    bits = int(np.asarray(x, dtype=np.float32).view(np.int32))
    return bits if bits >= 0 else -(bits & 0x7FFFFFFF)


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
