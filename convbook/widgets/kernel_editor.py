"""``KernelEditor``: edit a kernel in a grid and watch the feature map change.

Input, kernel and output are shown side by side as PNG images (``ipywidgets.Image``),
re-encoded on every edit; the Python side of one update of a 512x512 photo takes a few
milliseconds (``benchmarks/editor_latency.py``).  An edit runs on one thread, in numpy:
torch's thread pool, on a machine whose cores are busy, made updates ten times slower,
and changing its size is not a widget's business (it is process-wide).  The settings and
what an edit computes are in :mod:`~convbook.widgets.kernel_editor_state`, the pictures in
:mod:`~convbook.widgets.kernel_editor_drawing`.  The editor follows the pattern of
:mod:`convbook.widgets.base`: its settings are a frozen dataclass,
:class:`~convbook.widgets.kernel_editor_state.KernelEditorState` (``editor.state``),
changed by :meth:`KernelEditor.set`, which the controls call too.

Sub-widgets: ``preset_dropdown``, ``size_dropdown``, ``image_dropdown``,
``absolute_checkbox``, ``range_toggle`` (clip or normalize), ``grid`` (an
``ipywidgets.GridBox`` of the ``cells``, ``ipywidgets.Text`` in rows), ``input_view``,
``kernel_view``, ``output_view`` (``ipywidgets.Image``) and ``message``.

Headless API: ``set(kernel=..., size=..., image=..., absolute=..., mode=...)`` changes
any of the settings at once (one redraw) and ``set_cell(i, j, text)`` types into a cell;
they drive the same code path as the controls.  Bad arguments raise (``set(size=8)``:
``ValueError: size must be in 1..7, got 8``); the *text* given to ``set_cell`` is what a
reader types, so a cell that is not a number shows an error in the widget, as typing it
would, and the last good output stays.

>>> editor = KernelEditor(image=torch.ones(4, 5), kernel="box_blur")
>>> editor.set(size=5, mode="normalize").state.size
5
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import numpy as np
import torch
from ipywidgets.widgets.widget_string import TextStyle  # not exported at the top level

from convbook import kernels
from convbook._args import check_int_range
from convbook.images import PHOTOS, as_image, photo
from convbook.language import text
from convbook.widgets.base import BookWidget, callback, holding, state_field
from convbook.widgets.kernel_editor_drawing import CELL_PX, kernel_picture, still
from convbook.widgets.kernel_editor_state import (
    CUSTOM,
    FLOAT32_MAX,
    SIZES,
    Correlator,
    KernelEditorState,
    as_rows,
    changed,
    display,
    fmt,
    levels_note,
    parse,
)
from convbook.widgets.png import png_bytes

__all__ = ["KernelEditor", "KernelEditorState"]

def _quoted(text: str) -> str:
    """``text`` quoted for a message; a long one cut, with its length."""
    if len(text) <= 40:
        return repr(text)
    return f"{text[:24]!r}… ({len(text)} characters)"


def _cell_px(k: int) -> int:
    """Width of a cell's text box in a ``k x k`` grid: narrower for big kernels, so that a
    7x7 grid fits beside the pictures."""
    return 58 if k <= 5 else 50


class KernelEditor(BookWidget):
    """Edit a kernel in a grid and see the image cross-correlated with it.

    Args:
        image: the picture to filter (see :func:`convbook.images.as_image`: a torch
            tensor ``(H, W)`` or ``(C, H, W)``, a numpy array ``(H, W)`` or
            ``(H, W, C)``); default the bundled ``'camera'`` photo. Colour images are
            filtered channel by channel.
        kernel: a preset name from :data:`convbook.kernels.PRESETS`, or a square
            ``(k, k)`` tensor/array with ``1 <= k <= 7``; default ``'identity'``.

    Attributes:
        state: the settings (:class:`KernelEditorState`); ``preset`` and ``size`` are
            read from it.
        kernel: the current ``(k, k)`` float32 kernel (a new tensor each time).
        image: the current input image, ``(H, W)`` or ``(3, H, W)``.
        output: the raw result, same shape as the image (``'same'`` padding with zeros).
        shown: what is displayed: ``output`` after the display options, in [0, 1].
        error: ``None``, or why the last edit was not applied (shown in ``message``).
    """

    CSS_CLASS = "convbook-kernel-editor"
    ERROR_NOTE = "widgets.kernel_editor.error_note"

    preset = state_field("preset", "Name of the current preset, or ``'custom'``.")

    def __init__(
        self, image: torch.Tensor | np.ndarray | None = None, kernel: object = "identity"
    ) -> None:
        self._custom_image = None if image is None else as_image(image)
        sources = ([CUSTOM] if self._custom_image is not None else []) + list(PHOTOS)
        identity = KernelEditorState(as_rows(kernels.PRESETS["identity"]), image=sources[0])
        first = changed(identity, {"kernel": kernel}, sources)
        self._images: dict[str, torch.Tensor] = {}
        self._correlators: dict[str, Correlator] = {}
        self._note: str | None = None
        self.output = torch.empty(0)
        self.shown = torch.empty(0)

        self.preset_dropdown = widgets.Dropdown(
            options=[*kernels.PRESETS, CUSTOM], value=first.preset,
            description=text("widgets.kernel_editor.kernel"),
        )
        self.size_dropdown = widgets.Dropdown(
            options=list(SIZES), value=first.size, description=text("widgets.kernel_editor.size")
        )
        self.image_dropdown = widgets.Dropdown(
            options=sources, value=first.image, description=text("widgets.kernel_editor.image")
        )
        self.absolute_checkbox = widgets.Checkbox(
            value=False, description=text("widgets.kernel_editor.absolute"))
        self.range_toggle = widgets.ToggleButtons(
            options=[(text("widgets.kernel_editor.clip"), "clip"),
                     (text("widgets.kernel_editor.normalize"), "normalize")],
            value="clip",
        )
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        # One layout and one style for all cells: each is a widget model of its own.
        self._cell_layout = widgets.Layout(width=f"{_cell_px(first.size)}px")
        self._cell_style = TextStyle()
        self._cells: list[widgets.Text] = []  # row-major; reused when the kernel changes
        self._cell_observers: list = []  # the observer of each cell
        self.input_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))
        self.kernel_view = widgets.Image(format="png", layout=widgets.Layout(width="112px"))
        self.output_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))

        def column(title: str, view: widgets.Widget) -> widgets.VBox:
            return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), view])

        super().__init__(
            [
                widgets.HBox([self.preset_dropdown, self.size_dropdown, self.image_dropdown],
                             layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([self.absolute_checkbox, self.range_toggle],
                             layout=widgets.Layout(flex_flow="row wrap")),
                # the three columns wrap rather than overflow a narrow notebook
                widgets.HBox(
                    [
                        column(text("widgets.kernel_editor.input_title"), self.input_view),
                        column(text("widgets.kernel_editor.kernel_title"),
                               widgets.VBox([self.grid, self.kernel_view])),
                        column(text("widgets.kernel_editor.output_title"), self.output_view),
                    ],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.grid.add_class("convbook-kernel-grid")
        self.input_view.add_class("convbook-input")
        self.kernel_view.add_class("convbook-kernel")
        self.output_view.add_class("convbook-output")

        self._render(first)
        for control, field in ((self.preset_dropdown, "kernel"), (self.size_dropdown, "size"),
                               (self.image_dropdown, "image"),
                               (self.absolute_checkbox, "absolute"), (self.range_toggle, "mode")):
            self._bind(control, field)

    # ----------------------------------------------------------------- state
    @property
    def kernel(self) -> torch.Tensor:
        """The current ``(k, k)`` float32 kernel (a new tensor each time)."""
        return self.state.kernel_tensor()

    @property
    def size(self) -> int:
        """The kernel's side, ``k``."""
        return self.state.size

    @property
    def image(self) -> torch.Tensor:
        """The current input image, ``(H, W)`` or ``(3, H, W)``."""
        return self._image_for(self.state.image)

    @property
    def cells(self) -> list[list[widgets.Text]]:
        """The grid's text boxes, ``cells[i][j]`` for kernel entry ``(i, j)``."""
        k = self.size
        return [self._cells[i * k : (i + 1) * k] for i in range(k)]

    # ----------------------------------------------------------------- headless API
    def set_cell(self, i: int, j: int, value: object) -> None:
        """Type ``value`` (a number or text) into cell ``(i, j)``, as a reader would."""
        k = self.size
        where = f" for the {k}x{k} kernel"
        i = check_int_range(i, "i", 0, k - 1, where=where)
        j = check_int_range(j, "j", 0, k - 1, where=where)
        if not isinstance(value, str):
            try:
                value = repr(float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                value = str(value)
        self._cells[i * k + j].value = value

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        k = self.size
        h, w = self.image.shape[-2:]
        return f"KernelEditor(kernel={k}x{k} {self.preset!r}, image={self.state.image!r} {h}x{w})"

    @property
    def png(self) -> bytes:
        """A still of what the widget shows: input | kernel | output, side by side, as PNG
        (see :func:`~convbook.widgets.kernel_editor_drawing.still`)."""
        picture = still(self.image, self.kernel, self.shown)
        return png_bytes(picture, compress_level=9)  # made once per display: make it small

    # ----------------------------------------------------------------- the cycle
    def _checked(self, changes: dict) -> KernelEditorState:
        return changed(self.state, changes, self.image_dropdown.options)

    def _image_for(self, name: str) -> torch.Tensor:
        if name not in self._images:
            self._images[name] = self._custom_image if name == CUSTOM else photo(name, gray=True)
        return self._images[name]

    def _correlator_for(self, name: str) -> Correlator:
        if name not in self._correlators:
            self._correlators = {name: Correlator(self._image_for(name))}  # one at a time
        return self._correlators[name]

    def _render(self, state: KernelEditorState) -> None:
        K = state.kernel_tensor()
        output = self._correlator_for(state.image).correlate(K)
        if not np.isfinite(output).all():
            raise ValueError(text("widgets.kernel_editor.overflow"))
        shown = display(output, state.absolute, state.mode)
        new_image = self.state is None or state.image != self.state.image
        # made once per image, not per edit: worth the better compression
        input_png = png_bytes(self._image_for(state.image), compress_level=6) if new_image else None
        output_png = png_bytes(shown)
        kernel_png = png_bytes(kernel_picture(K), scale=CELL_PX)
        self._state = state
        self.output, self.shown = torch.from_numpy(output), torch.from_numpy(shown)
        self._note = levels_note(output, state.absolute, state.mode)
        self.error = None
        if input_png is not None:  # the pictures first: a control never runs ahead of them
            self.input_view.value = input_png
        self.output_view.value = output_png
        self.kernel_view.value = kernel_png
        self._show_controls(state)
        self._render_message()

    def _show_controls(self, state: KernelEditorState) -> None:
        k = state.size
        values = [value for row in state.kernel for value in row]
        while len(self._cells) < k * k:  # reuse the text boxes there are
            index = len(self._cells)
            cell = widgets.Text(value=fmt(values[index]), continuous_update=True,
                                layout=self._cell_layout, style=self._cell_style)
            self._cell_observers.append(functools.partial(self._on_cell, index))
            cell.observe(self._cell_observers[index], names="value")
            self._cells.append(cell)
        for cell, observer in zip(self._cells[k * k :], self._cell_observers[k * k :]):
            cell.unobserve(observer, names="value")  # and close those a smaller kernel
            cell.close()  # does not need
        del self._cells[k * k :], self._cell_observers[k * k :]
        with holding(self.preset_dropdown, self.size_dropdown, self.image_dropdown,
                     self.absolute_checkbox, self.range_toggle, self.grid, self.grid.layout,
                     self._cell_layout, *self._cells):
            self.preset_dropdown.value = state.preset
            self.size_dropdown.value = k
            self.image_dropdown.value = state.image
            self.absolute_checkbox.value = state.absolute
            self.range_toggle.value = state.mode
            for cell, value in zip(self._cells, values):
                if parse(cell.value) != value:  # a cell being typed ("1.") keeps its text
                    cell.value = fmt(value)  # (its observer: the cell shows the state)
            self._cell_layout.width = f"{_cell_px(k)}px"
            self.grid.layout.grid_template_columns = f"repeat({k}, {_cell_px(k) + 2}px)"
            self.grid.children = tuple(self._cells)

    def _info_html(self) -> str:
        return "" if self._note is None else f'<span class="convbook-note">{self._note}</span>'

    # ----------------------------------------------------------------- observers
    @callback
    def _on_cell(self, index: int, change: dict) -> None:
        i, j = divmod(index, self.size)
        text, current = change["new"], self.state.kernel[i][j]
        value = parse(text)
        if text == fmt(current) or value == current:  # the cell shows the kernel there is
            if self.error is not None:
                self._show_error(self._bad_cell())
            return
        if value is None:
            self._show_error(self._bad_cell())
            return
        K = self.state.kernel_tensor()
        K[i, j] = value
        try:  # what the reader typed stays in the cell, whatever happens
            self.set(kernel=K)
        except ValueError as error:
            self._show_error(str(error))

    def _bad_cell(self) -> str | None:
        """The error for the first cell whose text is not a number, or ``None``."""
        for index, cell in enumerate(self._cells):
            if parse(cell.value) is None:
                i, j = divmod(index, self.size)
                return text("widgets.kernel_editor.bad_cell", i=i, j=j,
                            largest=f"{FLOAT32_MAX:.3g}", got=_quoted(cell.value))
        return None
