"""A network's block diagram, read from the network itself.

:func:`layer_steps` traces a model with ``torch.fx`` and runs an example input through the
traced graph, so that every step of the forward pass is known with its output shape: the
layers (modules) and the tensor functions that ``forward`` calls between them (FastNet's global
max pool is ``torch.amax``, not a module).  :func:`block_diagram` draws those steps as boxes,
one row per stage (the top-level part of the model a step belongs to, ``blocks.0`` and the
like), each row ending with the shape of the tensor it hands on.  Nothing in the figure is
typed by hand: change the model and the diagram follows.
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from convbook._args import check_instance, check_int
from convbook.fonts import use_reader_font

_COLOURS = {"conv": "#9ecae1", "pool": "#fdae6b", "norm": "#c7e9c0", "act": "#dadaeb",
            "linear": "#fcbba1", "other": "#f0f0f0"}


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a forward pass: ``stage`` the block it belongs to (``"blocks.1"``; ``""``
    for the model's own layers and for code in its ``forward``), ``label``
    what it does (``"conv 3×3, 24→32"``), ``kind`` its colour group, and ``shape`` the shape of
    its output for one image (``(32, 15, 15)``)."""

    stage: str
    label: str
    kind: str
    shape: tuple[int, ...]


def _stage(target: str, modules: dict[str, nn.Module]) -> str:
    """The block a layer belongs to: the first module on its path (below the model) that has
    layers of its own and is not a plain list of them (``blocks.0`` for ``blocks.0.conv1``,
    ``features`` for ``features.3``); ``""`` for a layer of the model itself."""
    parts = target.split(".")
    for depth in range(1, len(parts)):
        path = ".".join(parts[:depth])
        if not isinstance(modules[path], (nn.Sequential, nn.ModuleList)):
            return path
        if depth == 1 and not any(next(iter(c.children()), None) is not None
                                  for c in modules[path].children()):
            return path  # a Sequential of plain layers is a block of its own
    return ""


def _size(value: int | tuple[int, ...]) -> str:
    """``3`` or ``(3, 3)`` → ``"3×3"``."""
    k = value if isinstance(value, tuple) else (value, value)
    return "×".join(str(v) for v in k)


def _amount(value: int | tuple[int, ...]) -> str:
    """``1`` or ``(1, 1)`` → ``"1"``; ``(1, 2)`` → ``"1×2"``."""
    k = value if isinstance(value, tuple) else (value,)
    return str(k[0]) if len(set(k)) == 1 else "×".join(str(v) for v in k)


def _describe_module(m: nn.Module) -> tuple[str, str]:
    """(label, kind) of a layer."""
    if isinstance(m, nn.Conv2d):
        extra = "".join(f", {name} {_amount(v)}" for name, v, plain in (
            ("stride", m.stride, (1, 1)), ("padding", m.padding, (0, 0)))
            if v != plain and not isinstance(v, str))
        return f"conv {_size(m.kernel_size)}, {m.in_channels}→{m.out_channels}{extra}", "conv"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        what = "max" if isinstance(m, nn.MaxPool2d) else "avg"
        return f"{what} pool {_size(m.kernel_size)}", "pool"
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return "batch norm", "norm"
    if isinstance(m, (nn.GELU, nn.ReLU, nn.SiLU, nn.Tanh, nn.Sigmoid)):
        return type(m).__name__, "act"
    if isinstance(m, nn.Linear):
        return f"linear {m.in_features}→{m.out_features}", "linear"
    if isinstance(m, nn.Dropout):
        return f"dropout {m.p:g}", "other"
    if isinstance(m, nn.Flatten):
        return "flatten", "other"
    return type(m).__name__, "other"


def _describe_function(node: fx.Node) -> tuple[str, str] | None:
    """(label, kind) of a tensor function called in ``forward``; ``None`` for bookkeeping
    (``x.size(1)``, ``flatten``'s reshapes are shown, sizes are not)."""
    name = getattr(node.target, "__name__", str(node.target))
    if name in ("amax", "max") and node.kwargs.get("dim", node.args[1:2]) is not None:
        return "global max pool", "pool"
    if name in ("mean", "adaptive_avg_pool2d"):
        return "global average pool", "pool"
    if name == "flatten":
        return "flatten", "other"
    if name in ("truediv", "div") and len(node.args) > 1:
        return f"÷ {_value(node.args[1])}", "other"
    if name in ("relu", "gelu"):
        return name.upper() if name == "gelu" else "ReLU", "act"
    if name in ("size", "getattr", "getitem"):
        return None
    return name, "other"


