"""The roofline explorer's state and what follows from it, without widgets: the layer it
shows, its number format and the times measured for them, as a frozen dataclass
(:class:`RooflineExplorerState`); :func:`changed`, which checks a change to them against
the explorer's limits and :class:`~convbook.roofline.ConvLayer`'s rules and returns the
state it makes; which roof bounds a layer (:func:`bound_by`); and the limit on the layers
*measure* times (:func:`check_measurable`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convbook._args import check_choice, check_int_range, check_positive_float
from convbook.roofline import ALGORITHMS, DTYPES, ConvLayer, ridge_point, why_not

#: (min, max) of each field of the layer in the explorer (its sliders' ranges)
LIMITS: dict[str, tuple[int, int]] = {
    "in_channels": (1, 256),
    "out_channels": (1, 256),
    "kernel_size": (1, 15),
    "height": (1, 128),
    "width": (1, 128),
    "stride": (1, 4),
    "padding": (0, 7),
    "groups": (1, 256),
    "batch": (1, 64),
}
#: the largest layer *measure* times (the direct method at about 1 GFLOP/s: seconds)
MAX_MEASURED_MACS = 2 * 10**9
#: the largest window matrix (im2col) *measure* builds, in bytes
MAX_WINDOW_BYTES = 2**28

#: the layer the explorer shows first: 64→64 channels, 3×3, 32×32, padding 1
FIRST_LAYER = ConvLayer(64, 64, 3, 32, 32, padding=1)

#: seconds per call of each algorithm, ``(name, seconds)`` pairs; ``None`` where it does
#: not apply (see :func:`~convbook.roofline.why_not`)
Times = tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class RooflineExplorerState:
    """What a :class:`~convbook.widgets.roofline_explorer.RooflineExplorer` shows.

    ``layer``: a :class:`~convbook.roofline.ConvLayer` whose fields are within
    :data:`LIMITS`; ``dtype``: its number format, ``'float32'`` or ``'bfloat16'``;
    ``times``: the seconds each algorithm took on that layer in that format, or ``None``
    before they are measured.
    """

    layer: ConvLayer = FIRST_LAYER
    dtype: str = "float32"
    times: Times | None = None


def changed(state: RooflineExplorerState, changes: dict[str, Any],
            dtypes: Sequence[str]) -> RooflineExplorerState:
    """The state that ``changes`` (keyword arguments of ``RooflineExplorer.set``) make of
    ``state``, every value checked against the state it would make; ``dtypes`` are the
    number formats the explorer has peaks for.

    ``layer``: a whole :class:`~convbook.roofline.ConvLayer`; any of its fields
    (``in_channels``, ..., ``batch``): that field of the layer (on top of ``layer`` when
    both are given); ``dtype``; ``times``: seconds by algorithm name, as
    :func:`~convbook.roofline.time_algorithms` returns them for the new layer and format,
    or ``None``.  Without ``times``, the measured times are kept only if the layer and the
    format stay as they are.

    Raises:
        TypeError, ValueError: naming the first bad argument and the rule.
    """
    unknown = set(changes) - {*LIMITS, "layer", "dtype", "times"}
    if unknown:
        raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
    layer = changes.get("layer", state.layer)
    if not isinstance(layer, ConvLayer):
        raise TypeError(f"layer must be a ConvLayer, got {type(layer).__name__}")
    sizes = {name: check_int_range(changes.get(name, getattr(layer, name)), name, low, high,
                                   where=" in the explorer")
             for name, (low, high) in LIMITS.items()}
    layer = ConvLayer(**sizes)  # checks that groups divide the channels and the kernel fits
    dtype = check_choice(changes.get("dtype", state.dtype), "dtype", dtypes)
    if "times" in changes:
        times = checked_times(changes["times"], layer, dtype)
    elif (layer, dtype) == (state.layer, state.dtype):
        times = state.times
    else:
        times = None  # another layer or format: its times are not known
    return dataclasses.replace(state, layer=layer, dtype=dtype, times=times)


def checked_times(times: object, layer: ConvLayer, dtype: str) -> Times | None:
    """``times`` (seconds by algorithm name, or ``None``) checked against what applies to
    ``layer`` in ``dtype``: a number of seconds > 0 for an algorithm that can compute it,
    ``None`` for one that cannot (:func:`~convbook.roofline.why_not`)."""
    if times is None:
        return None
    if not isinstance(times, Mapping):
        raise TypeError(f"times must be a dict of seconds by algorithm name, such as "
                        f"{{'direct': 0.01}}, or None, got {times!r}")
    if not times:
        raise ValueError("times must give the seconds of at least one algorithm, got {}")
    checked = []
    for name, seconds in times.items():
        check_choice(name, "each name in times", list(ALGORITHMS))
        reason = why_not(name, layer, dtype)
        if reason is None:
            checked.append((name, check_positive_float(seconds, f"times[{name!r}]")))
        elif seconds is None:
            checked.append((name, None))
        else:
            raise ValueError(f"times[{name!r}] must be None ({reason}), got {seconds!r}")
    return tuple(checked)


def bound_by(layer: ConvLayer, dtype: str, peak: float, bandwidth: float) -> str:
    """``"memory"`` or ``"compute"``: which roof is lower at ``layer``'s intensity in
    ``dtype``, on a machine of ``peak`` FLOP/s and ``bandwidth`` bytes/s."""
    return "memory" if layer.intensity(dtype) < ridge_point(peak, bandwidth) else "compute"


def check_measurable(state: RooflineExplorerState) -> None:
    """Raise a ``ValueError`` saying why, if ``state``'s layer is too large to time here
    (more than :data:`MAX_MEASURED_MACS`, or a window matrix of more than
    :data:`MAX_WINDOW_BYTES`)."""
    layer = state.layer
    h_out, w_out = layer.output_size
    window = (layer.batch * h_out * w_out * layer.in_channels * layer.kernel_size**2
              * DTYPES[state.dtype].itemsize)
    if layer.macs > MAX_MEASURED_MACS or window > MAX_WINDOW_BYTES:
        raise ValueError(
            f"the layer is too large to measure here ({layer.macs:,} MACs, a window matrix "
            f"of {window / 2**20:,.0f} MiB; at most {MAX_MEASURED_MACS:,} and "
            f"{MAX_WINDOW_BYTES // 2**20} MiB): make the batch, image or channels smaller")
