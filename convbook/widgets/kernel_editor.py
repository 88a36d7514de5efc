"""``KernelEditor``: edit a kernel in a grid and watch the feature map change.

Input, kernel and output are shown side by side as PNG images (``ipywidgets.Image``),
re-encoded on every edit; the Python side of one update of a 512x512 photo takes a few
milliseconds (``benchmarks/editor_latency.py``).  An edit runs on one thread, in numpy:
torch's thread pool, on a machine whose cores are busy, made updates ten times slower,
and changing its size is not a widget's business (it is process-wide).  What an edit
computes is in :mod:`~convbook.widgets.kernel_editor_state`, the pictures in
:mod:`~convbook.widgets.kernel_editor_drawing`.  The editor follows the pattern of
:mod:`convbook.widgets.base`:

Sub-widgets: ``preset_dropdown``, ``size_dropdown``, ``image_dropdown``,
``absolute_checkbox``, ``range_toggle`` (clip or normalize), ``grid`` (an
``ipywidgets.GridBox`` of the ``cells``, ``ipywidgets.Text`` in rows), ``input_view``,
``kernel_view``, ``output_view`` (``ipywidgets.Image``) and ``message``.

Headless API: ``set_kernel``, ``set_cell``, ``set_size``, ``set_image``, ``set_options``
drive the same code path as the controls.  Bad arguments raise (``set_size(8)``:
``ValueError: size must be in 1..7, got 8``); the *text* given to ``set_cell`` is what a
reader types, so a cell that is not a number shows an error in the widget, as typing it
would, and the last good output stays.
"""

from __future__ import annotations

import numbers

import ipywidgets as widgets
import numpy as np
import torch
from ipywidgets.widgets.widget_string import TextStyle  # not exported at the top level

from convbook import kernels
from convbook.images import PHOTOS, as_image, photo
from convbook.widgets.png import png_bytes
from convbook.widgets.base import BookWidget, callback
from convbook.widgets.kernel_editor_drawing import CELL_PX, kernel_picture, still
from convbook.widgets.kernel_editor_state import (
    FLOAT32_MAX,
    SIZES,
    Correlator,
    as_kernel,
    display,
    fmt,
    parse,
    preset_kernel,
    recentred,
)

CUSTOM = "custom"
_OVERFLOW = "use smaller kernel values"


