"""``LayerExplorer``: open a trained CNN and see what each of its layers does with an image.

Choose an image (CIFAR-10 test images, the bundled photos, or your own file through the
upload button), and the explorer shows the network's five most likely classes; choose a
layer to see all its feature maps as a grid, and a channel and a position to see one *unit*:
its value, its theoretical receptive field (from :mod:`convbook.receptive_field`) as a box
on the input, and its gradient with respect to the input as a heat map, which is zero
outside the box.  Photos and uploads are cropped to the centre square and shrunk to the
network's input size, and every image is rounded to 8 bits, as a CIFAR-10 image is.

By default it shows the network that ships with convbook (:func:`convbook.models.pretrained`)
on a few CIFAR-10 test images shipped with it.  The explorer follows the pattern of
:mod:`convbook.widgets.base`; its pictures are drawn in
:mod:`~convbook.widgets.layer_explorer_drawing`.

Headless, through :meth:`LayerExplorer.set` (or the sub-widgets' ``value``)::

    ex = LayerExplorer()
    ex.set(image=3, layer="blocks.1", channel=5, position=(3, 4))
    ex.top5, ex.unit_box, ex.gradient.shape

Arguments of ``set`` are checked before anything changes and raise ``TypeError`` /
``ValueError`` naming the argument.  A file the reader uploads (or gives to
:meth:`~LayerExplorer.upload_file`) that is not a readable image shows an error in the
widget and keeps the last good image.

Sub-widgets: ``image_dropdown``, ``upload_button`` (``ipywidgets.FileUpload``),
``layer_dropdown``, ``channel_slider``, ``row_slider``, ``col_slider``, ``input_view``,
``channel_view``, ``maps_view`` (``ipywidgets.Image``), ``top5_view`` and ``message``
(``ipywidgets.HTML``).

Limits: the layers listed are the convolutions, poolings and blocks (modules with
children) that run once per forward pass and output ``(N, C, h, w)``; the receptive-field
geometry is that of :func:`~convbook.receptive_field.receptive_field`, so the network must
run its convolutions and poolings as modules, one after another (as ``FastNet`` and
``nn.Sequential`` CNNs do).
"""

from __future__ import annotations

import html
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from convbook import explain
from convbook._args import check_positive_int, check_tensor
from convbook.data import normalize
from convbook.evaluation import predict
from convbook.images import PHOTOS, as_image, photo
from convbook.receptive_field import receptive_field
from convbook.widgets._png import png_bytes
from convbook.widgets.base import BookWidget, callback
from convbook.widgets.layer_explorer_drawing import (
    Box,
    channel_picture,
    grid_picture,
    input_picture,
    still,
)

__all__ = ["LayerExplorer", "LayerInfo", "decode_image", "layer_table"]

CUSTOM = "custom"
MAX_UPLOAD_BYTES = 20 * 2**20
_CANVAS_PX = 400  # the input picture is at most about this many pixels wide


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


