"""Where the spatial axes of a traced feature map go: the receptive-field walk's bookkeeping.

:func:`convbook.receptive_field.receptive_field` traces a model without running it, so it
cannot look at shapes.  It follows each feature map's *layout* instead: where its height and
width axes are, counted from the end (``(-2, -1)`` for ``(N, C, H, W)``), and how many axes
it has.  :func:`follow` says what one traced operation does to that layout:

* it leaves the pixels alone and moves only other axes (a channel ``mean``, a channel
  shuffle's ``view``/``transpose``, ``permute`` to channels last, ``chunk`` along the
  channels, ...): the new :class:`Layout`;
* it ends the spatial part: :data:`END` (a reduction over the spatial axes, ``flatten``);
* it does something to the pixels the walk cannot follow: :data:`GIVE_UP` (a ``view``
  that merges the spatial axes, a reduction over one of them);
* it combines two maps pixel by pixel (``torch.max(a, b)``): :data:`ELEMENTWISE`;
* or it is not one of these operations: :data:`UNKNOWN`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

END = "end"
GIVE_UP = "give up"
UNKNOWN = "unknown"
ELEMENTWISE = "element-wise"  # torch.max(a, b): the caller merges a and b
NOT_A_MAP = "not a map"  # sizes, dtypes: no pixels at all


@dataclass(frozen=True)
class Layout:
    """Where a feature map's spatial axes are.

    ``hw``: positions of the height and width axes counted from the end, ``(-2, -1)`` for
    ``(N, C, H, W)``; ``rank``: number of axes (None once a ``squeeze`` made it unknown);
    ``parts``: the value is a tuple of maps laid out alike (``chunk``, ``max(dim=1)``).
    """

    hw: tuple[int, int] = (-2, -1)
    rank: int | None = 4
    parts: bool = False


_REDUCTIONS = {
    "mean", "sum", "nansum", "nanmean", "amax", "amin", "max", "min", "prod", "logsumexp",
    "median", "argmax", "argmin", "std", "var", "all", "any",
}
_TUPLE_REDUCTIONS = {"max", "min", "median"}  # with a dim: (values, indices)
_PERMUTES = {"permute"}
_TRANSPOSES = {"transpose", "swapaxes", "swapdims"}
_RESHAPES = {"view", "reshape"}
_SPLITS = {"chunk", "split", "tensor_split"}
_SOFTMAXES = {"softmax", "log_softmax"}
_NON_MAP_ATTRIBUTES = {"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad"}


_NAMED = (
    _REDUCTIONS | _PERMUTES | _TRANSPOSES | _RESHAPES | _SPLITS | _SOFTMAXES
    | {"flatten", "unsqueeze", "squeeze"}
)
# torch.* functions with a method of the same name and meaning, plus F.* ones.
_FUNCTIONS: dict[Any, str] = {
    getattr(torch, n): n for n in sorted(_NAMED) if callable(getattr(torch, n, None))
}
_FUNCTIONS.update({F.linear: "linear", F.layer_norm: "layer_norm", F.softmax: "softmax",
                   F.log_softmax: "log_softmax"})


def _name(node: fx.Node) -> str | None:
    """The operation's name for a method or a known ``torch.*`` / ``F.*`` function."""
    if node.op == "call_method":
        return str(node.target)
    if node.op == "call_function":
        try:
            return _FUNCTIONS.get(node.target)
        except TypeError:  # an unhashable target
            return None
    return None


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    """Argument ``index`` (the tensor is argument 0, as in ``x.mean(1)`` and
    ``torch.mean(x, 1)``) or keyword ``name``."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _varargs(node: fx.Node, name: str) -> Any:
    """``x.view(a, b)``, ``x.view((a, b))`` and ``torch.reshape(x, (a, b))`` alike."""
    rest = node.args[1:] or ((node.kwargs[name],) if name in node.kwargs else ())
    if len(rest) == 1 and isinstance(rest[0], (tuple, list, torch.Size)):
        return tuple(rest[0])
    return tuple(rest)


def _neg(dim: Any, rank: int | None) -> int | None:
    """``dim`` as a position from the end, or None when that cannot be known."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        return None
    if dim < 0:
        return dim
    return None if rank is None else dim - rank


