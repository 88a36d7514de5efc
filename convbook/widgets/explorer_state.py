"""The convolution explorer's state: the sizes, mode and step of the operation it shows,
read from its sliders and checked against their ranges and torch's rules, and what follows
from them (output size, the window read, the formula), from
:class:`~convbook.widgets.explorer_geometry.ConvGeometry`.  :class:`ConvExplorerState`
gives the widget these attributes; the widget itself moves the sliders and draws.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from convbook._args import pair
from convbook.widgets.explorer_geometry import (
    MODES,
    ConvGeometry,
    Pair,
    check_output_padding,
    output_padding_limits,
)

#: the sizes of the operation, each an ``(h, w)`` pair
NAMES = ("input_size", "kernel_size", "padding", "stride", "dilation", "output_padding")


class _Setting:
    """A setting of the explorer, read from its sliders; assigning it calls ``set``.

    ``widget`` names the sub-widget whose ``value`` the setting is; without it, the
    setting is a size: the ``(h, w)`` pair of its two per-axis sliders.
    """

    def __init__(self, doc: str, widget: str | None = None) -> None:
        self.__doc__ = doc
        self.widget = widget

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, explorer: ConvExplorerState | None, owner: type | None = None) -> Any:
        if explorer is None:
            return self
        if self.widget is None:
            return explorer._pair(self.name)
        return getattr(explorer, self.widget).value

    def __set__(self, explorer: ConvExplorerState, value: Any) -> None:
        explorer.set(**{self.name: value})


class ConvExplorerState:
    """The state of a :class:`~convbook.widgets.explorer.ConvExplorer`, as attributes.

    The widget is a subclass: it owns the sliders (``_hw``: a size's height and width
    sliders; ``mode_toggle``, ``per_axis_checkbox``, ``step_slider``), which hold the
    settings, sets ``_geometry`` from them on every update, and defines ``set``, which
    assigning a setting calls.
    """

    _hw: dict[str, tuple[Any, Any]]
    _geometry: ConvGeometry

    #: (min, max) of each slider
    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {
        "input_size": (1, 12),
        "kernel_size": (1, 7),
        "padding": (0, 4),
        "stride": (1, 4),
        "dilation": (1, 4),
        "output_padding": (0, 3),
    }

    input_size = _Setting("``(h, w)`` size of the input.")
    kernel_size = _Setting("``(h, w)`` size of the kernel.")
    padding = _Setting("``(h, w)`` padding on each side.")
    stride = _Setting("``(h, w)`` stride.")
    dilation = _Setting("``(h, w)`` dilation.")
    output_padding = _Setting("``(h, w)`` output padding (transposed mode).")
    mode = _Setting("``'conv'`` or ``'transposed'``.", "mode_toggle")
    per_axis = _Setting("Whether separate height and width sliders show.", "per_axis_checkbox")
    step = _Setting("Index of the current output position, ``0 .. n_steps - 1``.", "step_slider")

    def _pair(self, name: str) -> tuple[int, int]:
        sh, sw = self._hw[name]
        return sh.value, sw.value

    @property
    def output_size(self) -> Pair | None:
        return self._geometry.output_size

    @property
    def n_steps(self) -> int:
        return self._geometry.n_steps

    @property
    def padded_size(self) -> Pair:
        return self._geometry.padded_size

    @property
    def output_position(self) -> Pair | None:
        return self._geometry.position(self.step)

    @property
    def window(self) -> list[Pair]:
        return self._geometry.window(self.step)

    @property
    def formula(self) -> str:
        return self._geometry.formula

    def positions(self) -> list[Pair]:
        """Every output position ``(row, col)``, in step (row-major) order."""
        return self._geometry.positions()

    def window_at(self, step: int) -> list[Pair]:
        """``window`` at output position number ``step`` (row-major), without moving there."""
        if not 0 <= step < self.n_steps:
            raise ValueError(f"step must be in 0..{self.n_steps - 1}, got {step}")
        return self._geometry.window(step)

    def cell_kinds(self) -> np.ndarray:
        """The padded grid, ``(rows, cols)``: INPUT, PADDING or ZERO (inserted) per cell.

        With negative transposed padding (a crop) the grid is the cropped one.
        """
        return self._geometry.cell_kinds()

    # ----------------------------------------------------------------- checks
    def _check(self, name: str, value: object) -> tuple[int, int]:
        lo, hi = self.LIMITS[name]
        h, w = pair(value, name, minimum=lo)
        if max(h, w) > hi:
            raise ValueError(f"{name} must be <= {hi} in the explorer, got {value}")
        return h, w

    @staticmethod
    def _check_mode(mode: object) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be 'conv' or 'transposed', got {mode!r}")

    @staticmethod
    def _check_per_axis(per_axis: object) -> None:
        if not isinstance(per_axis, bool):
            raise TypeError(f"per_axis must be True or False, got {per_axis!r}")

    def _check_changes(self, kwargs: dict[str, Any]) -> dict[str, Pair]:
        """Check the arguments of ``set``, against the state they would make, before
        anything changes; returns the sizes among them as ``(h, w)`` pairs."""
        unknown = set(kwargs) - {*NAMES, "mode", "per_axis", "step"}
        if unknown:
            raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
        pairs = {n: self._check(n, kwargs[n]) for n in NAMES if n in kwargs}
        mode = kwargs.get("mode", self.mode)
        self._check_mode(mode)
        if kwargs.get("per_axis") is not None:
            self._check_per_axis(kwargs["per_axis"])
        after = {n: pairs.get(n, self._pair(n)) for n in NAMES}
        if "output_padding" in pairs:
            check_output_padding(after["output_padding"], after["stride"], after["dilation"])
        else:  # the sliders lower it to what the new stride and dilation allow
            limits = output_padding_limits(after["stride"], after["dilation"])
            after["output_padding"] = tuple(map(min, after["output_padding"], limits))
        if "step" in kwargs:
            step = kwargs["step"]
            if not isinstance(step, int) or isinstance(step, bool):
                raise TypeError(f"step must be an int, got {step!r}")
            n_steps = ConvGeometry.of(**after, mode=mode).n_steps
            if not 0 <= step < max(n_steps, 1):
                raise ValueError(f"step must be in 0..{max(n_steps, 1) - 1}, got {step}")
        return pairs
