"""Trace a model with :mod:`torch.fx` and walk its graph, layer by layer, applying
:func:`~convbook.receptive_field.arithmetic.next_field`: :func:`receptive_field` and the
helpers of its walk.

Branches work: a residual addition or a channel concatenation sees the *union* of its
inputs' fields (the largest one when the branches are centred alike).  Layers that do not
move pixels (activations, normalisation, dropout, element-wise arithmetic) pass the field
through, and so do operations on the channel axis only: a channel mean or maximum (spatial
attention), a channel shuffle's ``view``/``transpose``, ``chunk`` and ``cat`` along the
channels, a ``permute`` to channels last and back (``_spatial_axes`` follows those).  The
walk ends at the last spatial feature map, before a reduction over the spatial axes (global
pooling, ``mean([2, 3])``), ``flatten`` or a ``Linear`` layer; where it has to stop at
something it cannot follow (a ``view`` that merges the spatial axes, say), it warns that the
field may be larger than reported.  A model that returns several outputs, like
``(main, aux)``, is measured along its first output.

Limits: the model is traced, not run, so sizes are known only where they can be read
from the graph, and a value that comes back from global pooling into the spatial path
(squeeze-and-excitation) is treated as a constant, although strictly it lets every unit
see the whole image.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from convbook._args import Pair, ntuple, pair
from convbook.receptive_field._common import show_pair
from convbook.receptive_field._spatial_axes import (
    ELEMENTWISE,
    END,
    GIVE_UP,
    NOT_A_MAP,
    Layout,
    follow,
)
from convbook.receptive_field.arithmetic import next_field, window_arguments, window_out_size
from convbook.receptive_field.table import Layer, ReceptiveField

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


def _cannot(node: fx.Node, what: str, why: str = "") -> ValueError:
    reason = f": {why}" if why else ""
    return ValueError(
        f"receptive_field: cannot compute through layer '{_name(node)}' ({what}){reason}"
    )


def _name(node: fx.Node) -> str:
    return str(node.target) if node.op == "call_module" else node.name


def _slide(
    geo: _Geometry, k: Pair, s: Pair, p: Pair, d: Pair, ceil_mode: bool = False,
    same: bool = False,
) -> _Geometry:
    """Geometry after a sliding window (convolution or pooling) with these arguments;
    ``same``: padding="same", whose output keeps the input's size."""
    size = geo.size if same else tuple(window_out_size(*a, ceil_mode)
                                       for a in zip(geo.size, k, s, p, d))
    r, j, P = zip(*(next_field(*axis) for axis in zip(geo.r, geo.j, geo.P, k, s, p, d)))
    return _Geometry(size, r, j, P)  # type: ignore[arg-type]


def _merge(node: fx.Node, geos: list[_Geometry], kind: str) -> _Geometry:
    """Union of the fields of branches that meet in an addition or concatenation."""
    first = geos[0]
    for g in geos[1:]:
        if g.layout != first.layout:
            raise _cannot(node, kind, "its inputs have their spatial axes in different places")
        if g.j != first.j or g.size != first.size:
            raise _cannot(
                node, kind, f"its inputs disagree (effective strides {show_pair(first.j)} and "
                f"{show_pair(g.j)}, sizes {show_pair(first.size)} and {show_pair(g.size)})"
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
            k, s, p, d, ceil_mode = window_arguments(module)
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
