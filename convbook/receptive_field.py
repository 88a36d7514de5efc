"""Receptive field, effective stride and effective padding of every layer of a CNN.

Follows Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019).  Walking forward from the input (``r_0 = 1, j_0 = 1, P_0 = 0``),
a layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` gives, per axis,

* kernel extent ``k' = d(k - 1) + 1``;
* receptive field ``r_l = r_{l-1} + (k' - 1) j_{l-1}`` (input pixels one unit sees);
* effective stride ``j_l = j_{l-1} s`` (input pixels between neighbouring units);
* effective padding ``P_l = P_{l-1} + p j_{l-1}``;

so output unit ``i`` of layer ``l`` sees input pixels ``i j_l - P_l`` to
``i j_l - P_l + r_l - 1`` (the range may run into the padding), centred at
``i j_l + (r_l - 1) / 2 - P_l``.

The model is traced with :mod:`torch.fx`, so branches work: a residual addition or a
channel concatenation sees the *union* of its inputs' fields (the largest one when the
branches are centred alike).  Layers that do not move pixels (activations, normalisation,
dropout, element-wise arithmetic) pass the field through, and so do operations on the
channel axis only: a channel mean or maximum (spatial attention), a channel shuffle's
``view``/``transpose``, ``chunk`` and ``cat`` along the channels, a ``permute`` to channels
last and back.  The walk ends at the last spatial feature map, before a reduction over the
spatial axes (global pooling, ``mean([2, 3])``), ``flatten`` or a ``Linear`` layer; where
it has to stop at something it cannot follow (a ``view`` that merges the spatial axes,
say), it warns that the field may be larger than reported.  A model that returns several
outputs, like ``(main, aux)``, is measured along its first output.

Limits: the model is traced, not run, so sizes are known only where they can be read
from the graph, and a value that comes back from global pooling into the spatial path
(squeeze-and-excitation) is treated as a constant, although strictly it lets every unit
see the whole image.
"""

from __future__ import annotations

import html
import math
import operator
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from convbook._args import check_positive_int, check_tensor, ntuple, pair
from convbook._spatial_axes import (
    ELEMENTWISE,
    END,
    GIVE_UP,
    NOT_A_MAP,
    Layout,
    follow,
)
from convbook.shapes import conv_out_size, pool_out_size

Pair = tuple[int, int]

__all__ = [
    "Layer",
    "ReceptiveField",
    "field_size",
    "next_field",
    "plot_receptive_field",
    "receptive_field",
    "unit_gradient",
]

# Layers and functions that leave every pixel where it is.
_PASS_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus,
    nn.Identity, nn.BatchNorm2d, nn.SyncBatchNorm, nn.InstanceNorm2d, nn.GroupNorm,
    nn.LocalResponseNorm, nn.Dropout, nn.Dropout2d, nn.AlphaDropout,
)
_PASS_FUNCTIONS = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.neg,
    operator.iadd, operator.isub, operator.imul, operator.itruediv,
    torch.add, torch.sub, torch.mul, torch.div, torch.relu, torch.relu_, torch.sigmoid,
    torch.tanh, torch.clamp, F.relu, F.relu6, F.leaky_relu, F.gelu, F.silu, F.hardswish,
    F.hardsigmoid, F.sigmoid, F.tanh, F.dropout, F.dropout2d,
}
_PASS_METHODS = {
    "add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_", "relu", "relu_",
    "sigmoid", "sigmoid_", "tanh", "tanh_", "clamp", "clamp_", "clamp_min", "clamp_min_",
    "contiguous", "clone", "float", "double", "half", "to",
}
# Functions of other libraries that leave every pixel where it is, by module and name.
_PASS_NAMED = {("torchvision.ops.stochastic_depth", "stochastic_depth")}
# Functional pooling: parameter names after the input, and their defaults.
_POOL_FUNCTIONS: dict[Any, tuple[tuple[str, Any], ...]] = {
    F.max_pool2d: (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1),
                   ("ceil_mode", False)),
    F.avg_pool2d: (("kernel_size", None), ("stride", None), ("padding", 0),
                   ("ceil_mode", False)),
}
_ENDS_AT = {F.adaptive_avg_pool2d, F.adaptive_max_pool2d}  # global pooling


