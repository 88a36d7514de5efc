"""The layer explorer's state and what it shows, computed without widgets: the settings as
a frozen dataclass (:class:`LayerExplorerState`, with the reader's own picture as an
:class:`OwnImage`) and the check of a change to them (:func:`changed`); the layers of a
model worth showing and where their units sit on the input (:class:`LayerInfo`,
:func:`layer_table`, boxes from :mod:`convbook.receptive_field`); the images it is given
(checked) and the network's input made from a picture; and for one image the class
probabilities, the feature maps of every layer and one unit's input gradient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from convbook import explain
from convbook._args import check_int_range, check_tensor
from convbook.data import normalize_unchecked
from convbook.images import as_image
from convbook.inference import predict
from convbook.language import text
from convbook.receptive_field import receptive_field
from convbook.receptive_field.table import unit_box

#: input rows and columns ``((top, bottom), (left, right))``, inclusive
Box = tuple[tuple[int, int], tuple[int, int]]
#: the image source of the reader's own picture
CUSTOM = "custom"


@dataclass(frozen=True)
class OwnImage:
    """A picture of the reader's own, as the network's input: its label in the image
    menu and its ``(3, H, W)`` uint8 pixels as bytes (so that the state stays comparable
    and immutable)."""

    label: str
    pixels: bytes
    shape: tuple[int, int, int]

    @classmethod
    def of(cls, label: str, picture: torch.Tensor, size: tuple[int, int]) -> OwnImage:
        """``picture`` (``(H, W)`` or ``(3, H, W)`` in [0, 1]) made the network's input."""
        uint8 = to_input(picture, size)
        return cls(label, uint8.numpy().tobytes(), tuple(uint8.shape))

    def tensor(self) -> torch.Tensor:
        """The ``(3, H, W)`` uint8 picture."""
        array = np.frombuffer(self.pixels, dtype=np.uint8).reshape(self.shape)
        return torch.from_numpy(array.copy())


@dataclass(frozen=True)
class LayerExplorerState:
    """What a :class:`~convbook.widgets.layer_explorer.LayerExplorer` shows: ``image`` (an
    index into its images, a photo's name, or ``'custom'`` for ``own``), ``layer``,
    ``channel`` and the unit's ``position`` ``(row, col)`` in that layer's maps."""

    image: int | str
    layer: str
    channel: int
    position: tuple[int, int]
    own: OwnImage | None = None


@dataclass(frozen=True)
class LayerInfo:
    """A layer the explorer can show, and where its units sit on the input (per axis
    ``(h, w)``: receptive field ``r``, effective stride ``j``, effective padding ``P``)."""

    name: str
    kind: str
    channels: int
    size: tuple[int, int]
    r: tuple[int, int]
    j: tuple[int, int]
    P: tuple[int, int]

    def box(self, row: int, col: int) -> Box:
        """Input rows and columns ``((top, bottom), (left, right))`` that unit ``(row, col)``
        sees, inclusive; they may reach past the image, into the padding."""
        return unit_box(self.r, self.j, self.P, row, col)

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """Where unit ``(row, col)``'s field is centred on the input."""
        (top, bottom), (left, right) = self.box(row, col)
        return (top + bottom) / 2, (left + right) / 2

    def nearest(self, centre: tuple[float, float]) -> tuple[int, int]:
        """The unit whose field is centred nearest ``centre``."""
        at0 = self.centre(0, 0)
        return tuple(  # type: ignore[return-value]
            min(max(round((c - c0) / j), 0), n - 1)
            for c, c0, j, n in zip(centre, at0, self.j, self.size))


def _is_shown(module: nn.Module) -> bool:
    return isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) or any(module.children())