def _check_index(value: object, name: str, size: int) -> int:
    """``value`` as an int in ``0 .. size - 1``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not 0 <= value < size:
        raise ValueError(
            f"{name} must be in 0..{size - 1} for the {size}x{size} kernel, got {value}"
        )
    return int(value)


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
        kernel: the current ``(k, k)`` float32 kernel.
        output: the raw result, same shape as the image (``'same'`` padding with zeros).
        shown: what is displayed: ``output`` after the display options, in [0, 1].
        error: ``None``, or why the last edit was not applied (shown in ``message``).
    """

    CSS_CLASS = "convbook-kernel-editor"
    ERROR_NOTE = "showing the last good output"

    def __init__(
        self, image: torch.Tensor | np.ndarray | None = None, kernel: object = "identity"
    ) -> None:
        self._custom_image = None if image is None else as_image(image)
        if isinstance(kernel, str):
            self._check_preset(kernel)
            K, preset = kernels.PRESETS[kernel], kernel
        else:
            K, preset = as_kernel(kernel), CUSTOM
        self._photos: dict[str, torch.Tensor] = {}
        self._busy = False  # True while the code itself rewrites the controls
        self.kernel = torch.zeros(0, 0)
        self.output = torch.empty(0)
        self.shown = torch.empty(0)

        self.preset_dropdown = widgets.Dropdown(
            options=[*kernels.PRESETS, CUSTOM], value=preset, description="kernel"
        )
        self.size_dropdown = widgets.Dropdown(
            options=list(SIZES), value=K.shape[0], description="size"
        )
        sources = ([CUSTOM] if self._custom_image is not None else []) + list(PHOTOS)
        self.image_dropdown = widgets.Dropdown(
            options=sources, value=sources[0], description="image"
        )
        self.absolute_checkbox = widgets.Checkbox(value=False, description="absolute value")
        self.range_toggle = widgets.ToggleButtons(
            options=[("clip to [0, 1]", "clip"), ("normalize to [0, 1]", "normalize")],
            value="clip",
        )
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        # One layout and one style for all cells: each is a widget model of its own.
        self._cell_layout = widgets.Layout(width="58px")
        self._cell_style = TextStyle()
        self._cells: list[widgets.Text] = []  # row-major; reused when the kernel changes
        self.input_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))
        self.kernel_view = widgets.Image(format="png", layout=widgets.Layout(width="112px"))
        self.output_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))

        def column(title: str, view: widgets.Widget) -> widgets.VBox:
            return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), view])

        super().__init__(
            [
                widgets.HBox([self.preset_dropdown, self.size_dropdown, self.image_dropdown]),
                widgets.HBox([self.absolute_checkbox, self.range_toggle]),
                widgets.HBox(
                    [
                        column("input", self.input_view),
                        column("kernel", widgets.VBox([self.grid, self.kernel_view])),
                        column("output", self.output_view),
                    ]
                ),
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.grid.add_class("convbook-kernel-grid")
        self.input_view.add_class("convbook-input")
        self.kernel_view.add_class("convbook-kernel")
        self.output_view.add_class("convbook-output")

        self._set_image(self.image_dropdown.value)
        self._load(K, preset)
        self.preset_dropdown.observe(self._on_preset, names="value")
        self.size_dropdown.observe(self._on_size, names="value")
        self.image_dropdown.observe(self._on_image, names="value")
        self.absolute_checkbox.observe(self._on_option, names="value")
        self.range_toggle.observe(self._on_option, names="value")

    # ----------------------------------------------------------------- state
    @property
    def image(self) -> torch.Tensor:
        """The current input image, ``(H, W)`` or ``(3, H, W)``."""
        return self._image

    @property
    def preset(self) -> str:
        """Name of the current preset, or ``'custom'``."""
        return self.preset_dropdown.value

    @property
    def size(self) -> int:
        """The kernel's side, ``k``."""
        return self.kernel.shape[0]

    @property
    def cells(self) -> list[list[widgets.Text]]:
        """The grid's text boxes, ``cells[i][j]`` for kernel entry ``(i, j)``."""
        k = self.size_dropdown.value
        return [self._cells[i * k : (i + 1) * k] for i in range(k)]

    # ----------------------------------------------------------------- headless API
    def set_kernel(self, kernel: object) -> None:
        """Show a preset by name (at the current size if it has sizes), or a square
        ``(k, k)`` tensor, array or nested list (1 <= k <= 7) as ``'custom'``."""
        if isinstance(kernel, str):
            self._check_preset(kernel)
            self._load(preset_kernel(kernel, self.size_dropdown.value), kernel)
            return
        K = as_kernel(kernel)
        if not np.isfinite(self._correlator.correlate(K)).all():
            raise ValueError(f"kernel makes the output overflow float32: {_OVERFLOW}")
        self._load(K, CUSTOM)

    def set_cell(self, i: int, j: int, value: object) -> None:
        """Type ``value`` (a number or text) into cell ``(i, j)``, as a reader would."""
        k = self.size_dropdown.value
        i, j = _check_index(i, "i", k), _check_index(j, "j", k)
        if not isinstance(value, str):
            try:
                value = repr(float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                value = str(value)
        self._cells[i * k + j].value = value

    def set_size(self, size: int) -> None:
        """Change the kernel size (1 to 7), as the size dropdown does."""
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"size must be an int, got {size!r}")
        if size not in SIZES:
            raise ValueError(f"size must be in 1..7, got {size}")
        self.size_dropdown.value = int(size)

    def set_image(self, name: str) -> None:
        """Switch to a bundled photo by name (or ``'custom'`` for the image passed in)."""
        if name not in self.image_dropdown.options:
            raise ValueError(
                f"image must be one of {', '.join(self.image_dropdown.options)}, got {name!r}"
            )
        self.image_dropdown.value = name

    def set_options(self, *, absolute: bool | None = None, mode: str | None = None) -> None:
        """Display options: ``absolute`` value first, then ``mode`` 'clip' or 'normalize'."""
        if absolute is not None and not isinstance(absolute, bool):
            raise TypeError(f"absolute must be True or False, got {absolute!r}")
        if mode is not None and mode not in ("clip", "normalize"):
            raise ValueError(f"mode must be 'clip' or 'normalize', got {mode!r}")
        if absolute is not None:
            self.absolute_checkbox.value = absolute
        if mode is not None:
            self.range_toggle.value = mode

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        k = self.size
        h, w = self._image.shape[-2:]
        source = self.image_dropdown.value
        return f"KernelEditor(kernel={k}x{k} {self.preset!r}, image={source!r} {h}x{w})"

    @property
    def png(self) -> bytes:
        """A still of what the widget shows: input | kernel | output, side by side, as PNG
        (see :func:`~convbook.widgets.kernel_editor_drawing.still`)."""
        picture = still(self._image, self.kernel, self.shown)
        return png_bytes(picture, compress_level=9)  # made once per display: make it small

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _check_preset(name: str) -> None:
        if name not in kernels.PRESETS:
            raise ValueError(f"kernel must be one of {', '.join(kernels.PRESETS)}, got {name!r}")

    def _load(self, K: torch.Tensor, preset: str) -> None:
        """Make ``K`` the kernel: set the dropdowns, write it into the grid, redraw."""
        self._busy = True
        try:
            self.preset_dropdown.value = preset
            self.size_dropdown.value = K.shape[0]
            self._fill_grid(K)
        finally:
            self._busy = False
        self._apply(K)

    def _fill_grid(self, K: torch.Tensor) -> None:
        """Write ``K`` into the grid's cells, reusing the text boxes there are (closing
        the ones a smaller kernel does not need), so that no widget is left behind."""
        k = K.shape[0]
        while len(self._cells) < k * k:
            cell = widgets.Text(
                continuous_update=True, layout=self._cell_layout, style=self._cell_style
            )
            cell.observe(self._on_cell, names="value")
            self._cells.append(cell)
        for cell in self._cells[k * k :]:
            cell.close()
        del self._cells[k * k :]
        for cell, value in zip(self._cells, K.flatten().tolist()):
            cell.value = fmt(value)
        self.grid.layout.grid_template_columns = f"repeat({k}, 60px)"
        self.grid.children = tuple(self._cells)

    def _set_image(self, name: str) -> None:
        if name == CUSTOM:
            image = self._custom_image
        else:
            if name not in self._photos:
                self._photos[name] = photo(name, gray=True)
            image = self._photos[name]
        self._image = image
        self._correlator = Correlator(image)
        # made once per image, not per edit: worth the better compression
        self.input_view.value = png_bytes(image, compress_level=6)

    def _apply(self, K: torch.Tensor) -> bool:
        """Make ``K`` the kernel and show its output; if the output cannot be shown, show
        why instead and keep the last good state.  Returns whether ``K`` was applied."""
        output = self._correlator.correlate(K)
        if not np.isfinite(output).all():
            self._show_error(f"the output overflows float32: {_OVERFLOW}")
            return False
        shown = self._display(output)
        self.output_view.value = png_bytes(shown)
        self.kernel_view.value = png_bytes(kernel_picture(K), scale=CELL_PX)
        self.kernel = K
        self.output, self.shown = torch.from_numpy(output), torch.from_numpy(shown)
        self._show_error(None)
        return True

    def _display(self, output: np.ndarray) -> np.ndarray:
        """``output`` as shown, with the current display options."""
        return display(output, self.absolute_checkbox.value, self.range_toggle.value)

    # ----------------------------------------------------------------- observers
    @callback
    def _on_cell(self, change: dict) -> None:
        if self._busy:
            return
        k = self.size_dropdown.value
        texts = [cell.value for cell in self._cells]
        values = [parse(text) for text in texts]
        bad = [t for t, value in enumerate(values) if value is None]
        if bad:
            i, j = divmod(bad[0], k)
            self._show_error(
                f"cell ({i}, {j}) must be a finite number, at most {FLOAT32_MAX:.3g} in size "
                f"(float32), got {texts[bad[0]]!r}"
            )
            return
        if self._apply(torch.tensor(values, dtype=torch.float32).reshape(k, k)):
            self._busy = True
            try:
                self.preset_dropdown.value = CUSTOM
            finally:
                self._busy = False

    @callback
    def _on_preset(self, change: dict) -> None:
        if self._busy or change["new"] == CUSTOM:
            return
        self._load(preset_kernel(change["new"], self.size_dropdown.value), change["new"])

    @callback
    def _on_size(self, change: dict) -> None:
        if self._busy:
            return
        size, name = change["new"], self.preset_dropdown.value
        if name in kernels.RESIZABLE:
            self._load(preset_kernel(name, size), name)
            return
        self._load(recentred(self.kernel, size), CUSTOM)

    @callback
    def _on_image(self, change: dict) -> None:
        self._set_image(change["new"])
        self._apply(self.kernel)

    @callback
    def _on_option(self, change: dict) -> None:
        self._apply(self.kernel)
