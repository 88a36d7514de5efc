"""The convolution explorer's state: the settings of the operation it shows, as a frozen
dataclass, and :func:`changed`, which checks a change to them against the explorer's
limits and torch's rules and returns the state it makes.  What follows from a state (the
output size, the window read, the formula) is its :attr:`ConvExplorerState.geometry`, a
:class:`~convbook.widgets.explorer_geometry.ConvGeometry`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from convbook._args import check_bool, check_choice, check_int_range, check_pair_range
from convbook.widgets.explorer_geometry import (
    MODES,
    ConvGeometry,
    Pair,
    check_output_padding,
    output_padding_limits,
)

#: the sizes of the operation, each an ``(h, w)`` pair
NAMES = ("input_size", "kernel_size", "padding", "stride", "dilation", "output_padding")

#: (min, max) of each size in the explorer (its sliders' ranges)
LIMITS: dict[str, tuple[int, int]] = {
    "input_size": (1, 12),
    "kernel_size": (1, 7),
    "padding": (0, 4),
    "stride": (1, 4),
    "dilation": (1, 4),
    "output_padding": (0, 3),
}


@dataclass(frozen=True)
class ConvExplorerState:
    """What a :class:`~convbook.widgets.explorer.ConvExplorer` shows.

    The sizes are ``(h, w)`` pairs within :data:`LIMITS`; ``output_padding`` (transposed
    mode) is below the stride or the dilation on each axis; ``per_axis`` is true whenever
    some size differs between the axes; ``step`` is the current output position,
    ``0 .. n_steps - 1`` (0 when the combination is impossible).
    """

    input_size: Pair = (5, 5)
    kernel_size: Pair = (3, 3)
    padding: Pair = (0, 0)
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    output_padding: Pair = (0, 0)
    mode: str = "conv"
    per_axis: bool = False
    step: int = 0

    @functools.cached_property
    def geometry(self) -> ConvGeometry:
        """Where the kernel reads, the output size and the formula, for these sizes."""
        return ConvGeometry.of(**{name: getattr(self, name) for name in NAMES}, mode=self.mode)


FIELDS = tuple(field.name for field in dataclasses.fields(ConvExplorerState))


def changed(state: ConvExplorerState, changes: dict[str, Any]) -> ConvExplorerState:
    """The state that ``changes`` (keyword arguments of ``ConvExplorer.set``) make of
    ``state``, every value checked against the state it would make.

    Sizes are ints or ``(h, w)`` pairs.  A size that differs between the axes switches
    ``per_axis`` on; switching it off makes every size not given square, from its height.
    Without an ``output_padding``, the one there is lowered to what the new stride and
    dilation allow; without a ``step``, the current one is kept, lowered to the new last
    step.

    Raises:
        TypeError, ValueError: naming the first bad argument and the rule.
    """
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
    given = {
        name: check_pair_range(changes[name], name, *LIMITS[name], where=" in the explorer")
        for name in NAMES
        if name in changes
    }
    mode = check_choice(changes.get("mode", state.mode), "mode", MODES)
    per_axis = check_bool(changes.get("per_axis", state.per_axis), "per_axis")
    sizes = {name: given.get(name, getattr(state, name)) for name in NAMES}
    if state.per_axis and not per_axis:  # back to square: the height for both axes
        sizes = {name: given.get(name, (h, h)) for name, (h, _w) in sizes.items()}
    if "output_padding" in given:
        check_output_padding(sizes["output_padding"], sizes["stride"], sizes["dilation"])
    else:
        limits = output_padding_limits(sizes["stride"], sizes["dilation"])
        sizes["output_padding"] = tuple(map(min, sizes["output_padding"], limits))
    per_axis = per_axis or any(h != w for h, w in sizes.values())
    n_steps = ConvGeometry.of(**sizes, mode=mode).n_steps
    last = max(n_steps - 1, 0)
    if "step" in changes:
        step = check_int_range(changes["step"], "step", 0, last)
    else:
        step = min(state.step, last)
    return dataclasses.replace(state, **sizes, mode=mode, per_axis=per_axis, step=step)


def describe(state: ConvExplorerState) -> str:
    """The settings and the output size, as the reprs show them.

    >>> describe(ConvExplorerState(padding=(1, 1)))
    "mode='conv', input=(5, 5), kernel=(3, 3), padding=(1, 1), stride=(1, 1), \
dilation=(1, 1) -> output (5, 5)"
    """
    parts = [
        f"mode={state.mode!r}",
        f"input={state.input_size}",
        f"kernel={state.kernel_size}",
        f"padding={state.padding}",
        f"stride={state.stride}",
        f"dilation={state.dilation}",
    ]
    if state.mode == "transposed":
        parts.append(f"output_padding={state.output_padding}")
    size = state.geometry.output_size
    result = "impossible" if size is None else f"output {size}"
    return f"{', '.join(parts)} -> {result}"