def layer_table(model: nn.Module, input_size: tuple[int, int, int]) -> list[LayerInfo]:
    """The layers of ``model`` worth showing for ``(C, H, W)`` inputs, in the order they run:
    convolutions, poolings and blocks that run once and output ``(N, C, h, w)``, each with
    the geometry of its units (a block's is that of the last convolution or pooling in it).

    Raises:
        ValueError: the model cannot be traced by the receptive-field calculator, or it runs
            a convolution or pooling that is not a module (a function call).
    """
    finished: list[tuple[str, object]] = []  # (module name, output), as each module returns
    hooks = [m.register_forward_hook(lambda mod, args, out, name=name:
                                     finished.append((name, out)))
             for name, m in model.named_modules() if name]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    order = {name: i for i, (name, _) in enumerate(finished)}  # the last time each ran
    counts: dict[str, int] = {}
    for name, _ in finished:
        counts[name] = counts.get(name, 0) + 1
    rows = receptive_field(model, input_size).rows[1:]
    for row in rows:
        if row.name not in order:
            raise ValueError(f"LayerExplorer: cannot place layer {row.name!r} ({row.type}): "
                             "only convolutions and poolings that are modules are supported")
    modules = dict(model.named_modules())
    table, seen = [], []
    for i, (name, out) in enumerate(finished):
        if (counts[name] != 1 or not _is_shown(modules[name]) or not isinstance(out, torch.Tensor)
                or out.dim() != 4 or any(out is s for s in seen)):
            continue  # a block's output that is its last layer's is shown once
        seen.append(out)
        done = [row for row in rows if order[row.name] <= i]
        geometry = done[-1] if done else None
        table.append(LayerInfo(
            name, type(modules[name]).__name__, out.shape[1], tuple(out.shape[2:]),
            geometry.r if geometry else (1, 1), geometry.j if geometry else (1, 1),
            geometry.P if geometry else (0, 0),
        ))
    if not table:
        raise ValueError("LayerExplorer: the model has no convolution, pooling or block that "
                         "outputs (N, C, h, w) feature maps")
    return table


def field_margin(layers: Sequence[LayerInfo], input_size: tuple[int, int]) -> int:
    """Image pixels of padding to draw around an ``input_size`` input so that the whole
    receptive field of every unit of ``layers`` fits."""
    over = 0
    for info in layers:
        (top, _), (left, _) = info.box(0, 0)
        (_, bottom), (_, right) = info.box(info.size[0] - 1, info.size[1] - 1)
        over = max(over, -top, -left, bottom - (input_size[0] - 1), right - (input_size[1] - 1))
    return over


