"""An editable kernel: change a number and watch the feature map change.

Input, kernel and output are shown side by side as PNG images (``ipywidgets.Image``),
re-encoded on every edit; the Python side of one update of a 512x512 photo takes a few
milliseconds (``benchmarks/editor_latency.py``).  Works headless: ``set_cell`` and
``set_kernel`` drive the same code path as typing into the grid.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image

from convbook import kernels
from convbook.images import PHOTOS, photo
from convbook.ops import conv2d
from convbook.widgets._png import png_bytes, to_uint8

CUSTOM = "custom"
_SIZES = tuple(range(1, 8))
_CELL_PX = 16  # kernel preview: pixels per kernel cell
_STILL_GAP = 12  # still picture: white pixels between input, kernel and output
_FRAME_GREY = 160  # still picture: the frame around the kernel
_STILL_MAX = 320  # still picture: largest side of input and output, in pixels
# Largest cached stack of basis responses (k*k*C*H*W floats, 128 MB); beyond it every
# edit calls conv2d directly.
_MAX_STACK = 2**25


def _as_image(image: object) -> torch.Tensor:
    """Return ``image`` as a float ``(H, W)`` or ``(3, H, W)`` tensor.

    Accepts tensors or arrays shaped ``(H, W)``, ``(C, H, W)`` or ``(H, W, C)`` with
    ``C`` 1, 3 or 4 (alpha is dropped); uint8 values are scaled to [0, 1].
    """
    if not isinstance(image, (torch.Tensor, np.ndarray)):
        raise TypeError(f"image must be a torch.Tensor or numpy array, got {type(image).__name__}")
    t = torch.as_tensor(np.asarray(image)) if isinstance(image, np.ndarray) else image.detach()
    if t.dim() not in (2, 3):
        raise ValueError(
            f"image must be 2D (H, W) or 3D (C, H, W) / (H, W, C), got {tuple(t.shape)}"
        )
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    if t.dim() == 3:
        if t.shape[0] not in (1, 3, 4) and t.shape[-1] in (1, 3, 4):
            t = t.permute(2, 0, 1)
        if t.shape[0] not in (1, 3, 4):
            raise ValueError(f"image must have 1, 3 or 4 channels, got shape {tuple(t.shape)}")
        t = t[0] if t.shape[0] == 1 else t[:3]
    if t.shape[-1] < 1 or t.shape[-2] < 1:
        raise ValueError(f"image must not be empty, got shape {tuple(t.shape)}")
    return t.contiguous()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the previous setting.

    One edit touches a few 512x512 arrays: too little work for threads to pay off, and on
    a busy machine threads waiting for a free core made updates 10x slower.
    """
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _parse(text: str) -> float | None:
    """The number in ``text``, or None if it is not a finite number."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


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


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class KernelEditor:
    """Edit a kernel in a grid and see the image cross-correlated with it.

    Args:
        image: ``(H, W)`` or colour ``(3, H, W)`` / ``(H, W, 3)`` tensor or array; default
            the bundled ``'camera'`` photo. Colour images are filtered channel by channel.
        kernel: a preset name from :data:`convbook.kernels.PRESETS`, or a square
            ``(k, k)`` tensor/array with ``1 <= k <= 7``; default ``'identity'``.

    Attributes:
        kernel: the current ``(k, k)`` kernel.
        output: the raw result, same shape as the image (``'same'`` padding with zeros).
        shown: what is displayed: ``output`` after the display options, in [0, 1].
        message: '' or the reason the last edit was not applied.
    """

    def __init__(
        self, image: torch.Tensor | np.ndarray | None = None, kernel: object = "identity"
    ) -> None:
        self._photos: dict[str, torch.Tensor] = {}
        self._custom_image = None if image is None else _as_image(image)
        self._busy = False  # True while the code itself rewrites the grid
        self.message = ""
        self.output = torch.empty(0)
        self.shown = torch.empty(0)

        names = [*kernels.PRESETS, CUSTOM]
        self._preset = widgets.Dropdown(options=names, value="identity", description="kernel")
        self._size = widgets.Dropdown(options=_SIZES, value=3, description="size")
        sources = ([CUSTOM] if self._custom_image is not None else []) + list(PHOTOS)
        self._source = widgets.Dropdown(options=sources, value=sources[0], description="image")
        self._abs = widgets.Checkbox(value=False, description="absolute value")
        self._range = widgets.ToggleButtons(
            options=[("clip to [0, 1]", "clip"), ("normalize to [0, 1]", "normalize")],
            value="clip",
        )
        self._grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        self._cells: list[list[widgets.Text]] = []
        self._in_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))
        self._k_view = widgets.Image(format="png", layout=widgets.Layout(width="112px"))
        self._out_view = widgets.Image(format="png", layout=widgets.Layout(max_width="320px"))
        self._msg_view = widgets.HTML("")

        self._set_image(self._source.value)
        self.kernel = torch.zeros(0, 0)
        self.set_kernel(kernel)
        if self.message:  # a bad kernel argument: start from the identity, keep the message
            message = self.message
            self._choose_preset("identity", 3)
            self._fail(message)

        self._preset.observe(self._on_preset, names="value")
        self._size.observe(self._on_size, names="value")
        self._source.observe(self._on_source, names="value")
        self._abs.observe(self._on_option, names="value")
        self._range.observe(self._on_option, names="value")

        def column(title: str, view: widgets.Widget) -> widgets.VBox:
            return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), view])

        self.widget = widgets.VBox(
            [
                widgets.HBox([self._preset, self._size, self._source]),
                widgets.HBox([self._abs, self._range]),
                widgets.HBox(
                    [
                        column("input", self._in_view),
                        column("kernel", widgets.VBox([self._grid, self._k_view])),
                        column("output", self._out_view),
                    ]
                ),
                self._msg_view,
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.widget.add_class("convbook-kernel-editor")
        self._grid.add_class("convbook-kernel-grid")
        self._in_view.add_class("convbook-input")
        self._out_view.add_class("convbook-output")

    # ----------------------------------------------------------------- public API
    @property
    def image(self) -> torch.Tensor:
        """The current input image, ``(H, W)`` or ``(3, H, W)``, values in [0, 1]."""
        return self._image

    @property
    def preset(self) -> str:
        """Name of the current preset, or ``'custom'``."""
        return self._preset.value

    def set_kernel(self, kernel: object) -> None:
        """Show a preset by name, or a square ``(k, k)`` kernel (1 <= k <= 7) as 'custom'.

        Bad kernels are reported in the widget's message, never raised.
        """
        if isinstance(kernel, str):
            if kernel not in kernels.PRESETS:
                self._fail(f"unknown kernel {kernel!r}; choose one of {', '.join(kernels.PRESETS)}")
                return
            self._choose_preset(kernel, self._size.value)
            return
        try:
            K = torch.as_tensor(np.asarray(kernel, dtype=np.float64)).float()
        except (TypeError, ValueError):
            self._fail(f"kernel must be numbers, got {kernel!r}")
            return
        if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] not in _SIZES:
            self._fail(f"kernel must be square, 1x1 to 7x7, got shape {tuple(K.shape)}")
            return
        if not torch.isfinite(K).all():
            self._fail("kernel values must be finite numbers (no NaN or inf)")
            return
        self._load(K, CUSTOM)

    def set_cell(self, i: int, j: int, value: object) -> None:
        """Type ``value`` (a number or text) into cell ``(i, j)``, as a reader would."""
        k = len(self._cells)
        if not (0 <= i < k and 0 <= j < k):
            self._fail(f"cell ({i}, {j}) is outside the {k}x{k} kernel")
            return
        if not isinstance(value, str):
            try:
                value = repr(float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                value = str(value)
        self._cells[i][j].value = value

    def set_size(self, size: int) -> None:
        """Change the kernel size (1 to 7), as the size dropdown does."""
        if size not in _SIZES:
            self._fail(f"size must be one of {_SIZES}, got {size!r}")
            return
        self._size.value = size

    def set_image(self, name: str) -> None:
        """Switch to a bundled photo by name (or 'custom' for the image passed in)."""
        if name not in self._source.options:
            self._fail(f"image must be one of {', '.join(self._source.options)}, got {name!r}")
            return
        self._source.value = name

    def set_options(self, *, absolute: bool | None = None, mode: str | None = None) -> None:
        """Display options: ``absolute`` value first, then ``mode`` 'clip' or 'normalize'."""
        if mode is not None and mode not in ("clip", "normalize"):
            self._fail(f"mode must be 'clip' or 'normalize', got {mode!r}")
            return
        if absolute is not None:
            self._abs.value = bool(absolute)
        if mode is not None:
            self._range.value = mode

    def __repr__(self) -> str:
        k = self.kernel.shape[0]
        h, w = self._image.shape[-2:]
        return f"KernelEditor(kernel={k}x{k} {self.preset!r}, image={self._source.value!r} {h}x{w})"

    @property
    def png(self) -> bytes:
        """A still of what the widget shows: input | kernel | output, side by side, as PNG.

        The three pictures are top-aligned on a white canvas, ``_STILL_GAP`` pixels apart;
        the kernel is its preview (``_CELL_PX`` pixels per cell, red positive, blue negative)
        in a 1-pixel grey frame, so that white (zero) cells show on the white canvas.  Input
        and output are shrunk to at most ``_STILL_MAX`` pixels a side, the size the widget
        shows them at, which keeps notebooks small.
        """
        kernel = self._kernel_picture(self.kernel).repeat(_CELL_PX, 0).repeat(_CELL_PX, 1)
        framed = np.pad(kernel, ((1, 1), (1, 1), (0, 0)), constant_values=_FRAME_GREY)
        pieces = [_fit(_rgb(to_uint8(self._image))), framed, _fit(_rgb(to_uint8(self.shown)))]
        height = max(p.shape[0] for p in pieces)
        width = sum(p.shape[1] for p in pieces) + _STILL_GAP * (len(pieces) - 1)
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        x = 0
        for piece in pieces:
            canvas[: piece.shape[0], x : x + piece.shape[1]] = piece
            x += piece.shape[1] + _STILL_GAP
        return png_bytes(canvas)

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        # The still (image/png) is for viewers without widget JavaScript (static HTML,
        # GitHub); JupyterLab prefers the widget view.
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = repr(self)
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    # ----------------------------------------------------------------- internals
    def _choose_preset(self, name: str, size: int) -> None:
        builder = kernels.RESIZABLE.get(name)
        K = builder(size) if builder is not None else kernels.PRESETS[name]
        self._load(K, name)

    def _load(self, K: torch.Tensor, preset: str) -> None:
        """Make ``K`` the kernel: rebuild the grid, set the dropdowns, redraw."""
        self._busy = True
        try:
            self._preset.value = preset
            self._size.value = K.shape[0]
            self._build_grid(K)
        finally:
            self._busy = False
        self.kernel = K.clone()
        self._redraw()

    def _build_grid(self, K: torch.Tensor) -> None:
        k = K.shape[0]
        self._cells = [
            [
                widgets.Text(
                    value=_fmt(float(K[i, j])),
                    continuous_update=True,
                    layout=widgets.Layout(width="58px"),
                )
                for j in range(k)
            ]
            for i in range(k)
        ]
        for row in self._cells:
            for cell in row:
                cell.observe(self._on_cell, names="value")
        self._grid.layout.grid_template_columns = f"repeat({k}, 60px)"
        self._grid.children = [cell for row in self._cells for cell in row]

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
        self._stack = torch.empty(0)
        self._in_view.value = png_bytes(image)

    def _fail(self, text: str) -> None:
        self.message = text
        self._msg_view.value = (
            f'<span style="color:#b42318">⚠ {text}; showing the last good output</span>'
        )

    def _redraw(self) -> None:
        """Recompute the output for the current kernel, image and options."""
        with _one_thread():
            self._redraw_now()

    def _redraw_now(self) -> None:
        try:
            K = self.kernel
            k = K.shape[0]
            if k * k * self._image.numel() <= _MAX_STACK:
                out = K.reshape(1, -1) @ self._shifted(k)  # (1, C*H*W)
            else:
                with torch.no_grad():
                    out = conv2d(self._batch, K.reshape(1, 1, k, k), padding="same")
            output = out.reshape(self._image.shape)
            shown = self._display(output)
            self._out_view.value = png_bytes(shown)
            self._k_view.value = png_bytes(self._kernel_picture(K), scale=_CELL_PX)
        except Exception as error:  # never raise into the notebook
            self._fail(f"could not update: {error}")
            return
        self.output, self.shown = output, shown
        self.message = ""
        self._msg_view.value = ""

    def _shifted(self, k: int) -> torch.Tensor:
        """``(k*k, C*H*W)``: the image correlated with each one-hot ``(k, k)`` kernel.

        Cross-correlation is linear in the kernel, so ``K.flatten() @ _shifted(k)`` equals
        ``conv2d(image, K, padding='same')``.  Computing the ``k*k`` basis responses once
        per image and size (with :func:`convbook.ops.conv2d`) turns every later edit into
        one small matrix product, which keeps an update of a 512x512 photo to a few ms.
        """
        if self._stack_key != k:
            basis = torch.eye(k * k).reshape(k * k, 1, k, k)
            with torch.no_grad():
                stack = conv2d(self._batch, basis, padding="same")  # (C, k*k, H, W)
            self._stack = stack.transpose(0, 1).reshape(k * k, -1).contiguous()
            self._stack_key = k
        return self._stack

    def _display(self, output: torch.Tensor) -> torch.Tensor:
        shown = output.abs() if self._abs.value else output
        if self._range.value == "normalize":
            lo, hi = shown.min(), shown.max()
            span = hi - lo
            return (shown - lo) / span if span > 0 else torch.zeros_like(shown)
        return shown.clamp(0.0, 1.0)

    @staticmethod
    def _kernel_picture(K: torch.Tensor) -> np.ndarray:
        """Kernel as RGB: positive weights red, negative blue, white at zero."""
        m = float(K.abs().max())
        v = (K / m).numpy() if m > 0 else np.zeros(K.shape, dtype=np.float32)
        pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
        rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
        return (rgb * 255).round().astype(np.uint8)

    # ----------------------------------------------------------------- observers
    def _on_cell(self, change: dict) -> None:
        if self._busy:
            return
        k = len(self._cells)
        values = [[_parse(cell.value) for cell in row] for row in self._cells]
        bad = [(i, j) for i in range(k) for j in range(k) if values[i][j] is None]
        if bad:
            i, j = bad[0]
            self._fail(f"cell ({i}, {j}) must be a finite number, got {self._cells[i][j].value!r}")
            return
        self.kernel = torch.tensor(values, dtype=torch.float32)
        if self._preset.value != CUSTOM:
            self._busy = True
            try:
                self._preset.value = CUSTOM
            finally:
                self._busy = False
        self._redraw()

    def _on_preset(self, change: dict) -> None:
        if self._busy or change["new"] == CUSTOM:
            return
        self._choose_preset(change["new"], self._size.value)

    def _on_size(self, change: dict) -> None:
        if self._busy:
            return
        size, name = change["new"], self._preset.value
        if name in kernels.RESIZABLE:
            self._choose_preset(name, size)
            return
        # Keep the old kernel centred in the new one (cropped or padded with zeros).
        old = self.kernel
        K = torch.zeros(size, size)
        k = old.shape[0]
        n = min(k, size)
        a, b = (k - n) // 2, (size - n) // 2
        K[b : b + n, b : b + n] = old[a : a + n, a : a + n]
        self._load(K, CUSTOM)

    def _on_source(self, change: dict) -> None:
        try:
            self._set_image(change["new"])
        except Exception as error:  # never raise into the notebook
            self._fail(f"could not load image {change['new']!r}: {error}")
            return
        self._redraw()

    def _on_option(self, change: dict) -> None:
        self._redraw()
