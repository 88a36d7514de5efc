"""``LayerExplorer``: open a trained CNN and see what each of its layers does with an image.

Choose an image (CIFAR-10 test images, the bundled photos, or your own file through the
upload button), and the explorer shows the network's five most likely classes; choose a
layer to see all its feature maps as a grid, and a channel and a position to see one *unit*:
its value, its theoretical receptive field (from :mod:`convbook.receptive_field`) as a box
on the input, and its gradient with respect to the input as a heat map, which is zero
outside the box.  Photos and uploads are cropped to the centre square and shrunk to the
network's input size, and every image is rounded to 8 bits, as a CIFAR-10 image is.

By default it shows the network that ships with convbook (:func:`convbook.models.pretrained`)
on a few CIFAR-10 test images shipped with it.  It follows :mod:`convbook.widgets.base`: its
settings are a frozen dataclass (``ex.state``), changed by :meth:`LayerExplorer.set`, which
the controls call too; the state and what it shows are computed in
:mod:`~convbook.widgets.layer_explorer_state`, drawn in :mod:`~.layer_explorer_drawing`.

Headless, through :meth:`LayerExplorer.set` (or the sub-widgets' ``value``)::

    ex = LayerExplorer()
    ex.set(image=3, layer="blocks.1", channel=5, position=(3, 4))
    ex.top5, ex.unit_box, ex.gradient.shape

Arguments of ``set`` are checked before anything changes and raise ``TypeError`` /
``ValueError`` naming the argument.  A file the reader uploads (or gives to
:meth:`~LayerExplorer.upload_file`) that is not a readable image shows an error in the
widget, in a reader's words (see :func:`convbook.images.read_image`), and keeps the last
good image.  Jupyter passes at most 10 MB from the browser to Python in one message (the
server's ``websocket_max_message_size``), so the upload button
(:class:`~convbook.widgets.upload.ImageUpload`) checks a file's size in the browser and
sends only the name of a larger one, and the explorer says why it was not used.

Sub-widgets: ``image_dropdown``, ``upload_button`` (an ``ImageUpload``), ``layer_dropdown``,
``channel_slider``, ``row_slider``, ``col_slider``, ``input_view``, ``channel_view``,
``maps_view`` (``ipywidgets.Image``, each shown at its own size), ``top5_view`` and
``message`` (``ipywidgets.HTML``).  A slider whose range changes is replaced by a new one
(:func:`~convbook.widgets.base.renewed_slider`): read it from the explorer each time.

Limits: the layers listed are the convolutions, poolings and blocks (modules with children)
that run once per forward pass and output ``(N, C, h, w)``; the receptive-field geometry is
that of :func:`~convbook.receptive_field.receptive_field`, so the network must run its
convolutions and poolings as modules, one after another (as ``FastNet`` does).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import ClassVar

import ipywidgets as widgets
import torch
from torch import nn

from convbook._args import check_int_range, check_vector
from convbook.fonts import drawn_text
from convbook.images import PHOTOS, photo, read_image
from convbook.language import text
from convbook.widgets.base import (
    BookWidget,
    callback,
    holding,
    renew_sliders,
    show_int,
    state_field,
)
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
    CUSTOM,
    LayerExplorerState,
    LayerInfo,
    OwnImage,
    changed,
    check_images,
    field_margin,
    input_gradient,
    layer_table,
    logits,
    look,
    to_input,
)
from convbook.widgets.png import png_bytes
from convbook.widgets.upload import MAX_BYTES, ImageUpload

__all__ = ["LayerExplorer", "LayerExplorerState", "LayerInfo", "layer_table"]

_CANVAS_PX = 400  # the input picture is at most about this many pixels wide
#: an upload's pictures are decoded at most this many pixels a side (faster, same input)
_UPLOAD_SIDE = 1024


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
    ERROR_NOTE = "widgets.layer_explorer.error_note"
    MAX_SCALE: ClassVar[int] = 16

    layer = state_field("layer", "Name of the layer shown.")
    channel = state_field("channel", "The channel shown, ``0 .. channels - 1``.")
    position = state_field("position", "``(row, col)`` of the unit in the layer's maps.")
    image_source = state_field(
        "image", "The image shown: an index into ``images``, a photo's name, or ``'custom'``.")

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
            check_int_range(scale, "scale", 1, self.MAX_SCALE)
        self.model = models.pretrained() if model is None else model
        self.mean = check_vector(info["mean"] if mean is None else mean, "mean", 3, "channel")
        self.std = check_vector(info["std"] if std is None else std, "std", 3, "channel")
        if (self.std <= 0).any():
            raise ValueError(f"std must be > 0 in every channel, got {self.std.tolist()}")
        self.images = images
        self.labels = labels
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
        self._looked: tuple | None = None  # ((image, own), picture, probs, x, maps)
        self._shown: dict = {}  # what the pictures show, for the still

        self.image_dropdown = widgets.Dropdown(options=self._image_options(None),
                                               description=text("widgets.layer_explorer.image"))
        self.upload_button = ImageUpload(
            self._on_upload, description=text("widgets.layer_explorer.upload"),
            tooltip=text("widgets.layer_explorer.upload_tooltip", megabytes=MAX_BYTES // 2**20))
        self.layer_dropdown = widgets.Dropdown(
            options=[(f"{i.name} ({i.kind}, {i.channels}×{i.size[0]}×{i.size[1]})", i.name)
                     for i in self._layers],
            description=text("widgets.layer_explorer.layer"), layout=widgets.Layout(width="360px"))
        style = widgets.SliderStyle(description_width="60px")
        self.channel_slider = widgets.IntSlider(
            description=text("widgets.layer_explorer.channel"), style=style)
        self.row_slider = widgets.IntSlider(description=text("widgets.layer_explorer.row"),
                                            style=style)
        self.col_slider = widgets.IntSlider(description=text("widgets.layer_explorer.column"),
                                            style=style)
        # the pictures at their own size: stretched to the box's width they went blurry
        unstretched = widgets.Layout(max_width="100%", align_self="flex-start")
        self.input_view = widgets.Image(format="png", layout=unstretched)
        self.channel_view = widgets.Image(format="png", layout=unstretched)
        self.maps_view = widgets.Image(format="png", layout=unstretched)
        self.top5_view = widgets.HTML()
        self._titles = [widgets.HTML() for _ in range(3)]

        self._layer_row = widgets.HBox([self.layer_dropdown, self.channel_slider])
        self._unit_row = widgets.HBox([self.row_slider, self.col_slider])
        super().__init__([
            widgets.HBox([self.image_dropdown, self.upload_button]),
            self._layer_row,
            self._unit_row,
            widgets.HBox([widgets.VBox([self._titles[0], self.input_view]),
                          widgets.VBox([self._titles[1], self.channel_view]),
                          widgets.VBox([
                              widgets.HTML(f"<b>{text('widgets.layer_explorer.top5_title')}</b>"),
                              self.top5_view])],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.VBox([self._titles[2], self.maps_view]),
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

        start = self._layers[-1].name if layer is None else layer
        if start not in self._by_name:
            raise ValueError(f"layer must be one of {', '.join(self._by_name)}, got {start!r}")
        h, w = self._by_name[start].size
        first = LayerExplorerState(image=0, layer=start, channel=0, position=(h // 2, w // 2))
        self._observers = {"row_slider": self._on_row, "col_slider": self._on_col}
        self._bind(self.image_dropdown, "image")
        self._bind(self.layer_dropdown, "layer")
        self._observers["channel_slider"] = self._bind(self.channel_slider, "channel")
        for attribute in ("row_slider", "col_slider"):
            getattr(self, attribute).observe(self._observers[attribute], names="value")
        self._state = first  # what the constructor's arguments change
        self._render(self._checked(dict(
            image=image, channel=channel, **({} if position is None else {"position": position}))))

    # ----------------------------------------------------------------- what it shows
    @property
    def layers(self) -> list[str]:
        """Names of the layers that can be shown, in the order they run."""
        return [info.name for info in self._layers]

    def layer_info(self, name: str | None = None) -> LayerInfo:
        """Shape and geometry of layer ``name`` (default: the current layer)."""
        name = self.layer if name is None else name
        if name not in self._by_name:
            raise ValueError(f"layer must be one of {', '.join(self._by_name)}, got {name!r}")
        return self._by_name[name]

    @property
    def image(self) -> torch.Tensor:
        """The network's input as a picture: ``(3, H, W)`` in [0, 1] (8-bit steps)."""
        return self._looked[1].float() / 255

    @property
    def probabilities(self) -> torch.Tensor:
        """``(classes,)`` softmax of the logits."""
        return self._looked[2]

    @property
    def top5(self) -> list[tuple[str, float]]:
        """The five most likely classes with their probabilities, most likely first."""
        values, index = self.probabilities.topk(min(5, len(self.probabilities)))
        return [(self.classes[k], float(p)) for p, k in zip(values, index)]

    @property
    def feature_maps(self) -> torch.Tensor:
        """``(C, h, w)`` output of the current layer for the current image."""
        return self._looked[4][self.layer]

    @property
    def unit_value(self) -> float:
        """The current unit's activation."""
        i, j = self.position
        return float(self.feature_maps[self.channel, i, j])

    @property
    def unit_box(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Input rows and columns the current unit sees (see :meth:`LayerInfo.box`)."""
        return self.layer_info().box(*self.position)

    @property
    def gradient(self) -> torch.Tensor:
        """``(3, H, W)``: the current unit's gradient with respect to the normalised input."""
        return self._shown["gradient"]

    @property
    def png(self) -> bytes:
        """A still of the widget: input, channel, top-5 bars, and the grid of channels."""
        shown = self._shown
        i, j = shown["position"]
        picture = still(
            [(drawn_text("widgets.layer_explorer.still_input", i=i, j=j), shown["input"]),
             (drawn_text("widgets.layer_explorer.still_channel", layer=shown["layer"],
                         channel=shown["channel"]), shown["channel_map"])],
            (drawn_text("widgets.layer_explorer.still_maps", channels=shown["channels"],
                        layer=shown["layer"]), shown["grid"]),
            self.top5,
        )
        return png_bytes(picture, compress_level=9)

    # ----------------------------------------------------------------- headless API
    def upload_file(self, content: bytes, name: str = "upload") -> bool:
        """Show a file's bytes as the image, as the upload button does.  A file that cannot
        be used shows an error in the widget (in a reader's words), keeps the last good
        image, and returns ``False``."""
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(f"content must be bytes, got {type(content).__name__}")
        try:
            picture = read_image(content, str(name), max_side=_UPLOAD_SIDE)
        except ValueError as error:
            self._show_error(str(error))
            return False
        self.set(image=OwnImage.of(text("widgets.layer_explorer.own_image_named", name=name),
                                   picture, self.input_size))
        return True

    # ----------------------------------------------------------------- the cycle
    def _checked(self, changes: dict) -> LayerExplorerState:
        sources = [value for _, value in self._image_options(None)]
        return changed(self.state, changes, sources=sources, layers=self._by_name,
                       input_size=self.input_size)

    def _picture(self, state: LayerExplorerState) -> torch.Tensor:
        """The ``(3, H, W)`` uint8 network input of ``state``'s image."""
        if state.image == CUSTOM:
            return state.own.tensor()
        if isinstance(state.image, str):
            if state.image not in self._photos:
                self._photos[state.image] = to_input(photo(state.image), self.input_size)
            return self._photos[state.image]
        return self.images[state.image]

    def _render(self, state: LayerExplorerState) -> None:
        key = (state.image, state.own)
        looked = self._looked
        if looked is None or looked[0] != key:
            picture = self._picture(state)
            probs, x, maps = look(self.model, picture, self.mean, self.std, self._device,
                                  self.layers)
            looked = (key, picture, probs, x, maps)
        _, picture, probs, x, maps = looked
        gradient = input_gradient(self.model, x, state.layer, state.channel, state.position)
        info = self._by_name[state.layer]
        layer_maps = maps[state.layer]
        arrays = {
            "input": input_picture(picture.float() / 255, heat_map(gradient),
                                   info.box(*state.position), self._margin, self._scale),
            "channel_map": channel_picture(layer_maps[state.channel], state.position),
            "grid": grid_picture(layer_maps, state.channel),
        }
        pngs = {name: png_bytes(array) for name, array in arrays.items()}
        self._state, self._looked = state, looked
        self._shown = {**arrays, "gradient": gradient, "layer": state.layer,
                       "channel": state.channel, "position": state.position,
                       "channels": layer_maps.shape[0]}
        self.error = None
        self.input_view.value = pngs["input"]  # the pictures first: no control runs ahead
        self.channel_view.value = pngs["channel_map"]
        self.maps_view.value = pngs["grid"]
        (i, j), c, layer = state.position, state.channel, state.layer
        titles = (text("widgets.layer_explorer.input_title", i=i, j=j),
                  text("widgets.layer_explorer.channel_title", layer=layer, channel=c),
                  text("widgets.layer_explorer.maps_title", channels=layer_maps.shape[0],
                       layer=layer))
        for widget, title in zip(self._titles, titles):
            widget.value = f"<b>{html.escape(title)}</b>"
        truth = None
        if self.labels is not None and isinstance(state.image, int):
            truth = self.classes[int(self.labels[state.image])]
        self.top5_view.value = top5_html(self.top5, truth)
        self._show_controls(state)
        self._render_message()

    def _show_controls(self, state: LayerExplorerState) -> None:
        info = self._by_name[state.layer]
        renew_sliders(self, {"channel_slider": (self._layer_row, 0, info.channels - 1),
                             "row_slider": (self._unit_row, 0, info.size[0] - 1),
                             "col_slider": (self._unit_row, 0, info.size[1] - 1)},
                      self._observers)
        options = self._image_options(state.own)
        with holding(self.image_dropdown, self.layer_dropdown, self.channel_slider,
                     self.row_slider, self.col_slider):
            if list(self.image_dropdown.options) != options:
                self.image_dropdown.options = options
            self.image_dropdown.value = state.image
            self.layer_dropdown.value = state.layer
            show_int(self.channel_slider, state.channel, 0, info.channels - 1)
            show_int(self.row_slider, state.position[0], 0, info.size[0] - 1)
            show_int(self.col_slider, state.position[1], 0, info.size[1] - 1)

    def _info_html(self) -> str:
        return unit_html(self.layer_info(), self.channel, self.position, self.unit_value,
                         self.unit_box)

    def _image_options(self, own: OwnImage | None) -> list[tuple[str, int | str]]:
        if self.labels is None:
            options: list[tuple[str, int | str]] = [
                (text("widgets.layer_explorer.image_option", index=i), i)
                for i in range(len(self.images))]
        else:
            options = [(text("widgets.layer_explorer.image_option_true", index=i,
                             truth=self.classes[int(k)]), i) for i, k in enumerate(self.labels)]
        options += [(text("widgets.layer_explorer.photo_option", name=name), name)
                    for name in PHOTOS]
        if own is not None:
            options.append((own.label, CUSTOM))
        return options

    # ----------------------------------------------------------------- observers
    @callback
    def _on_row(self, change: dict) -> None:
        self.set_from_control(position=(change["new"], self.position[1]))

    @callback
    def _on_col(self, change: dict) -> None:
        self.set_from_control(position=(self.position[0], change["new"]))

    @callback
    def _on_upload(self, name: str, content: bytes | None, size: int) -> None:
        if content is None:
            self._show_error(text(
                "widgets.layer_explorer.too_large", name=repr(name),
                megabytes=f"{size / 2**20:.1f}", limit=(MAX_BYTES + 2**16) // 2**20,
                height=self.input_size[0], width=self.input_size[1]))
            return
        self.upload_file(content, name)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        name, p = self.top5[0]
        return (f"LayerExplorer(image={self.image_source!r}, layer={self.layer!r}, "
                f"channel={self.channel}, position={self.position} -> {name} {100 * p:.1f}%)")