def _to_input(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
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


def _as_vector(value: object, name: str) -> torch.Tensor:
    v = torch.as_tensor(value, dtype=torch.float32)
    if v.shape != (3,) or not torch.isfinite(v).all():
        raise ValueError(f"{name} must be 3 finite numbers, one per colour channel, got {value!r}")
    return v


class LayerExplorer(BookWidget):
    """A trained CNN's predictions, feature maps and units for one image at a time.

    Args:
        model: a CNN taking ``(N, 3, H, W)`` normalised images to ``(N, classes)`` logits;
            default the network shipped with convbook.  It is never changed (it runs in
            eval mode, its own mode restored).
        mean, std: ``(3,)`` normalisation the model was trained with; default the shipped
            network's (CIFAR-10's training set).
        classes: class names; default CIFAR-10's for a 10-class model, else numbers.
        images: ``(N, 3, H, W)`` uint8 images to choose from (their ``H × W`` is the input
            size); default the CIFAR-10 test images shipped with the network.
        labels: their ``(N,)`` true classes (shown beside the prediction), or ``None``.
        image, layer, channel, position: what to show first (see :meth:`set`); default the
            first image, the last layer, channel 0 and the centre unit.
        scale: screen pixels per image pixel in the input picture (default: fit about 400
            pixels).
    """

    CSS_CLASS = "convbook-layer-explorer"
    ERROR_NOTE = "showing the last good image"
    MAX_SCALE: ClassVar[int] = 16

    def __init__(
        self,
        model: nn.Module | None = None,
        *,
        mean: Sequence[float] | torch.Tensor | None = None,
        std: Sequence[float] | torch.Tensor | None = None,
        classes: Sequence[str] | None = None,
        images: torch.Tensor | None = None,
        labels: Sequence[int] | torch.Tensor | None = None,
        image: int | str = 0,
        layer: str | None = None,
        channel: int = 0,
        position: tuple[int, int] | None = None,
        scale: int | None = None,
    ) -> None:
        from convbook import models

        if model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}")
        info = models.pretrained_info()
        if images is None:
            images, shipped = models.pretrained_samples()
            labels = shipped if labels is None else labels
        check_tensor(images, "images", [4], ["(N, 3, H, W)"])
        if images.dtype != torch.uint8 or images.shape[1] != 3 or len(images) == 0:
            raise ValueError(f"images must be a non-empty (N, 3, H, W) uint8 tensor, got "
                             f"{images.dtype} of shape {tuple(images.shape)}")
        if labels is not None:
            labels = torch.as_tensor(labels)
            if labels.shape != (len(images),) or labels.is_floating_point():
                raise ValueError(f"labels must be {len(images)} class indices, one per image, "
                                 f"got shape {tuple(labels.shape)}")
        if scale is not None:
            check_positive_int(scale, "scale")
            if scale > self.MAX_SCALE:
                raise ValueError(f"scale must be <= {self.MAX_SCALE}, got {scale}")
        self.model = models.pretrained() if model is None else model
        self.mean = _as_vector(info["mean"] if mean is None else mean, "mean")
        self.std = _as_vector(info["std"] if std is None else std, "std")
        if (self.std <= 0).any():
            raise ValueError(f"std must be > 0 in every channel, got {self.std.tolist()}")
        self._images = images
        self._labels = labels
        self.input_size: tuple[int, int] = tuple(images.shape[2:])  # type: ignore[assignment]
        self._device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        self._layers = layer_table(self.model, (3, *self.input_size))
        self._by_name = {info.name: info for info in self._layers}
        n_classes = self._logits(images[:1]).shape[1]
        if classes is None:
            classes = info["classes"] if n_classes == len(info["classes"]) else [
                str(k) for k in range(n_classes)]
        if (isinstance(classes, str) or not isinstance(classes, Sequence)
                or len(classes) != n_classes or not all(isinstance(c, str) for c in classes)):
            raise ValueError(f"classes must be {n_classes} names, one per output of the model, "
                             f"got {classes!r}")
        self.classes = list(classes)
        if labels is not None and ((labels < 0) | (labels >= n_classes)).any():
            raise ValueError(f"labels must be in 0..{n_classes - 1}")
        h, w = self.input_size
        self._margin = self._field_margin()
        self._scale = scale or max(1, min(8, _CANVAS_PX // (max(h, w) + 2 * self._margin)))
        self._photos: dict[str, torch.Tensor] = {}
        self._custom: tuple[str, torch.Tensor] | None = None
        self._busy = False

        self.image_dropdown = widgets.Dropdown(options=self._image_options(), description="image")
        self.upload_button = widgets.FileUpload(accept="image/*", multiple=False,
                                                description="your image")
        self.layer_dropdown = widgets.Dropdown(
            options=[(f"{i.name} ({i.kind}, {i.channels}×{i.size[0]}×{i.size[1]})", i.name)
                     for i in self._layers],
            description="layer", layout=widgets.Layout(width="360px"))
        style = widgets.SliderStyle(description_width="60px")
        self.channel_slider = widgets.IntSlider(description="channel", style=style)
        self.row_slider = widgets.IntSlider(description="row", style=style)
        self.col_slider = widgets.IntSlider(description="column", style=style)
        self.input_view = widgets.Image(format="png")
        self.channel_view = widgets.Image(format="png")
        self.maps_view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.top5_view = widgets.HTML()
        self._titles = [widgets.HTML() for _ in range(3)]

        def column(title: widgets.HTML, view: widgets.Widget) -> widgets.VBox:
            return widgets.VBox([title, view])

        super().__init__([
            widgets.HBox([self.image_dropdown, self.upload_button]),
            widgets.HBox([self.layer_dropdown, self.channel_slider]),
            widgets.HBox([self.row_slider, self.col_slider]),
            widgets.HBox([column(self._titles[0], self.input_view),
                          column(self._titles[1], self.channel_view),
                          column(widgets.HTML("<b>top-5 classes</b>"), self.top5_view)]),
            column(self._titles[2], self.maps_view),
        ])
        # CSS classes name the parts for readers' custom styles and the browser tests
        for view, name in ((self.input_view, "convbook-input"),
                           (self.channel_view, "convbook-channel"),
                           (self.maps_view, "convbook-maps"),
                           (self.top5_view, "convbook-top5"),
                           (self.image_dropdown, "convbook-image-choice"),
                           (self.upload_button, "convbook-upload"),
                           (self.layer_dropdown, "convbook-layer-choice"),
                           (self.channel_slider, "convbook-channel-choice"),
                           (self.row_slider, "convbook-row-choice"),
                           (self.col_slider, "convbook-col-choice")):
            view.add_class(name)

        start = self._layers[-1].name if layer is None else self._check_layer(layer)
        self._uint8 = torch.zeros(3, *self.input_size, dtype=torch.uint8)
        self.set(image=image, layer=start, channel=channel,
                 position=position if position is not None else self._centre(start))
        self.image_dropdown.observe(self._on_image, names="value")
        self.upload_button.observe(self._on_upload, names="value")
        self.layer_dropdown.observe(self._on_layer, names="value")
        for slider in (self.channel_slider, self.row_slider, self.col_slider):
            slider.observe(self._on_unit, names="value")

    # ----------------------------------------------------------------- state
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

    @property
    def png(self) -> bytes:
        """A still of the widget: input, channel, top-5 bars, and the grid of channels."""
        layer, c, (i, j) = self._drawn
        picture = still(
            [(f"input: field of unit ({i}, {j})", self._input_array),
             (f"{layer}, channel {c}", self._channel_array)],
            (f"all {self._maps[layer].shape[0]} channels of {layer}", self._grid_array),
            self.top5,
        )
        return png_bytes(picture, compress_level=9)

    # ----------------------------------------------------------------- headless API
    def set(
        self,
        *,
        image: int | str | torch.Tensor | np.ndarray | None = None,
        layer: str | None = None,
        channel: int | None = None,
        position: tuple[int, int] | None = None,
    ) -> LayerExplorer:
        """Show another image, layer, channel or unit (one redraw); returns ``self``.

        ``image``: an index into ``images``, a photo name from
        :data:`convbook.images.PHOTOS`, ``'custom'`` (the last image of your own), or a
        picture as a tensor ``(C, H, W)`` or array ``(H, W, C)`` (see
        :func:`convbook.images.as_image`), which becomes ``'custom'``.  ``layer``: one of
        :attr:`layers`; switching layers without a ``position`` moves to the unit whose
        field is centred nearest the current one's, and keeps the channel if the new layer
        has it (else channel 0).  Everything is checked before anything changes.
        """
        custom = None
        if image is not None:
            if isinstance(image, (torch.Tensor, np.ndarray)):
                custom = ("your image", as_image(image))
            else:
                self._check_source(image)
        target = self._check_layer(layer) if layer is not None else self.layer
        info = self._by_name[target]
        if channel is not None:
            self._check_index(channel, "channel", info.channels)
            new_channel = int(channel)
        else:
            new_channel = self.channel if self.channel < info.channels else 0
        if position is not None:
            if (isinstance(position, (str, bytes)) or not isinstance(position, Sequence)
                    or len(position) != 2):
                raise TypeError(f"position must be a (row, col) pair, got {position!r}")
            self._check_index(position[0], "position[0] (row)", info.size[0])
            self._check_index(position[1], "position[1] (col)", info.size[1])
            new_position = (int(position[0]), int(position[1]))
        elif layer is not None and layer != self.layer:
            new_position = self._nearest(target, self.layer_info().centre(*self.position))
        else:
            new_position = self.position
        if custom is not None:
            self._use_custom(*custom)
            image = CUSTOM
        self._apply(image, target, new_channel, new_position)
        return self

    def upload_file(self, content: bytes, name: str = "upload") -> bool:
        """Show a file's bytes as the image, as the upload button does.  A file that cannot
        be used shows an error in the widget, keeps the last good image, and returns
        ``False``."""
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(f"content must be bytes, got {type(content).__name__}")
        try:
            picture = decode_image(bytes(content), str(name))
        except ValueError as error:
            self._show_error(str(error))
            return False
        self._use_custom(f"your image: {name}", picture)
        self._apply(CUSTOM, self.layer, self.channel, self.position)
        return True

    # ----------------------------------------------------------------- checks
    def _check_source(self, image: object) -> None:
        allowed = [value for _, value in self._image_options()]
        if isinstance(image, bool) or not isinstance(image, (int, str)) or image not in allowed:
            custom = f", {CUSTOM!r}" if self._custom is not None else ""
            raise ValueError(
                f"image must be an index 0..{len(self._images) - 1}, a photo name "
                f"({', '.join(PHOTOS)}){custom}, or a tensor or array, got {image!r}")

    def _check_layer(self, layer: object) -> str:
        if layer not in self._by_name:
            raise ValueError(f"layer must be one of {', '.join(self._by_name)}, got {layer!r}")
        return layer  # type: ignore[return-value]

    @staticmethod
    def _check_index(value: object, name: str, size: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if not 0 <= value < size:
            raise ValueError(f"{name} must be in 0..{size - 1} for this layer, got {value}")

    # ----------------------------------------------------------------- internals
    def _field_margin(self) -> int:
        """Image pixels of padding to draw around the input so that every unit's whole
        receptive field fits."""
        h, w = self.input_size
        over = 0
        for info in self._layers:
            for axis, n in ((0, h), (1, w)):
                last = (info.size[axis] - 1) * info.j[axis] - info.P[axis] + info.r[axis] - 1
                over = max(over, info.P[axis], last - (n - 1))
        return over

    def _centre(self, layer: str) -> tuple[int, int]:
        h, w = self._by_name[layer].size
        return h // 2, w // 2

    def _nearest(self, layer: str, centre: tuple[float, float]) -> tuple[int, int]:
        """The unit of ``layer`` whose field is centred nearest ``centre``."""
        info = self._by_name[layer]
        at0 = info.centre(0, 0)
        return tuple(  # type: ignore[return-value]
            min(max(round((c - c0) / j), 0), n - 1)
            for c, c0, j, n in zip(centre, at0, info.j, info.size))

    def _image_options(self) -> list[tuple[str, int | str]]:
        options: list[tuple[str, int | str]] = []
        for i in range(len(self._images)):
            label = "" if self._labels is None else f" ({self._class_name(int(self._labels[i]))})"
            options.append((f"image {i}{label}", i))
        options += [(f"photo: {name}", name) for name in PHOTOS]
        if self._custom is not None:
            options.append((self._custom[0], CUSTOM))
        return options

    def _class_name(self, k: int) -> str:
        names = getattr(self, "classes", None)
        return names[k] if names is not None and k < len(names) else str(k)

    def _use_custom(self, label: str, picture: torch.Tensor) -> None:
        self._custom = (label, _to_input(picture, self.input_size))
        self._busy = True
        try:
            self.image_dropdown.options = self._image_options()
        finally:
            self._busy = False

    def _source_image(self, source: int | str) -> torch.Tensor:
        if source == CUSTOM:
            assert self._custom is not None
            return self._custom[1]
        if isinstance(source, str):
            if source not in self._photos:
                self._photos[source] = _to_input(photo(source), self.input_size)
            return self._photos[source]
        return self._images[source]

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        return predict(self.model, images, self.mean, self.std, device=self._device,
                       precision="fp32")

    def _apply(self, image: int | str | None, layer: str, channel: int,
               position: tuple[int, int]) -> None:
        """Compute the state for checked values, then move the controls there and draw;
        if computing fails, nothing has changed."""
        if image is not None or not hasattr(self, "_maps"):
            picture = self._source_image(self.image_source if image is None else image)
            logits = self._logits(picture[None])[0]
            x = normalize(picture[None].to(self._device), self.mean, self.std)
            maps = explain.feature_maps(self.model, x, self.layers)
        else:
            picture, x, maps, logits = self._uint8, self._x, None, None
        gradient = explain.unit_gradient(self.model, x[0], layer, channel, position).cpu()
        info = self._by_name[layer]
        self._busy = True
        try:
            if image is not None:
                self.image_dropdown.value = image
            self.layer_dropdown.value = layer
            self.channel_slider.max = info.channels - 1
            self.row_slider.max, self.col_slider.max = info.size[0] - 1, info.size[1] - 1
            self.channel_slider.value = channel
            self.row_slider.value, self.col_slider.value = position
        finally:
            self._busy = False
        if maps is not None:
            self._uint8, self._x = picture, x
            self._probs = logits.float().softmax(0)
            self._maps = {name: m[0].cpu() for name, m in maps.items()}
        self._gradient = gradient
        self._draw()
        self._show_error(None)

    def _draw(self) -> None:
        self._drawn = (self.layer, self.channel, self.position)  # what the pictures show
        heat = self._gradient.abs().sum(0)
        top = float(heat.max())
        heat = heat / top if top > 0 else heat
        self._input_array = input_picture(self.image, heat, self.unit_box, self._margin,
                                          self._scale)
        self._channel_array = channel_picture(self.feature_maps[self.channel], self.position)
        self._grid_array = grid_picture(self.feature_maps, self.channel)
        self.input_view.value = png_bytes(self._input_array)
        self.channel_view.value = png_bytes(self._channel_array)
        self.maps_view.value = png_bytes(self._grid_array)
        (i, j), c, layer = self.position, self.channel, self.layer
        titles = (f"input, the field of unit ({i}, {j}) and its gradient",
                  f"{layer}, channel {c}", f"all {self.feature_maps.shape[0]} channels of "
                  f"{layer} (red > 0 > blue)")
        for widget, text in zip(self._titles, titles):
            widget.value = f"<b>{html.escape(text)}</b>"
        self.top5_view.value = self._top5_html()

    def _top5_html(self) -> str:
        rows = []
        for name, p in self.top5:
            bar = (f'<div style="background:#4c78a8;height:10px;width:{round(120 * p)}px">'
                   "</div>")
            rows.append(f"<tr><td>{html.escape(name)}</td><td style='width:125px'>{bar}</td>"
                        f"<td style='text-align:right'>{100 * p:.1f}%</td></tr>")
        truth = ""
        if self._labels is not None and isinstance(self.image_source, int) \
                and not isinstance(self.image_source, bool):
            truth = (f"<p>true class: "
                     f"{html.escape(self.classes[int(self._labels[self.image_source])])}</p>")
        return f"<table>{''.join(rows)}</table>{truth}"

    def _info_html(self) -> str:
        if not hasattr(self, "_gradient"):
            return ""
        info = self.layer_info()
        (top, bottom), (left, right) = self.unit_box
        (i, j), c = self.position, self.channel
        return (
            f'<span class="convbook-unit">unit ({i}, {j}) of channel {c} of {info.name} '
            f"({info.channels}×{info.size[0]}×{info.size[1]}): value {self.unit_value:.3f}; "
            f"receptive field {info.r[0]}×{info.r[1]} pixels, rows {top}..{bottom} and "
            f"columns {left}..{right} (effective stride {info.j[0]}; the grey margin is "
            "padding). The heat map is |∂unit/∂pixel|, zero outside the field.</span>"
        )

    # ----------------------------------------------------------------- observers
    @callback
    def _on_image(self, change: dict) -> None:
        if not self._busy:
            self._apply(change["new"], self.layer, self.channel, self.position)

    @callback
    def _on_layer(self, change: dict) -> None:
        if self._busy:
            return
        old = self._by_name[change["old"]]
        new = self._by_name[change["new"]]
        centre = old.centre(*self.position)
        channel = self.channel if self.channel < new.channels else 0
        self._apply(None, new.name, channel, self._nearest(new.name, centre))

    @callback
    def _on_unit(self, change: dict) -> None:
        if not self._busy:
            self._apply(None, self.layer, self.channel, self.position)

    @callback
    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if self._busy or not files:
            return
        first = files[0]
        content, name = bytes(first["content"]), first.get("name", "upload")
        self._busy = True
        try:
            self.upload_button.value = ()  # the file's bytes are not kept in the notebook
        finally:
            self._busy = False
        self.upload_file(content, name)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        name, p = self.top5[0]
        return (f"LayerExplorer(image={self.image_source!r}, layer={self.layer!r}, "
                f"channel={self.channel}, position={self.position} -> {name} {100 * p:.1f}%)")
