"""``KernelEditor``: edit a kernel in a grid and watch the feature map change.

Input, kernel and output are shown side by side as PNG images (``ipywidgets.Image``),
re-encoded on every edit; the Python side of one update of a 512x512 photo takes a few
milliseconds (``benchmarks/editor_latency.py``).  An edit runs on one thread, in numpy:
torch's thread pool, on a machine whose cores are busy, made updates ten times slower,
and changing its size is not a widget's business (it is process-wide).  The editor
follows the pattern of :mod:`convbook.widgets.base`:

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

import math
import numbers

import ipywidgets as widgets
import numpy as np
import torch
from ipywidgets.widgets.widget_string import TextStyle  # not exported at the top level
from PIL import Image

from convbook import kernels
from convbook.images import PHOTOS, as_image, photo
from convbook.ops import conv2d
from convbook.widgets._png import png_bytes, to_uint8
from convbook.widgets.base import BookWidget, callback

CUSTOM = "custom"
SIZES = range(1, 8)
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)
_OVERFLOW = "use smaller kernel values"
_CELL_PX = 16  # kernel preview: pixels per kernel cell
_STILL_GAP = 12  # still picture: white pixels between input, kernel and output
_FRAME_GREY = 160  # still picture: the frame around the kernel
_STILL_MAX = 320  # still picture: largest side of input and output, in pixels
# Largest cached stack of basis responses (k*k*C*H*W floats, 128 MB); beyond it every
# edit calls conv2d directly.
_MAX_STACK = 2**25


def _parse(text: str) -> float | None:
    """The number in ``text``, or None unless it is a finite number that fits float32."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= _FLOAT32_MAX else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _check_index(value: object, name: str, size: int) -> int:
    """``value`` as an int in ``0 .. size - 1``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not 0 <= value < size:
        raise ValueError(
            f"{name} must be in 0..{size - 1} for the {size}x{size} kernel, got {value}"
        )
    return int(value)


def _as_kernel(kernel: object) -> torch.Tensor:
    """A kernel given as a tensor (a learned ``nn.Parameter`` too), array or nested list,
    checked and returned as a float32 ``(k, k)`` tensor."""
    if isinstance(kernel, torch.Tensor):
        if kernel.is_complex():
            raise TypeError(f"kernel must hold real numbers, got dtype {kernel.dtype}")
        K = kernel.detach().cpu().double()
    else:
        try:
            K = torch.from_numpy(np.asarray(kernel, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(
                f"kernel must be a preset name or a square tensor or array of numbers, "
                f"got {kernel!r}"
            ) from None
    if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] not in SIZES:
        raise ValueError(f"kernel must be square, 1x1 to 7x7, got shape {tuple(K.shape)}")
    if not torch.isfinite(K).all() or K.abs().max() > _FLOAT32_MAX:
        raise ValueError(
            f"kernel values must be finite numbers that fit float32 (|x| <= {_FLOAT32_MAX:.3g}; "
            "no NaN or inf)"
        )
    return K.float()


def _rgb(array: np.ndarray) -> np.ndarray:
    """A uint8 ``(H, W)`` or ``(H, W, 3)`` array as ``(H, W, 3)``."""
    return np.repeat(array[..., None], 3, axis=-1) if array.ndim == 2 else array


def _fit(array: np.ndarray) -> np.ndarray:
    """Shrink a uint8 ``(H, W, 3)`` picture to at most ``_STILL_MAX`` pixels a side."""
    h, w = array.shape[:2]
    if max(h, w) <= _STILL_MAX:
        return array
    size = (max(1, round(w * _STILL_MAX / max(h, w))), max(1, round(h * _STILL_MAX / max(h, w))))
    return np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))


def _kernel_picture(K: torch.Tensor) -> np.ndarray:
    """Kernel as RGB: positive weights red, negative blue, white at zero."""
    m = float(K.abs().max())
    v = (K / m).numpy() if m > 0 else np.zeros(K.shape, dtype=np.float32)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    return (rgb * 255).round().astype(np.uint8)


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
            K, preset = _as_kernel(kernel), CUSTOM
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
            self._load(self._preset_kernel(kernel, self.size_dropdown.value), kernel)
            return
        K = _as_kernel(kernel)
        if not np.isfinite(self._correlate(K)).all():
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
        """A still of what the widget shows: input | kernel | output, side by side, as PNG.

        The three pictures are top-aligned on a white canvas, ``_STILL_GAP`` pixels apart;
        the kernel is its preview (``_CELL_PX`` pixels per cell, red positive, blue negative)
        in a 1-pixel grey frame, so that white (zero) cells show on the white canvas.  Input
        and output are shrunk to at most ``_STILL_MAX`` pixels a side, the size the widget
        shows them at, which keeps notebooks small.
        """
        kernel = _kernel_picture(self.kernel).repeat(_CELL_PX, 0).repeat(_CELL_PX, 1)
        framed = np.pad(kernel, ((1, 1), (1, 1), (0, 0)), constant_values=_FRAME_GREY)
        pieces = [_fit(_rgb(to_uint8(self._image))), framed, _fit(_rgb(to_uint8(self.shown)))]
        height = max(p.shape[0] for p in pieces)
        width = sum(p.shape[1] for p in pieces) + _STILL_GAP * (len(pieces) - 1)
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        x = 0
        for piece in pieces:
            canvas[: piece.shape[0], x : x + piece.shape[1]] = piece
            x += piece.shape[1] + _STILL_GAP
        return png_bytes(canvas, compress_level=9)  # made once per display: make it small

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _check_preset(name: str) -> None:
        if name not in kernels.PRESETS:
            raise ValueError(f"kernel must be one of {', '.join(kernels.PRESETS)}, got {name!r}")

    @staticmethod
    def _preset_kernel(name: str, size: int) -> torch.Tensor:
        builder = kernels.RESIZABLE.get(name)
        return builder(size) if builder is not None else kernels.PRESETS[name]

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
            cell.value = _fmt(value)
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
        # (C, 1, H, W): each channel is filtered as its own one-channel image.
        self._batch = image.reshape(-1, 1, *image.shape[-2:])
        self._stack_key: int | None = None  # kernel size the cached _stack was made for
        self._stack = np.empty(0, dtype=np.float32)
        # made once per image, not per edit: worth the better compression
        self.input_view.value = png_bytes(image, compress_level=6)

    def _apply(self, K: torch.Tensor) -> bool:
        """Make ``K`` the kernel and show its output; if the output cannot be shown, show
        why instead and keep the last good state.  Returns whether ``K`` was applied."""
        output = self._correlate(K)
        if not np.isfinite(output).all():
            self._show_error(f"the output overflows float32: {_OVERFLOW}")
            return False
        shown = self._display(output)
        self.output_view.value = png_bytes(shown)
        self.kernel_view.value = png_bytes(_kernel_picture(K), scale=_CELL_PX)
        self.kernel = K
        self.output, self.shown = torch.from_numpy(output), torch.from_numpy(shown)
        self._show_error(None)
        return True

    def _correlate(self, K: torch.Tensor) -> np.ndarray:
        """The image cross-correlated with ``K`` (``'same'`` zero padding), channel by
        channel, shaped like the image (float32)."""
        k = K.shape[0]
        if k * k * self._image.numel() <= _MAX_STACK:
            # sum over the k*k taps of weight times basis response: numpy's own loop
            out = np.einsum("t,tn->n", K.numpy().ravel(), self._shifted(k))
        else:
            with torch.no_grad():
                out = conv2d(self._batch, K.reshape(1, 1, k, k), padding="same").numpy()
        return out.reshape(self._image.shape)

    def _shifted(self, k: int) -> np.ndarray:
        """``(k*k, C*H*W)``: the image correlated with each one-hot ``(k, k)`` kernel.

        Cross-correlation is linear in the kernel, so ``K.flatten() @ _shifted(k)`` equals
        ``conv2d(image, K, padding='same')``.  Computing the ``k*k`` basis responses once
        per image and size (with :func:`convbook.ops.conv2d`) turns every later edit into
        one weighted sum, which keeps an update of a 512x512 photo to a few ms.
        """
        if self._stack_key != k:
            basis = torch.eye(k * k).reshape(k * k, 1, k, k)
            with torch.no_grad():
                stack = conv2d(self._batch, basis, padding="same")  # (C, k*k, H, W)
            self._stack = stack.transpose(0, 1).reshape(k * k, -1).contiguous().numpy()
            self._stack_key = k
        return self._stack

    def _display(self, output: np.ndarray) -> np.ndarray:
        """``output`` as shown: absolute value or not, clipped or normalized to [0, 1]."""
        shown = np.abs(output) if self.absolute_checkbox.value else output
        if self.range_toggle.value == "normalize":
            wide = shown.astype(np.float64)  # hi - lo may overflow float32
            lo, hi = wide.min(), wide.max()
            if hi > lo:
                return ((wide - lo) / (hi - lo)).astype(np.float32)
            return np.zeros_like(shown)
        return np.clip(shown, 0.0, 1.0)

    # ----------------------------------------------------------------- observers
    @callback
    def _on_cell(self, change: dict) -> None:
        if self._busy:
            return
        k = self.size_dropdown.value
        texts = [cell.value for cell in self._cells]
        values = [_parse(text) for text in texts]
        bad = [t for t, value in enumerate(values) if value is None]
        if bad:
            i, j = divmod(bad[0], k)
            self._show_error(
                f"cell ({i}, {j}) must be a finite number, at most {_FLOAT32_MAX:.3g} in size "
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
        self._load(self._preset_kernel(change["new"], self.size_dropdown.value), change["new"])

    @callback
    def _on_size(self, change: dict) -> None:
        if self._busy:
            return
        size, name = change["new"], self.preset_dropdown.value
        if name in kernels.RESIZABLE:
            self._load(self._preset_kernel(name, size), name)
            return
        # Keep the old kernel centred in the new one (cropped or padded with zeros).
        old = self.kernel
        K = torch.zeros(size, size)
        k = old.shape[0]
        n = min(k, size)
        a, b = (k - n) // 2, (size - n) // 2
        K[b : b + n, b : b + n] = old[a : a + n, a : a + n]
        self._load(K, CUSTOM)

    @callback
    def _on_image(self, change: dict) -> None:
        self._set_image(change["new"])
        self._apply(self.kernel)

    @callback
    def _on_option(self, change: dict) -> None:
        self._apply(self.kernel)
