"""The roofline model (Williams, Waterman & Patterson, 2009): how fast can a layer run here?

A computation that does ``F`` floating-point operations and moves ``B`` bytes between
memory and the processor cannot take less than ``F / P`` seconds on a processor that does
at most ``P`` FLOP/s, nor less than ``B / β`` seconds with a memory bandwidth of ``β``
bytes/s.  Its *arithmetic intensity* ``I = F / B`` (FLOP per byte) decides which limit
binds: it attains at most

    min(P, β · I)  FLOP/s,

a flat roof at ``P`` and a slanted one ``β · I`` that meet at the *ridge point*
``I* = P / β``.  Left of the ridge a layer is *memory-bound* (more arithmetic units would
not help; fewer bytes would), right of it *compute-bound*.

Here: :class:`ConvLayer` (a convolution's settings, with its FLOPs, bytes and intensity),
:func:`conv_layers` (those of a model, as it runs), the model's formulas
(:func:`attainable_flops`, :func:`ridge_point`, :func:`predicted_seconds`), measurements of
``P`` (:func:`matmul_peak`) and ``β`` (:func:`copy_bandwidth`), the time of a layer by each
algorithm of chapter 10 (:data:`ALGORITHMS`, :func:`time_algorithms`), and
:func:`plot_roofline`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

from convbook._args import (
    check_bool,
    check_callable,
    check_choice,
    check_groups,
    check_instance,
    check_int,
    check_number,
    check_positive_float,
    check_positive_int,
)
from convbook.counting import conv_bytes, conv_macs
from convbook.fonts import drawn_text, use_reader_font
from convbook.ops import conv2d, conv2d_direct, conv2d_fft, conv2d_winograd
from convbook.ops.fft import FFT_DTYPES
from convbook.shapes import conv_out_size
from convbook.timing import benchmark_time

#: dtypes a layer's cost can be counted in
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ConvLayer:
    """A 2D convolution applied to a batch: everything that fixes its cost.

    Square kernels, strides and paddings (int), no dilation.  Every field is checked when
    the layer is made, also by ``dataclasses.replace``: a ``TypeError`` or ``ValueError``
    names the field and the rule.

    >>> layer = ConvLayer(64, 128, 3, 32, 32, padding=1)
    >>> layer.output_size, layer.macs, layer.bytes_moved()
    ((32, 32), 75497472, 1081344)
    >>> round(layer.intensity(), 1)  # FLOP per byte
    139.6
    """

    in_channels: int
    out_channels: int
    kernel_size: int
    height: int
    width: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    batch: int = 1

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "kernel_size", "height", "width",
                     "stride", "groups", "batch"):
            check_positive_int(getattr(self, name), name)
        check_int(self.padding, "padding", minimum=0)
        check_groups(self.in_channels, self.out_channels, self.groups,
                     in_name="in_channels", out_name="out_channels")
        self.output_size  # noqa: B018 (raises if the kernel does not fit the padded input)

    @property
    def output_size(self) -> tuple[int, int]:
        """``(H_out, W_out)``."""
        return conv_out_size((self.height, self.width), self.kernel_size, self.stride,
                             self.padding)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the whole batch."""
        return self.batch * conv_macs(self.in_channels, self.out_channels,
                                      (self.kernel_size,) * 2, self.output_size, self.groups)

    @property
    def flops(self) -> int:
        """Floating-point operations: two (a multiply and an add) per MAC."""
        return 2 * self.macs

    def bytes_moved(self, dtype: str = "float32") -> int:
        """The least memory traffic: input and weights read once, output written once."""
        kind = DTYPES[check_choice(dtype, "dtype", list(DTYPES))]
        return conv_bytes(self.in_channels, self.out_channels, (self.kernel_size,) * 2,
                          (self.height, self.width), self.output_size, self.groups,
                          self.batch, kind.itemsize)

    def intensity(self, dtype: str = "float32") -> float:
        """Arithmetic intensity, FLOP per byte moved."""
        return self.flops / self.bytes_moved(dtype)

    def tensors(
        self, dtype: str = "float32", *, channels_last: bool = False, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random ``(input, weight)`` of the layer's shapes, ``(N, C_in, H, W)`` and
        ``(C_out, C_in / groups, k, k)``, optionally laid out channels-last."""
        kind = DTYPES[check_choice(dtype, "dtype", list(DTYPES))]
        check_bool(channels_last, "channels_last")
        g = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
        x = torch.randn(self.batch, self.in_channels, self.height, self.width, generator=g)
        w = torch.randn(self.out_channels, self.in_channels // self.groups,
                        self.kernel_size, self.kernel_size, generator=g)
        if channels_last:
            x, w = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
        return x.to(kind), w.to(kind)

    def __str__(self) -> str:
        grouped = f", groups {self.groups}" if self.groups > 1 else ""
        return (f"{self.in_channels}→{self.out_channels}, {self.kernel_size}×"
                f"{self.kernel_size}/{self.stride} on {self.height}×{self.width}{grouped}")


def conv_layers(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, ConvLayer]]:
    """Every ``nn.Conv2d`` of ``model`` as it runs on a zero input of ``input_shape``
    ``(N, C, H, W)``: ``(name, layer)`` pairs in the order they run.

    Raises:
        ValueError: a convolution with a non-square kernel, stride or padding, a padding
            string, or dilation (:class:`ConvLayer` describes neither).
    """
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) else ()
    if len(shape) != 4:
        raise ValueError(f"input_shape must be (N, C, H, W), got {input_shape!r}")
    for i, v in enumerate(shape):
        check_positive_int(v, f"input_shape[{i}]")
    found: list[tuple[str, ConvLayer]] = []

    def record(name: str, conv: nn.Conv2d, args: tuple) -> None:
        n, c, h, w = args[0].shape
        k, s, p = conv.kernel_size, conv.stride, conv.padding
        if isinstance(p, str) or len({*k}) > 1 or len({*s}) > 1 or len({*p}) > 1 \
                or conv.dilation != (1, 1):
            raise ValueError(f"model's layer {name!r} has kernel {k}, stride {s}, padding "
                             f"{p}, dilation {conv.dilation}: ConvLayer takes square ints "
                             "and no dilation")
        found.append((name, ConvLayer(c, conv.out_channels, k[0], h, w, s[0], p[0],
                                      conv.groups, n)))

    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: record(name, mod, args))
             for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(shape))
    except RuntimeError as error:  # torch's own words for a shape the model cannot take
        raise ValueError(f"model cannot run on an input of input_shape {shape}: "
                         f"{str(error).splitlines()[0][:200]}") from error
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return found


# ------------------------------------------------------------------------- the model


def attainable_flops(intensity: float, peak: float, bandwidth: float) -> float:
    """The roof: ``min(peak, bandwidth · intensity)`` FLOP/s.

    >>> attainable_flops(2.0, peak=100e9, bandwidth=10e9)  # memory-bound: 2 · 10 GB/s
    20000000000.0
    """
    intensity = check_positive_float(intensity, "intensity")
    peak = check_positive_float(peak, "peak")
    bandwidth = check_positive_float(bandwidth, "bandwidth")
    return min(peak, bandwidth * intensity)


def ridge_point(peak: float, bandwidth: float) -> float:
    """The intensity where the two roofs meet, ``peak / bandwidth`` FLOP per byte.

    >>> ridge_point(100e9, 10e9)
    10.0
    """
    return check_positive_float(peak, "peak") / check_positive_float(bandwidth, "bandwidth")


def predicted_seconds(
    layer: ConvLayer, peak: float, bandwidth: float, dtype: str = "float32"
) -> float:
    """The roofline's lower bound on the layer's time: ``max(F / peak, B / bandwidth)``."""
    check_instance(layer, "layer", ConvLayer, "a ConvLayer")
    return layer.flops / attainable_flops(layer.intensity(dtype), peak, bandwidth)


# ------------------------------------------------------------------------- measurements


def matmul_peak(
    dtype: str = "float32", size: int = 1024, *, num_threads: int | None = None,
    min_run_time: float = 0.2,
) -> float:
    """Measured FLOP/s of a ``size × size`` matrix product (``2 · size³`` FLOPs), the
    fastest work a CPU does: the practical peak ``P`` of its roofline."""
    kind = DTYPES[check_choice(dtype, "dtype", list(DTYPES))]
    size = check_positive_int(size, "size")
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=g).to(kind) for _ in range(2))
    seconds = benchmark_time(lambda: a @ b, num_threads=num_threads, min_run_time=min_run_time)
    return 2 * size**3 / seconds


def copy_bandwidth(
    megabytes: int = 256, *, num_threads: int | None = None, min_run_time: float = 0.2
) -> float:
    """Measured memory bandwidth ``β`` in bytes/s: a copy of ``megabytes`` (far larger than
    the caches) reads and writes each byte once, ``2 · megabytes`` per copy."""
    megabytes = check_positive_int(megabytes, "megabytes")
    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    seconds = benchmark_time(lambda: target.copy_(source), num_threads=num_threads,
                             min_run_time=min_run_time)
    return 2 * source.numel() * 4 / seconds


# ------------------------------------------------------------------------- the algorithms

Conv = Callable[..., torch.Tensor]

#: chapter 10's algorithms, by name, each with ``F.conv2d``'s signature
ALGORITHMS: dict[str, Conv] = {
    "direct": conv2d_direct,
    "im2col": conv2d,
    "FFT": conv2d_fft,
    "Winograd": conv2d_winograd,
    "F.conv2d": F.conv2d,
}


def why_not(name: str, layer: ConvLayer, dtype: str = "float32") -> str | None:
    """Why algorithm ``name`` cannot compute ``layer`` in ``dtype``, or None if it can."""
    check_choice(name, "name", list(ALGORITHMS))
    check_instance(layer, "layer", ConvLayer, "a ConvLayer")
    check_choice(dtype, "dtype", list(DTYPES))
    return _why_not(name, layer, dtype)


def _why_not(name: str, layer: ConvLayer, dtype: str) -> str | None:
    """:func:`why_not` for checked arguments."""
    if name == "Winograd" and (layer.kernel_size, layer.stride) != (3, 1):
        return "Winograd F(2x2, 3x3) needs a 3x3 kernel and stride 1"
    if name == "FFT" and DTYPES[dtype] not in FFT_DTYPES:
        return "the FFT computes in float32 or float64"
    return None


def time_algorithms(
    layer: ConvLayer,
    names: Sequence[str] | None = None,
    *,
    dtype: str = "float32",
    num_threads: int | None = None,
    min_run_time: float = 0.1,
    progress: Callable[[int, int, str], object] | None = None,
) -> dict[str, float | None]:
    """Seconds per call of each algorithm on random tensors of ``layer``'s shapes (None
    where it does not apply, see :func:`why_not`), measured one after the other by
    :func:`~convbook.timing.benchmark_time` (its fastest block).

    ``progress(done, total, name)`` is called before each measurement and once at the end.
    """
    check_instance(layer, "layer", ConvLayer, "a ConvLayer")
    if names is None:
        names = list(ALGORITHMS)
    elif isinstance(names, (list, tuple)):
        names = [check_choice(n, "names", list(ALGORITHMS)) for n in names]
    else:
        raise TypeError(f"names must be a list of algorithm names, got {names!r}")
    check_choice(dtype, "dtype", list(DTYPES))
    if num_threads is not None:
        check_positive_int(num_threads, "num_threads")
    check_number(min_run_time, "min_run_time", low=0.0, low_ok=False)
    if progress is not None:
        check_callable(progress, "progress", "as progress(done, total, name)")
    x, w = layer.tensors(dtype)
    args = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
    times: dict[str, float | None] = {}
    with torch.no_grad():
        for i, name in enumerate(names):
            if progress is not None:
                progress(i, len(names), name)
            fn = ALGORITHMS[name]
            times[name] = None if _why_not(name, layer, dtype) else benchmark_time(
                lambda fn=fn: fn(x, w, **args), num_threads=num_threads,
                min_run_time=min_run_time)
    if progress is not None:
        progress(len(names), len(names), "")
    return times


# ------------------------------------------------------------------------- the picture


def plot_roofline(
    ax: Axes, peak: float, bandwidth: float, *, label: str = "", color: str = "black",
    intensities: tuple[float, float] = (0.1, 1000.0),
) -> None:
    """Draw the roof ``min(peak, bandwidth · I)`` (in GFLOP/s) on log-log axes, with its
    ridge point marked, over ``intensities`` (FLOP per byte)."""
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be matplotlib Axes, got {type(ax).__name__}")
    check_instance(label, "label", str, "a string")
    check_instance(color, "color", str, "a string")
    if not isinstance(intensities, (tuple, list)) or len(intensities) != 2:
        raise TypeError(f"intensities must be a pair (low, high), got {intensities!r}")
    lo, hi = (check_positive_float(i, "intensities") for i in intensities)
    if lo >= hi:
        raise ValueError(f"intensities must be (low, high) with low < high, got {intensities}")
    ridge = ridge_point(peak, bandwidth)
    xs = [lo, *([ridge] if lo < ridge < hi else []), hi]
    ax.loglog(xs, [attainable_flops(i, peak, bandwidth) / 1e9 for i in xs], color=color,
              label=label or None)
    if lo < ridge < hi:
        ax.axvline(ridge, color=color, lw=0.6, ls=":")
    ax.set_xlabel(drawn_text("figures.roofline.intensity"))
    ax.set_ylabel(drawn_text("figures.roofline.speed"))
    ax.grid(True, which="major", alpha=0.3)
    use_reader_font(ax.figure)


def achieved_flops(layer: ConvLayer, seconds: float) -> float:
    """FLOP/s a layer achieved if it took ``seconds``."""
    check_instance(layer, "layer", ConvLayer, "a ConvLayer")
    return layer.flops / check_positive_float(seconds, "seconds")


__all__ = [
    "ALGORITHMS", "DTYPES", "ConvLayer", "achieved_flops", "attainable_flops", "conv_layers",
    "copy_bandwidth", "matmul_peak", "plot_roofline", "predicted_seconds", "ridge_point",
    "time_algorithms", "why_not",
]