def to_input(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A ``(H, W)`` or ``(3, H, W)`` image in [0, 1] as a ``(3, *size)`` uint8 network input:
    the centre crop of the right shape, shrunk (antialiased) or enlarged (bilinear)."""
    if image.dim() == 2:
        image = image.expand(3, -1, -1)
    h, w = image.shape[1:]
    th, tw = size
    scale = min(h / th, w / tw)
    ch, cw = max(1, round(th * scale)), max(1, round(tw * scale))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = image[:, top:top + ch, left:left + cw].float()
    resized = F.interpolate(crop[None], size=size, mode="bilinear", align_corners=False,
                            antialias=ch > th or cw > tw)[0]
    return (resized.clamp(0, 1) * 255).round().to(torch.uint8)


def check_images(images: torch.Tensor, labels: Sequence[int] | torch.Tensor | None,
                 ) -> torch.Tensor | None:
    """Check ``(N, 3, H, W)`` uint8 ``images`` and their ``(N,)`` class ``labels`` (or
    ``None``); returns the labels as a tensor."""
    check_tensor(images, "images", [4], ["(N, 3, H, W)"])
    if images.dtype != torch.uint8 or images.shape[1] != 3 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, 3, H, W) uint8 tensor, got "
                         f"{images.dtype} of shape {tuple(images.shape)}")
    if labels is not None:
        labels = torch.as_tensor(labels)
        if labels.shape != (len(images),) or labels.is_floating_point():
            raise ValueError(f"labels must be {len(images)} class indices, one per image, "
                             f"got shape {tuple(labels.shape)}")
    return labels


def logits(model: nn.Module, images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
           device: torch.device) -> torch.Tensor:
    """``(N, classes)`` float32 logits of ``(N, 3, H, W)`` uint8 images, normalised with the
    ``(3,)`` ``mean`` and ``std``, run on ``device``."""
    return predict(model, images, mean, std, device=device, precision="fp32")


def look(model: nn.Module, picture: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
         device: torch.device, layers: list[str],
         ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """What the network makes of one ``(3, H, W)`` uint8 picture: the ``(classes,)`` class
    probabilities, the normalised input ``x: (1, 3, H, W)`` on ``device``, and the
    ``(C, h, w)`` feature maps of each of ``layers`` on the CPU."""
    probs = logits(model, picture[None], mean, std, device)[0].float().softmax(0)
    x = normalize_unchecked(picture[None].to(device), mean, std)  # predict checked them
    maps = explain.feature_maps(model, x, layers)
    return probs, x, {name: m[0].cpu() for name, m in maps.items()}


def input_gradient(model: nn.Module, x: torch.Tensor, layer: str, channel: int,
                   position: tuple[int, int]) -> torch.Tensor:
    """``(3, H, W)`` on the CPU: the gradient of unit ``position`` of ``channel`` of
    ``layer`` with respect to the normalised input ``x: (1, 3, H, W)``."""
    return explain.unit_gradient(model, x[0], layer, channel, position).cpu()


def changed(state: LayerExplorerState, changes: dict[str, Any], *, sources: Sequence[int | str],
            layers: dict[str, LayerInfo], input_size: tuple[int, int]) -> LayerExplorerState:
    """The state that ``changes`` (keyword arguments of ``LayerExplorer.set``) make of
    ``state``, every value checked first: ``sources`` are the image sources there are
    (indices and photo names), ``layers`` the layers by name, ``input_size`` the network's.

    ``image``: a source, ``'custom'`` (the last own picture), or a picture (a tensor
    ``(C, H, W)`` or array ``(H, W, C)``, or an :class:`OwnImage`), which becomes the own
    picture.  Switching layers without a ``position`` moves to the unit whose field is
    centred nearest the current one's, and keeps the channel if the new layer has it.

    Raises:
        TypeError, ValueError: naming the first bad argument and the rule.
    """
    unknown = set(changes) - {"image", "layer", "channel", "position"}
    if unknown:
        raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
    image, own = changes.get("image", state.image), state.own
    if isinstance(image, np.integer):
        image = int(image)
    if isinstance(image, OwnImage):
        image, own = CUSTOM, image
    elif isinstance(image, (torch.Tensor, np.ndarray)):
        image, own = CUSTOM, OwnImage.of(text("widgets.layer_explorer.own_image"),
                                         as_image(image), input_size)
    elif isinstance(image, bool) or image not in [*sources, *([CUSTOM] if own else [])]:
        custom = f", {CUSTOM!r}" if own is not None else ""
        names = ", ".join(name for name in sources if isinstance(name, str))
        raise ValueError(
            f"image must be an index 0..{sum(isinstance(v, int) for v in sources) - 1}, a photo "
            f"name ({names}){custom}, or a tensor or array, got {image!r}")
    layer = changes.get("layer", state.layer)
    if layer not in layers:
        raise ValueError(f"layer must be one of {', '.join(layers)}, got {layer!r}")
    info = layers[layer]
    where = " for this layer"
    if "channel" in changes:
        channel = check_int_range(changes["channel"], "channel", 0, info.channels - 1, where=where)
    else:
        channel = state.channel if state.channel < info.channels else 0
    if "position" in changes:
        position = changes["position"]
        if (isinstance(position, (str, bytes)) or not isinstance(position, Sequence)
                or len(position) != 2):
            raise TypeError(f"position must be a (row, col) pair, got {position!r}")
        position = (check_int_range(position[0], "position[0] (row)", 0, info.size[0] - 1,
                                    where=where),
                    check_int_range(position[1], "position[1] (col)", 0, info.size[1] - 1,
                                    where=where))
    elif layer != state.layer:
        position = info.nearest(layers[state.layer].centre(*state.position))
    else:
        position = state.position
    return dataclasses.replace(state, image=image, layer=layer, channel=channel,
                               position=position, own=own)