def follow(
    gm: fx.GraphModule,
    node: fx.Node,
    layout_of: Callable[[Any], Layout | None],
    size_of: Callable[[fx.Node], tuple[int, int]],
) -> Layout | str:
    """What ``node`` does to the layout of the feature map it reads (argument 0).

    Args:
        gm: the traced model (for ``call_module`` nodes).
        node: an operation whose first argument is a feature map.
        layout_of: the :class:`Layout` of a node that is a feature map, else None.
        size_of: the spatial size ``(H, W)`` of a feature-map node.

    Returns:
        The output's :class:`Layout`, or :data:`END`, :data:`GIVE_UP`, :data:`UNKNOWN`,
        :data:`NOT_A_MAP`.
    """
    source = node.args[0] if node.args else None
    lay = layout_of(source)
    if lay is None:
        return UNKNOWN
    if node.op == "call_module":
        return _module(gm.get_submodule(str(node.target)), lay)
    if node.op == "call_function" and node.target is operator.getitem:
        return _getitem(lay, node.args[1])
    if node.op == "call_function" and node.target is getattr:
        if node.args[1] in ("values", "indices") and lay.parts:
            return replace(lay, parts=False)
        return NOT_A_MAP if node.args[1] in _NON_MAP_ATTRIBUTES else GIVE_UP
    if node.op == "call_method" and node.target in ("size", "dim", "numel", "stride"):
        return NOT_A_MAP
    name = _name(node)
    if lay.parts or name is None:
        return UNKNOWN
    if name in _REDUCTIONS:
        return _reduction(node, name, lay, layout_of)
    if name in _RESHAPES:
        return _reshape(node, lay, layout_of, size_of)
    if name in _PERMUTES:
        return _permute(_varargs(node, "dims"), lay)
    if name in _TRANSPOSES:
        return _transpose(_arg(node, 1, "dim0", None), _arg(node, 2, "dim1", None), lay)
    if name == "flatten":
        return _flatten(_arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1), lay)
    if name == "unsqueeze":
        return _unsqueeze(_arg(node, 1, "dim", None), lay)
    if name == "squeeze":
        return _squeeze(_arg(node, 1, "dim", None), lay, size_of(source))  # type: ignore[arg-type]
    if name in _SPLITS:
        dim = _neg(_arg(node, 2, "dim", 0), lay.rank)
        return GIVE_UP if dim is None or dim in lay.hw else replace(lay, parts=True)
    if name in _SOFTMAXES:
        dim = _neg(_arg(node, 1, "dim", None), lay.rank)
        return GIVE_UP if dim is None or dim in lay.hw else lay
    if name in ("linear", "layer_norm"):
        return _linear(lay) if name == "linear" else lay
    return UNKNOWN


def _module(module: nn.Module, lay: Layout) -> Layout | str:
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return END
    if isinstance(module, nn.Flatten):
        return _flatten(module.start_dim, module.end_dim, lay)
    if isinstance(module, nn.Linear):
        return _linear(lay)
    if isinstance(module, nn.LayerNorm):  # statistics only, like GroupNorm
        return lay
    if isinstance(module, (nn.Softmax, nn.LogSoftmax)):
        dim = _neg(module.dim, lay.rank)
        return GIVE_UP if dim is None or dim in lay.hw else lay
    return UNKNOWN


def _linear(lay: Layout) -> Layout | str:
    """A linear layer mixes the last axis: fine on channels (channels last), not on W."""
    return GIVE_UP if -1 in lay.hw else lay


def _reduction(
    node: fx.Node, name: str, lay: Layout, layout_of: Callable[[Any], Layout | None]
) -> Layout | str:
    other = _arg(node, 1, "dim", None)
    if name in ("max", "min") and layout_of(other) is not None:
        return ELEMENTWISE  # torch.max(a, b) of two maps
    dims: Any = _arg(node, 1, "dim", None)
    if dims is None:  # a reduction over everything
        return END
    keepdim = _arg(node, 3 if name in ("std", "var") else 2, "keepdim", False)
    dims = (dims,) if isinstance(dims, int) else dims
    if not isinstance(dims, (tuple, list)) or not isinstance(keepdim, bool):
        return GIVE_UP
    neg = [_neg(d, lay.rank) for d in dims]
    if None in neg:
        return GIVE_UP
    spatial = [d for d in neg if d in lay.hw]
    if len(spatial) == 2:
        return END
    if spatial:  # over one spatial axis only
        return GIVE_UP
    out = lay
    if not keepdim:  # axes after a removed one move one place towards the end
        hw = tuple(a + sum(1 for d in neg if d > a) for a in lay.hw)
        rank = None if lay.rank is None else lay.rank - len(set(neg))
        out = Layout(hw, rank)  # type: ignore[arg-type]
    return replace(out, parts=name in _TUPLE_REDUCTIONS)


