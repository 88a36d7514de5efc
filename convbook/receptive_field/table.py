"""The receptive-field table: :class:`Layer`, one row (a layer and the geometry of its
output units), and :class:`ReceptiveField`, the whole table with the final values, shown as
text or HTML, with the input box of any output unit and the model up to its last feature map.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import torch
from torch import fx

from convbook._args import Pair
from convbook.receptive_field._common import show_pair


@dataclass(frozen=True)
class Layer:
    """One row of the table: a layer and the geometry of its output, per axis ``(h, w)``.

    ``kernel``, ``stride``, ``padding`` and ``dilation`` are the layer's own arguments
    (``None`` for a merge of branches); ``size`` is its output height and width; ``r``,
    ``j``, ``P`` are the receptive field, effective stride and effective padding of its
    output units; ``centre`` is where output unit ``(0, 0)``'s field is centred on the
    input, ``(r - 1) / 2 - P``.
    """

    name: str
    type: str
    kernel: Pair | None
    stride: Pair | None
    padding: Pair | None
    dilation: Pair | None
    size: Pair
    r: Pair
    j: Pair
    P: Pair

    @property
    def centre(self) -> tuple[float, float]:
        return tuple((r - 1) / 2 - p for r, p in zip(self.r, self.P))  # type: ignore[return-value]

    def box(self, row: int, col: int) -> tuple[Pair, Pair]:
        """Input rows and columns ``((top, bottom), (left, right))`` (inclusive) that output
        unit ``(row, col)`` of this layer sees; not clipped to the image."""
        return unit_box(self.r, self.j, self.P, row, col)


def unit_box(r: Pair, j: Pair, P: Pair, row: int, col: int) -> tuple[Pair, Pair]:
    """Input rows and columns ``((top, bottom), (left, right))`` (inclusive) seen by unit
    ``(row, col)`` of a feature map whose units have receptive field ``r``, effective stride
    ``j`` and effective padding ``P`` (per axis ``(h, w)``): the unit's field starts at
    ``row * j - P``.  Not clipped: parts may lie in the padding, outside the image.

    >>> unit_box((5, 5), (2, 2), (2, 2), 0, 3)
    ((-2, 2), (4, 8))
    """
    top, left = row * j[0] - P[0], col * j[1] - P[1]
    return (top, top + r[0] - 1), (left, left + r[1] - 1)


_COLUMNS = ("layer", "type", "kernel", "stride", "padding", "dilation", "output",
            "r", "j", "P", "centre")


def _cells(row: Layer) -> list[str]:
    pairs = (row.kernel, row.stride, row.padding, row.dilation, row.size, row.r, row.j, row.P,
             row.centre)
    return [row.name, row.type, *(show_pair(v) for v in pairs)]


@dataclass(frozen=True)
class ReceptiveField:
    """The result of :func:`receptive_field`: the table and the final values.

    Attributes:
        rows: one :class:`Layer` per layer that changes the geometry (convolution,
            pooling, padding) or merges branches, in execution order, after an ``input`` row.
        input_size: ``(C, H, W)`` given to :func:`receptive_field`.
        size: receptive field ``(r_h, r_w)`` of a unit of the last spatial feature map.
        stride: its effective stride ``(j_h, j_w)``.
        padding: its effective padding ``(P_h, P_w)``.
        output_size: ``(H, W)`` of the last spatial feature map.
        layer: the name of the node that produces it.
        stopped_at: the global pooling / flatten / linear layer that ends the spatial part,
            e.g. ``"avgpool (AdaptiveAvgPool2d)"``, or ``None`` if the model returns it.
    """

    rows: list[Layer]
    input_size: tuple[int, int, int]
    size: Pair
    stride: Pair
    padding: Pair
    output_size: Pair
    layer: str
    stopped_at: str | None
    _features: fx.GraphModule | None = field(default=None, repr=False, compare=False)

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of output unit ``(0, 0)``'s field on the input: ``(r - 1) / 2 - P``."""
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding))  # type: ignore[return-value]

    def box(self, row: int, col: int) -> tuple[Pair, Pair]:
        """Input rows and columns ``((top, bottom), (left, right))`` (inclusive) that output
        unit ``(row, col)`` sees.  Not clipped: parts may lie in the padding, outside the
        image."""
        return unit_box(self.size, self.stride, self.padding, row, col)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model up to the last spatial feature map: ``(N, C, H, W)`` ->
        ``(N, C', *output_size)``."""
        if self._features is None:  # pragma: no cover - always set by receptive_field
            raise ValueError("this ReceptiveField has no model attached")
        return self._features(x)

    def _summary(self) -> str:
        stop = f", stops before {self.stopped_at}" if self.stopped_at else ""
        return (f"receptive field {show_pair(self.size)}, "
                f"effective stride {show_pair(self.stride)}, "
                f"effective padding {show_pair(self.padding)}, centre of unit (0, 0) at "
                f"{show_pair(self.centre)}; last feature map {show_pair(self.output_size)} "
                f"from '{self.layer}'{stop}")

    def __repr__(self) -> str:
        table = [list(_COLUMNS), *(_cells(row) for row in self.rows)]
        widths = [max(len(line[c]) for line in table) for c in range(len(_COLUMNS))]
        lines = ["  ".join(cell.rjust(w) if c > 1 else cell.ljust(w)
                           for c, (cell, w) in enumerate(zip(line, widths))).rstrip()
                 for line in table]
        return "\n".join([*lines, self._summary()])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(row)) + "</tr>"
            for row in self.rows
        )
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{html.escape(self._summary())}</p>")
