"""What the layer explorer shows, computed without widgets: the layers of a model worth
showing and where their units sit on the input (:class:`LayerInfo`, :func:`layer_table`),
the images it is given (checked) and the network's input made from a file or a picture,
and for one image the class probabilities, the feature maps of every layer and one unit's
input gradient.  :class:`LayerExplorerState` gives the widget its read-only attributes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from convbook import explain
from convbook._args import check_tensor
from convbook.data import normalize
from convbook.images import as_image
from convbook.inference import predict
from convbook.receptive_field import receptive_field

#: input rows and columns ``((top, bottom), (left, right))``, inclusive
Box = tuple[tuple[int, int], tuple[int, int]]

MAX_UPLOAD_BYTES = 20 * 2**20


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
        top = row * self.j[0] - self.P[0]
        left = col * self.j[1] - self.P[1]
        return (top, top + self.r[0] - 1), (left, left + self.r[1] - 1)

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
    h, w = input_size
    over = 0
    for info in layers:
        for axis, n in ((0, h), (1, w)):
            last = (info.size[axis] - 1) * info.j[axis] - info.P[axis] + info.r[axis] - 1
            over = max(over, info.P[axis], last - (n - 1))
    return over


def decode_image(content: bytes, name: str = "upload") -> torch.Tensor:
    """A file's bytes as a ``(3, H, W)`` float image in [0, 1] (transparency on white).

    Raises:
        ValueError: naming the file and saying why it cannot be used (empty, too large, not
            an image PIL can read, or a decompression bomb).
    """
    if not content:
        raise ValueError(f"{name!r} is empty: choose an image file (PNG, JPEG, ...)")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValueError(f"{name!r} is {len(content) / 2**20:.1f} MB; the explorer takes images "
                         f"up to {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                img.load()
                if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                    rgba = img.convert("RGBA")
                    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    rgb = Image.alpha_composite(white, rgba).convert("RGB")
                else:
                    rgb = img.convert("RGB")
    except Exception as error:  # PIL raises many kinds of errors on a broken file
        reason = f"{type(error).__name__}: {error}".rstrip(": ")
        raise ValueError(f"could not read {name!r} as an image ({reason}); choose a PNG, "
                         "JPEG, GIF, BMP or WebP file") from None
    return as_image(np.asarray(rgb))


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


def as_vector(value: object, name: str) -> torch.Tensor:
    v = torch.as_tensor(value, dtype=torch.float32)
    if v.shape != (3,) or not torch.isfinite(v).all():
        raise ValueError(f"{name} must be 3 finite numbers, one per colour channel, got {value!r}")
    return v


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
    x = normalize(picture[None].to(device), mean, std)
    maps = explain.feature_maps(model, x, layers)
    return probs, x, {name: m[0].cpu() for name, m in maps.items()}


def input_gradient(model: nn.Module, x: torch.Tensor, layer: str, channel: int,
                   position: tuple[int, int]) -> torch.Tensor:
    """``(3, H, W)`` on the CPU: the gradient of unit ``position`` of ``channel`` of
    ``layer`` with respect to the normalised input ``x: (1, 3, H, W)``."""
    return explain.unit_gradient(model, x[0], layer, channel, position).cpu()


class LayerExplorerState:
    """What a :class:`~convbook.widgets.layer_explorer.LayerExplorer` shows, as read-only
    attributes: the image, layer, channel and unit chosen on its controls, and what the
    network computed for them.

    The widget is a subclass: it owns the controls (``image_dropdown``, ``layer_dropdown``,
    ``channel_slider``, ``row_slider``, ``col_slider``) and sets the values read here when
    it is built and on every update.
    """

    classes: list[str]
    _layers: list[LayerInfo]
    _by_name: dict[str, LayerInfo]
    _uint8: torch.Tensor  # (3, H, W) uint8: the network's input
    _probs: torch.Tensor  # (classes,)
    _maps: dict[str, torch.Tensor]  # layer name -> (C, h, w), for the current image
    _gradient: torch.Tensor  # (3, H, W), for the current unit

    @property
    def layers(self) -> list[str]:
        """Names of the layers that can be shown, in the order they run."""
        return [info.name for info in self._layers]

    def layer_info(self, name: str | None = None) -> LayerInfo:
        """Shape and geometry of layer ``name`` (default: the current layer)."""
        return self._by_name[self._check_layer(name if name is not None else self.layer)]

    @property
    def image_source(self) -> int | str:
        """The image shown: an index into ``images``, a photo's name, or ``'custom'``."""
        return self.image_dropdown.value

    @property
    def image(self) -> torch.Tensor:
        """The network's input as a picture: ``(3, H, W)`` in [0, 1] (8-bit steps)."""
        return self._uint8.float() / 255

    @property
    def layer(self) -> str:
        return self.layer_dropdown.value

    @property
    def channel(self) -> int:
        return self.channel_slider.value

    @property
    def position(self) -> tuple[int, int]:
        """``(row, col)`` of the unit in the layer's feature maps."""
        return self.row_slider.value, self.col_slider.value

    @property
    def probabilities(self) -> torch.Tensor:
        """``(classes,)`` softmax of the logits."""
        return self._probs

    @property
    def top5(self) -> list[tuple[str, float]]:
        """The five most likely classes with their probabilities, most likely first."""
        values, index = self._probs.topk(min(5, len(self._probs)))
        return [(self.classes[k], float(p)) for p, k in zip(values, index)]

    @property
    def feature_maps(self) -> torch.Tensor:
        """``(C, h, w)`` output of the current layer for the current image."""
        return self._maps[self.layer]

    @property
    def unit_value(self) -> float:
        """The current unit's activation."""
        i, j = self.position
        return float(self.feature_maps[self.channel, i, j])

    @property
    def unit_box(self) -> Box:
        """Input rows and columns the current unit sees (see :meth:`LayerInfo.box`)."""
        return self.layer_info().box(*self.position)

    @property
    def gradient(self) -> torch.Tensor:
        """``(3, H, W)``: the current unit's gradient with respect to the normalised input."""
        return self._gradient

    def _check_layer(self, layer: object) -> str:
        if layer not in self._by_name:
            raise ValueError(f"layer must be one of {', '.join(self._by_name)}, got {layer!r}")
        return layer  # type: ignore[return-value]