def _value(arg: object) -> object:
    """A plain argument as it is; ``x.size(d)`` of a traced tensor as the number it was."""
    if isinstance(arg, fx.Node) and arg.op == "call_method" and arg.target == "size":
        tensor, dim = arg.args[0], arg.args[1]
        if isinstance(tensor, fx.Node) and "tensor_meta" in tensor.meta:
            return tensor.meta["tensor_meta"].shape[dim]
    return arg.name if isinstance(arg, fx.Node) else arg


def layer_steps(model: nn.Module, input_size: tuple[int, int, int] = (3, 32, 32)
                ) -> list[Step]:
    """The steps of ``model``'s forward pass for one ``input_size`` = ``(C, H, W)`` image, in
    the order they run, each with its output shape (without the batch dimension).

    The model is traced with ``torch.fx`` (its ``forward`` must not branch on tensor values)
    and run once on zeros, in eval mode, with gradients off; its own state is not changed.
    """
    check_instance(model, "model", nn.Module, "a torch.nn.Module")
    if not (isinstance(input_size, tuple) and len(input_size) == 3):
        raise ValueError(f"input_size must be a tuple (C, H, W), got {input_size!r}")
    for i, v in enumerate(input_size):
        check_int(v, f"input_size[{i}]", minimum=1)
    traced = fx.symbolic_trace(model)
    was_training = model.training
    traced.eval()
    try:
        with torch.no_grad():
            ShapeProp(traced).propagate(torch.zeros(1, *input_size))
    finally:
        model.train(was_training)
    modules = dict(model.named_modules())  # the traced copy keeps leaves, not the blocks
    steps = []
    for node in traced.graph.nodes:
        meta = node.meta.get("tensor_meta")
        if node.op == "call_module":
            label, kind = _describe_module(modules[node.target])
            weight = getattr(modules[node.target], "weight", None)
            if kind in ("conv", "linear") and weight is not None and not weight.requires_grad:
                label += ", fixed"  # FastNet's whitening filters: set from data, not trained
            stage = _stage(node.target, modules)
        elif node.op in ("call_function", "call_method"):
            described = _describe_function(node)
            if described is None or meta is None:
                continue
            label, kind = described
            stage = ""
        else:
            continue
        steps.append(Step(stage, label, kind, tuple(meta.shape[1:])))
    return steps


def _row_name(stage: str, first: bool) -> str:
    """What a row is called: ``blocks.1`` → ``block 1``; the model's own layers ``stem`` before
    the first block, ``head`` after."""
    if not stage:
        return "stem" if first else "head"
    return stage.replace("blocks.", "block ")


def block_diagram(model: nn.Module, input_size: tuple[int, int, int] = (3, 32, 32),
                  title: str | None = None) -> Figure:
    """``model`` as rows of boxes: the steps of :func:`layer_steps`, a row for each run of
    steps in the same block (the model's own layers before the first block are the *stem*,
    after the last the *head*), the input's shape above the first row and each row's output
    shape at its end."""
    steps = layer_steps(model, input_size)
    rows: list[tuple[str, list[Step]]] = []
    for step in steps:
        if rows and rows[-1][0] == step.stage:
            rows[-1][1].append(step)
        else:
            rows.append((step.stage, [step]))
    width = max(len(r) for _, r in rows)
    fig, ax = plt.subplots(figsize=(1.3 * (width + 2.1), 0.7 * (len(rows) + 0.3)))
    ax.set_xlim(-0.9, width + 1.2)
    ax.set_ylim(-len(rows) + 0.55, 0.8)
    ax.axis("off")
    shape_text = "×".join(str(v) for v in input_size)
    ax.text(0, 0.55, f"input {shape_text}", ha="left", va="center", fontsize=8)
    for y, (stage, row) in enumerate(rows):
        y = -y
        ax.text(-0.85, y, _row_name(stage, y == 0), ha="left", va="center", fontsize=8,
                fontweight="bold")
        for x, step in enumerate(row):
            ax.add_patch(FancyBboxPatch((x + 0.04, y - 0.3), 0.92, 0.6,
                                        boxstyle="round,pad=0.02", linewidth=0.8,
                                        facecolor=_COLOURS[step.kind], edgecolor="0.3"))
            ax.text(x + 0.5, y, step.label.replace(", ", ",\n", 1), ha="center",
                    va="center", fontsize=6.5)
            if x:
                ax.annotate("", (x + 0.04, y), (x - 0.04, y),
                            arrowprops={"arrowstyle": "->", "lw": 0.7})
        shape = "×".join(str(v) for v in row[-1].shape)
        ax.text(len(row) + 0.1, y, f"→ {shape}", ha="left", va="center", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    use_reader_font(fig)  # before the layout measures the words
    fig.tight_layout()
    return fig