@dataclass(frozen=True)
class _Geometry:
    """Where the units of one feature map sit on the input, per axis ``(h, w)``."""

    size: Pair  # feature map height and width
    r: Pair  # receptive field
    j: Pair  # effective stride
    P: Pair  # effective padding
    layout: Layout = field(default_factory=Layout)  # where height and width are


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


_COLUMNS = ("layer", "type", "kernel", "stride", "padding", "dilation", "output",
            "r", "j", "P", "centre")


def _show(value: tuple | None) -> str:
    """``(3, 3)`` as ``3``, ``(3, 5)`` as ``3x5``, ``None`` as ``-``."""
    if value is None:
        return "-"
    parts = [f"{v:g}" if isinstance(v, float) else str(v) for v in value]
    return parts[0] if parts[0] == parts[1] else "x".join(parts)


def _cells(row: Layer) -> list[str]:
    return [row.name, row.type, _show(row.kernel), _show(row.stride), _show(row.padding),
            _show(row.dilation), _show(row.size), _show(row.r), _show(row.j), _show(row.P),
            _show(row.centre)]


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
        top = row * self.stride[0] - self.padding[0]
        left = col * self.stride[1] - self.padding[1]
        return (top, top + self.size[0] - 1), (left, left + self.size[1] - 1)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model up to the last spatial feature map: ``(N, C, H, W)`` ->
        ``(N, C', *output_size)``."""
        if self._features is None:  # pragma: no cover - always set by receptive_field
            raise ValueError("this ReceptiveField has no model attached")
        return self._features(x)

    def _summary(self) -> str:
        stop = f", stops before {self.stopped_at}" if self.stopped_at else ""
        return (f"receptive field {_show(self.size)}, effective stride {_show(self.stride)}, "
                f"effective padding {_show(self.padding)}, centre of unit (0, 0) at "
                f"{_show(self.centre)}; last feature map {_show(self.output_size)} "
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


def _cannot(node: fx.Node, what: str, why: str = "") -> ValueError:
    reason = f": {why}" if why else ""
    return ValueError(
        f"receptive_field: cannot compute through layer '{_name(node)}' ({what}){reason}"
    )


def _name(node: fx.Node) -> str:
    return str(node.target) if node.op == "call_module" else node.name


def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output size of a sliding window along one axis, by :mod:`convbook.shapes`."""
    if ceil_mode:
        return pool_out_size(n, k, s, p, d, ceil_mode=True)
    return conv_out_size(n, k, s, p, d)


def next_field(
    r: int, j: int, P: int, kernel_size: int, stride: int = 1, padding: int = 0,
    dilation: int = 1,
) -> tuple[int, int, int]:
    """One step of the forward recursion, along one axis: the receptive field ``r``,
    effective stride ``j`` and effective padding ``P`` of a layer's output units, from
    those of its input and the layer's own arguments (a convolution or a pooling).

    >>> next_field(1, 1, 0, kernel_size=3, stride=2, padding=1)  # on the input pixels
    (3, 2, 1)
    """
    k = dilation * (kernel_size - 1) + 1  # the dilated kernel's extent
    return r + (k - 1) * j, j * stride, P + padding * j


def field_size(
    kernel_sizes: Sequence[int], strides: Sequence[int], dilations: Sequence[int] | None = None
) -> int:
    """Receptive field of a chain of layers along one axis, in closed form:
    ``1 + sum_l (k'_l - 1) * prod_{i < l} s_i``, with ``k'_l = d_l (k_l - 1) + 1``.

    >>> field_size([5, 2, 3], [1, 2, 1])  # 1 + 4 + 1 * 1 + 2 * 2
    10
    """
    if dilations is None:
        dilations = [1] * len(kernel_sizes)
    if not len(kernel_sizes) == len(strides) == len(dilations):
        raise ValueError(
            f"kernel_sizes, strides and dilations must have the same length, got "
            f"{len(kernel_sizes)}, {len(strides)} and {len(dilations)}"
        )
    for name, values in (("kernel_sizes", kernel_sizes), ("strides", strides),
                         ("dilations", dilations)):
        for v in values:
            check_positive_int(v, name)
    return 1 + sum(
        d * (k - 1) * math.prod(strides[:layer])
        for layer, (k, d) in enumerate(zip(kernel_sizes, dilations))
    )


def _slide(
    geo: _Geometry, k: Pair, s: Pair, p: Pair, d: Pair, ceil_mode: bool = False,
    same: bool = False,
) -> _Geometry:
    """Geometry after a sliding window (convolution or pooling) with these arguments;
    ``same``: padding="same", whose output keeps the input's size."""
    size = geo.size if same else tuple(_pool_out(*a, ceil_mode) for a in zip(geo.size, k, s, p, d))
    r, j, P = zip(*(next_field(*axis) for axis in zip(geo.r, geo.j, geo.P, k, s, p, d)))
    return _Geometry(size, r, j, P)  # type: ignore[arg-type]


def _conv_padding(conv: nn.Conv2d) -> Pair:
    """Padding before the first row / column (torch puts the odd extra of 'same' after)."""
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        return tuple(d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation))  # type: ignore[return-value]
    return pair(tuple(conv.padding), "padding", minimum=0)


def _window(module: nn.Module) -> tuple[Pair, Pair, Pair, Pair, bool]:
    """Kernel, stride, padding, dilation and ceil_mode of a conv or pooling layer."""
    if isinstance(module, nn.Conv2d):
        return (module.kernel_size, module.stride, _conv_padding(module),  # type: ignore[return-value]
                module.dilation, False)
    k = pair(module.kernel_size, "kernel_size", minimum=1)
    s = pair(module.stride if module.stride is not None else k, "stride", minimum=1)
    p = pair(module.padding, "padding", minimum=0)
    d = pair(getattr(module, "dilation", 1), "dilation", minimum=1)
    return k, s, p, d, bool(module.ceil_mode)


def _merge(node: fx.Node, geos: list[_Geometry], kind: str) -> _Geometry:
    """Union of the fields of branches that meet in an addition or concatenation."""
    first = geos[0]
    for g in geos[1:]:
        if g.layout != first.layout:
            raise _cannot(node, kind, "its inputs have their spatial axes in different places")
        if g.j != first.j or g.size != first.size:
            raise _cannot(
                node, kind, f"its inputs disagree (effective strides {_show(first.j)} and "
                f"{_show(g.j)}, sizes {_show(first.size)} and {_show(g.size)})"
            )
    start = [min(-g.P[a] for g in geos) for a in range(2)]
    end = [max(-g.P[a] + g.r[a] - 1 for g in geos) for a in range(2)]
    r = tuple(e - s + 1 for s, e in zip(start, end))
    P = tuple(-s for s in start)
    return _Geometry(first.size, r, first.j, P, first.layout)  # type: ignore[arg-type]


def _node_args(node: fx.Node) -> Iterable[fx.Node]:
    flat: list[Any] = []
    fx.node.map_arg((node.args, node.kwargs), flat.append)
    return flat


def _cat_dim(node: fx.Node) -> Any:
    if "dim" in node.kwargs:
        return node.kwargs["dim"]
    return node.args[1] if len(node.args) > 1 else 0


def _is_leaf(model: nn.Module) -> bool:
    return type(model).__module__.startswith("torch.nn.") and not isinstance(
        model, (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    )


def _trace(model: nn.Module) -> fx.GraphModule:
    try:
        return fx.symbolic_trace(model)
    except Exception as error:
        raise ValueError(
            f"receptive_field: torch.fx cannot trace {type(model).__name__} "
            f"({type(error).__name__}: {error})"
        ) from error


def receptive_field(model: nn.Module, input_size: tuple[int, int, int]) -> ReceptiveField:
    """Receptive field, effective stride and effective padding of every layer of ``model``.

    Args:
        model: an ``nn.Module`` that takes ``(N, C, H, W)`` images; it must be traceable by
            ``torch.fx`` (torchvision's classification models are). It is not run.
        input_size: ``(C, H, W)`` of one input image; used for the feature-map sizes.

    Returns:
        A :class:`ReceptiveField`: a table with one row per convolution, pooling, padding or
        branch merge, and the receptive field ``size``, effective ``stride`` and
        ``padding`` of a unit of the last spatial feature map (before global pooling,
        flatten or a linear layer).

    Raises:
        ValueError: a layer the calculator cannot reason about (upsampling, transposed
            convolution, ...), named in the message, or a feature map that becomes empty.

    >>> net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    >>> receptive_field(net, (1, 16, 16)).size
    (8, 8)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(input_size, (int, str)) or not isinstance(input_size, Sequence):
        raise TypeError(f"input_size must be a (C, H, W) tuple, got {input_size!r}")
    c, h, w = ntuple(input_size, "input_size", 3, minimum=1)
    if _is_leaf(model):  # trace a lone layer as a one-layer network, not its F.* call
        model = nn.Sequential(model)
    gm = _trace(model)
    geos: dict[fx.Node, _Geometry] = {}
    # For a node that is no longer a spatial map: the last map it comes from, the node
    # that ended the spatial part, and whether the walk had to give up there.
    ends: dict[fx.Node, tuple[fx.Node, fx.Node, bool]] = {}
    rows = [Layer("input", "-", None, None, None, None, (h, w), (1, 1), (1, 1), (0, 0))]
    image: fx.Node | None = None
    order = {node: i for i, node in enumerate(gm.graph.nodes)}
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if image is None:
                geos[node] = _Geometry((h, w), (1, 1), (1, 1), (0, 0))
                image = node
            continue
        if node.op == "output":
            break
        args = [a for a in _node_args(node) if isinstance(a, fx.Node)]
        maps = [a for a in args if a in geos]
        if not maps or node.op == "get_attr":
            ended = [ends[a] for a in args if a in ends]
            if ended:  # downstream of the end: remember where the spatial part ended
                ends[node] = max(ended, key=lambda e: order[e[0]])
            continue
        geo, row = _step(gm, node, geos)
        if isinstance(geo, _Geometry):
            geos[node] = geo
            if row is not None:
                rows.append(Layer(_name(node), row[0], *row[1:], geo.size, geo.r, geo.j,
                                  geo.P))
        elif geo in (END, GIVE_UP):
            ends[node] = (max(maps, key=order.__getitem__), node, geo == GIVE_UP)
    assert image is not None
    last, stop, gave_up = _main_output(gm, geos, ends, image)
    final = geos[last]
    stopped_at = None if stop is None else f"{_name(stop)} ({_kind(gm, stop)})"
    if gave_up:
        warnings.warn(
            f"receptive_field: the spatial walk stops at layer '{_name(stop)}' "  # type: ignore[arg-type]
            f"({_kind(gm, stop)}), which it cannot "  # type: ignore[arg-type]
            f"follow; the field reported is that of '{_name(last)}' before it, and may be "
            "smaller than the model's",
            stacklevel=2,
        )
    return ReceptiveField(
        rows=rows, input_size=(c, h, w), size=final.r, stride=final.j, padding=final.P,
        output_size=final.size, layer=_name(last), stopped_at=stopped_at,
        _features=_truncate(gm, last),
    )


def _main_output(
    gm: fx.GraphModule,
    geos: dict[fx.Node, _Geometry],
    ends: dict[fx.Node, tuple[fx.Node, fx.Node, bool]],
    image: fx.Node,
) -> tuple[fx.Node, fx.Node | None, bool]:
    """The last spatial map on the way to the model's first output (``main`` of a
    ``(main, aux)`` pair), the node that ended the spatial part there, and whether the walk
    gave up at it."""
    output = next(n for n in gm.graph.nodes if n.op == "output")
    first = next(iter(_node_args(output)), None)
    if first in geos:
        return first, None, False  # type: ignore[return-value]
    if first in ends:
        return ends[first]  # type: ignore[index]
    return image, None, False


def _kind(gm: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)).__name__
    if node.op == "call_method":
        return str(node.target)
    return getattr(node.target, "__name__", str(node.target))


def _step(
    gm: fx.GraphModule, node: fx.Node, geos: dict[fx.Node, _Geometry]
) -> tuple[_Geometry | str, tuple | None]:
    """Geometry of ``node``'s output and its table row ``(type, kernel, stride, padding,
    dilation)`` (None for a layer that moves no pixels); or, instead of the geometry,
    ``END`` (the spatial part ends here), ``GIVE_UP`` (the walk cannot follow) or
    ``NOT_A_MAP`` (a size, a dtype)."""
    kind = _kind(gm, node)
    inputs = [geos[a] for a in _node_args(node) if a in geos]
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        if isinstance(module, _PASS_MODULES):
            return inputs[0], None
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p, d, ceil_mode = _window(module)
            same = getattr(module, "padding", None) == "same"  # may pad one more after
            return _sliding(node, kind, inputs[0], k, s, p, d, ceil_mode, same)
        if isinstance(module, (nn.ZeroPad2d, nn.ConstantPad2d)):
            left, right, top, bottom = module.padding
            g = _spatial_last(node, kind, inputs[0])
            size = (g.size[0] + top + bottom, g.size[1] + left + right)
            P = (g.P[0] + top * g.j[0], g.P[1] + left * g.j[1])
            geo = _Geometry(size, g.r, g.j, P, g.layout)  # type: ignore[arg-type]
            return geo, (kind, None, None, (top, left), None)
    if node.op == "call_function" and node.target in _POOL_FUNCTIONS:
        names = _POOL_FUNCTIONS[node.target]
        bound = dict(names)
        bound.update(zip((n for n, _ in names), node.args[1:]))
        bound.update({n: v for n, v in node.kwargs.items() if n in bound})
        k = pair(bound["kernel_size"], "kernel_size", minimum=1)
        s = k if bound["stride"] in (None, []) else pair(bound["stride"], "stride", minimum=1)
        p = pair(bound["padding"], "padding", minimum=0)
        d = pair(bound.get("dilation", 1), "dilation", minimum=1)
        return _sliding(node, kind, inputs[0], k, s, p, d, bool(bound["ceil_mode"]))
    if node.op == "call_function" and node.target in _ENDS_AT:
        return END, None
    if node.op == "call_function" and node.target is torch.cat:
        dim = _cat_dim(node)
        lay = inputs[0].layout
        neg = dim - lay.rank if isinstance(dim, int) and dim >= 0 and lay.rank else dim
        if not isinstance(neg, int) or neg in lay.hw:
            raise _cannot(node, kind, f"concatenation along dim {dim}, not channels")
        return _passes(node, kind, inputs)
    if _passes_pixels(node):
        return _passes(node, kind, inputs)
    outcome = follow(gm, node, lambda n: geos[n].layout if n in geos else None,
                     lambda n: geos[n].size)
    if isinstance(outcome, Layout):
        return replace(inputs[0], layout=outcome), None
    if outcome == ELEMENTWISE:
        return _passes(node, kind, inputs)
    if outcome in (END, GIVE_UP, NOT_A_MAP):
        return outcome, None
    raise _cannot(node, kind)


def _passes_pixels(node: fx.Node) -> bool:
    """Whether ``node`` is element-wise: every output pixel comes from the same pixel."""
    if node.op == "call_method":
        return node.target in _PASS_METHODS
    if node.op != "call_function":
        return False
    target = node.target
    named = (getattr(target, "__module__", None), getattr(target, "__name__", None))
    try:
        return target in _PASS_FUNCTIONS or named in _PASS_NAMED
    except TypeError:  # an unhashable target
        return False


def _passes(
    node: fx.Node, kind: str, inputs: list[_Geometry]
) -> tuple[_Geometry, tuple | None]:
    """An element-wise layer: one input passes through, several merge."""
    if len(inputs) == 1:
        return inputs[0], None
    return _merge(node, inputs, kind), (kind, None, None, None, None)


def _spatial_last(node: fx.Node, kind: str, geo: _Geometry) -> _Geometry:
    """``geo``, checked to be an image-like map: height and width are its last two axes."""
    if geo.layout.hw != (-2, -1) or geo.layout.parts:
        raise _cannot(node, kind, "its input's height and width are not its last two axes")
    return geo


def _sliding(
    node: fx.Node, kind: str, geo: _Geometry, k: Pair, s: Pair, p: Pair, d: Pair,
    ceil_mode: bool, same: bool = False,
) -> tuple[_Geometry, tuple]:
    """A convolution or pooling layer: :func:`_slide`, and the layer's table row."""
    geo = _spatial_last(node, kind, geo)
    try:
        out = _slide(geo, k, s, p, d, ceil_mode, same)
    except ValueError as error:
        why = f"{error}; the input image (input_size) is too small for this model"
        raise _cannot(node, kind, why) from error
    return replace(out, layout=geo.layout), (kind, k, s, p, d)


def _truncate(gm: fx.GraphModule, last: fx.Node) -> fx.GraphModule:
    """A copy of the traced model whose output is ``last``'s."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            break
        env[node] = graph.node_copy(node, lambda n: env[n])
        if node is last:
            break
    graph.output(env[last])
    features = fx.GraphModule(gm, graph)
    features.graph.eliminate_dead_code()
    features.recompile()
    return features


def unit_gradient(
    result: ReceptiveField, x: torch.Tensor, unit: tuple[int, int] | None = None
) -> torch.Tensor:
    """Gradient of one unit of the last feature map (summed over its channels) with respect
    to the input image.

    Args:
        result: :func:`receptive_field`'s result for the model.
        x: one image ``(C, H, W)``.
        unit: ``(i, j)`` in the last feature map; default the centre unit.

    Returns:
        ``(C, H, W)``: nonzero only inside the unit's receptive field.  The model runs in
        eval mode (its modes are restored afterwards); nothing is written into its
        parameters' ``.grad`` or its batch-norm statistics.
    """
    if not isinstance(result, ReceptiveField):
        raise TypeError(f"result must be a ReceptiveField, got {type(result).__name__}")
    check_tensor(x, "x", [3], ["(C, H, W)"])
    if tuple(x.shape) != result.input_size:
        raise ValueError(f"x must have the shape {result.input_size} the receptive field was "
                         f"computed for, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if unit is not None:
        unit = pair(unit, "unit", minimum=0)  # type: ignore[assignment]
    features = result._features
    assert features is not None  # always set by receptive_field
    # Eval mode (BatchNorm keeps its running statistics, dropout is off), then every
    # module's own mode back; autograd.grad leaves the parameters' .grad alone.
    modes = [(m, m.training) for m in features.modules()]
    features.eval()
    try:
        x = x.detach().clone().unsqueeze(0).requires_grad_(True)
        fmap = features(x)
        i, j = unit if unit is not None else (fmap.shape[-2] // 2, fmap.shape[-1] // 2)
        if not (i < fmap.shape[-2] and j < fmap.shape[-1]):
            raise ValueError(f"unit must lie inside the {tuple(fmap.shape[-2:])} feature map, "
                             f"got {(i, j)}")
        (grad,) = torch.autograd.grad(fmap[0, :, i, j].sum(), x)
    finally:
        for module, mode in modes:
            module.training = mode
    return grad[0]


def plot_receptive_field(
    model: nn.Module,
    image: torch.Tensor,
    unit: tuple[int, int] | None = None,
    ax: Any = None,
) -> Any:
    """Draw on ``image`` the receptive field of one unit of ``model``'s last feature map:
    its rectangle (from the calculator) over the measured input-gradient heat map.

    Args:
        model: a CNN (see :func:`receptive_field`).
        image: ``(C, H, W)`` in [0, 1], as :func:`convbook.images.photo` returns.
        unit: ``(i, j)`` in the last feature map; default the centre unit.
        ax: a matplotlib axes (default: a new figure).

    Returns:
        The axes.
    """
    import matplotlib.axes
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    check_tensor(image, "image", [3], ["(C, H, W)"])
    if unit is not None:
        unit = pair(unit, "unit", minimum=0)  # type: ignore[assignment]
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    result = receptive_field(model, tuple(image.shape))  # type: ignore[arg-type]
    oh, ow = result.output_size
    i, j = unit if unit is not None else (oh // 2, ow // 2)
    heat = unit_gradient(result, image, (i, j)).abs().sum(0)
    heat = heat / heat.max().clamp_min(1e-30)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    shown = image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]
    ax.imshow(shown.numpy(), cmap=None if image.shape[0] == 3 else "gray")
    ax.imshow(heat.sqrt().numpy(), cmap="inferno", alpha=0.55)
    (top, bottom), (left, right) = result.box(i, j)
    ax.add_patch(patches.Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                   fill=False, edgecolor="cyan", linewidth=2))
    ax.set_xlim(-0.5, image.shape[2] - 0.5)
    ax.set_ylim(image.shape[1] - 0.5, -0.5)
    ax.set_title(f"unit {(i, j)}: field {_show(result.size)} px")
    ax.axis("off")
    return ax