def _reshape(
    node: fx.Node,
    lay: Layout,
    layout_of: Callable[[Any], Layout | None],
    size_of: Callable[[fx.Node], tuple[int, int]],
) -> Layout | str:
    """A ``view``/``reshape`` keeps the pixels where it provably keeps the last two axes:
    the target's last two sizes are the map's height and width (read from ``x.size()``,
    ``x.shape`` or equal integers); with trailing axes (H, W) unchanged, a row-major
    reshape only regroups the axes in front of them."""
    target = _varargs(node, "shape")
    size = size_of(node.args[0])  # type: ignore[arg-type]
    if len(target) <= 2:
        return END  # (N, features) or flat
    if lay.hw == (-2, -1) and all(
        _is_extent(target[i - 2], size[i], layout_of, size_of) for i in range(2)
    ):
        return Layout((-2, -1), len(target))
    return GIVE_UP


def _is_extent(
    value: Any, extent: int, layout_of: Callable[[Any], Layout | None],
    size_of: Callable[[fx.Node], tuple[int, int]],
) -> bool:
    """Whether ``value`` is provably a spatial map's extent equal to ``extent``: an equal
    int, or ``m.size(a)`` / ``m.size()[a]`` / ``m.shape[a]`` for a spatial axis ``a``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value == extent
    if not isinstance(value, fx.Node):
        return False
    if value.op == "call_method" and value.target == "size" and len(value.args) == 2:
        source, axis = value.args
    elif value.op == "call_function" and value.target is operator.getitem:
        sizes, axis = value.args
        if not isinstance(sizes, fx.Node):
            return False
        is_size = sizes.op == "call_method" and sizes.target == "size" and len(sizes.args) == 1
        is_shape = sizes.op == "call_function" and sizes.target is getattr and (
            sizes.args[1] == "shape")
        if not (is_size or is_shape):
            return False
        source = sizes.args[0]
    else:
        return False
    lay = layout_of(source)
    if lay is None or lay.parts:
        return False
    a = _neg(axis, lay.rank)
    if a not in lay.hw:
        return False
    return size_of(source)[lay.hw.index(a)] == extent  # type: ignore[arg-type]


def _permute(dims: Sequence[Any], lay: Layout) -> Layout | str:
    rank = len(dims)
    neg = [_neg(d, rank) for d in dims]
    if None in neg or (lay.rank is not None and rank != lay.rank):
        return GIVE_UP
    hw = tuple(neg.index(a) - rank for a in lay.hw)
    return Layout(hw, rank)  # type: ignore[arg-type]


def _transpose(a: Any, b: Any, lay: Layout) -> Layout | str:
    na, nb = _neg(a, lay.rank), _neg(b, lay.rank)
    if na is None or nb is None:
        return GIVE_UP
    swap = {na: nb, nb: na}
    return replace(lay, hw=tuple(swap.get(h, h) for h in lay.hw))


def _flatten(start: Any, end: Any, lay: Layout) -> Layout | str:
    s, e = _neg(start, lay.rank), _neg(end, lay.rank)
    if s is None or e is None:
        return GIVE_UP
    if any(s <= h <= e for h in lay.hw):
        return END if s < e else lay
    merged = e - s
    hw = tuple(h if h < s else h + merged for h in lay.hw)
    return Layout(hw, None if lay.rank is None else lay.rank - merged)  # type: ignore[arg-type]


def _unsqueeze(dim: Any, lay: Layout) -> Layout | str:
    rank = None if lay.rank is None else lay.rank + 1
    q = _neg(dim, rank)  # the new axis's position in the result
    if q is None:
        return GIVE_UP
    return Layout(tuple(h if h >= q + 1 else h - 1 for h in lay.hw), rank)  # type: ignore[arg-type]


def _squeeze(dim: Any, lay: Layout, size: tuple[int, int]) -> Layout | str:
    """``squeeze`` drops axes of size 1: fine in front of (H, W), whose positions from the
    end stay (the rank becomes unknown); not if H or W may be the one dropped."""
    if dim is None:
        return Layout(lay.hw, None) if lay.hw == (-2, -1) and 1 not in size else GIVE_UP
    d = _neg(dim, lay.rank)
    if d is None:
        return GIVE_UP
    if d in lay.hw:  # a no-op unless that extent is 1
        return lay if size[lay.hw.index(d)] > 1 else GIVE_UP
    return Layout(lay.hw, None) if d < min(lay.hw) else GIVE_UP


def _getitem(lay: Layout, index: Any) -> Layout | str:
    """``parts[i]`` of a tuple of maps, or ``x[:, :c]``-style indexing in front of the
    spatial axes."""
    if lay.parts:
        return replace(lay, parts=False) if isinstance(index, int) else lay
    items = index if isinstance(index, tuple) else (index,)
    if lay.rank is None or any(not isinstance(i, (int, slice)) for i in items):
        return GIVE_UP
    full = slice(None)
    for position, item in enumerate(items):
        if position - lay.rank in lay.hw and item != full:
            return GIVE_UP
    dropped = sum(isinstance(i, int) for i in items)
    return Layout(lay.hw, lay.rank - dropped)

