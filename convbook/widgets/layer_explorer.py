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
:mod:`convbook.widgets.base`; what it shows is computed in
:mod:`~convbook.widgets.layer_explorer_state` and drawn in
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
from collections.abc import Sequence
from typing import ClassVar

import ipywidgets as widgets
import numpy as np
import torch
from torch import nn

from convbook._args import check_positive_int
from convbook.images import PHOTOS, as_image, photo
from convbook.widgets.png import png_bytes
from convbook.widgets.base import BookWidget, callback
from convbook.widgets.layer_explorer_drawing import (
    channel_picture,
    grid_picture,
    heat_map,
    input_picture,
    still,
    top5_html,
    unit_html,
)
from convbook.widgets.layer_explorer_state import (
    LayerExplorerState,
    LayerInfo,
    as_vector,
    check_images,
    decode_image,
    field_margin,
    input_gradient,
    layer_table,
    logits,
    look,
    to_input,
)

__all__ = ["LayerExplorer", "LayerInfo", "decode_image", "layer_table"]

CUSTOM = "custom"
_CANVAS_PX = 400  # the input picture is at most about this many pixels wide


class LayerExplorer(LayerExplorerState, BookWidget):
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
        labels = check_images(images, labels)
        if scale is not None:
            check_positive_int(scale, "scale")
            if scale > self.MAX_SCALE:
                raise ValueError(f"scale must be <= {self.MAX_SCALE}, got {scale}")
        self.model = models.pretrained() if model is None else model
        self.mean = as_vector(info["mean"] if mean is None else mean, "mean")
        self.std = as_vector(info["std"] if std is None else std, "std")
        if (self.std <= 0).any():
            raise ValueError(f"std must be > 0 in every channel, got {self.std.tolist()}")
        self._images = images
        self._labels = labels
        self.input_size: tuple[int, int] = tuple(images.shape[2:])  # type: ignore[assignment]
        self._device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        self._layers = layer_table(self.model, (3, *self.input_size))
        self._by_name = {info.name: info for info in self._layers}
        n_classes = logits(self.model, images[:1], self.mean, self.std, self._device).shape[1]
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
        self._margin = field_margin(self._layers, self.input_size)
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

    # ----------------------------------------------------------------- display
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
            new_position = info.nearest(self.layer_info().centre(*self.position))
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

    @staticmethod
    def _check_index(value: object, name: str, size: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if not 0 <= value < size:
            raise ValueError(f"{name} must be in 0..{size - 1} for this layer, got {value}")

    # ----------------------------------------------------------------- internals
    def _centre(self, layer: str) -> tuple[int, int]:
        h, w = self._by_name[layer].size
        return h // 2, w // 2

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
        self._custom = (label, to_input(picture, self.input_size))
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
                self._photos[source] = to_input(photo(source), self.input_size)
            return self._photos[source]
        return self._images[source]

    def _apply(self, image: int | str | None, layer: str, channel: int,
               position: tuple[int, int]) -> None:
        """Compute the state for checked values, then move the controls there and draw;
        if computing fails, nothing has changed."""
        if image is not None or not hasattr(self, "_maps"):
            picture = self._source_image(self.image_source if image is None else image)
            probs, x, maps = look(self.model, picture, self.mean, self.std, self._device,
                                  self.layers)
        else:
            picture, x, maps, probs = self._uint8, self._x, None, None
        gradient = input_gradient(self.model, x, layer, channel, position)
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
            self._uint8, self._x, self._probs, self._maps = picture, x, probs, maps
        self._gradient = gradient
        self._draw()
        self._show_error(None)

    def _draw(self) -> None:
        self._drawn = (self.layer, self.channel, self.position)  # what the pictures show
        self._input_array = input_picture(self.image, heat_map(self._gradient), self.unit_box,
                                          self._margin, self._scale)
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
        truth = None
        if self._labels is not None and isinstance(self.image_source, int) \
                and not isinstance(self.image_source, bool):
            truth = self.classes[int(self._labels[self.image_source])]
        self.top5_view.value = top5_html(self.top5, truth)

    def _info_html(self) -> str:
        if not hasattr(self, "_gradient"):
            return ""
        return unit_html(self.layer_info(), self.channel, self.position, self.unit_value,
                         self.unit_box)

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
        self._apply(None, new.name, channel, new.nearest(centre))

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
