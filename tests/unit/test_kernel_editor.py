"""The kernel editor, driven headless: every edit must match F.conv2d, bad input never raises."""

from __future__ import annotations

import base64
import dataclasses
import io

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from renders import count_calls

from convbook import kernels
from convbook.widgets import KernelEditor


def _same(image: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """torch's 'same' cross-correlation of an (H, W) or (C, H, W) image, channel by channel."""
    batch = image.reshape(-1, 1, *image.shape[-2:]).double()
    return F.conv2d(batch, K[None, None].double(), padding="same").reshape(image.shape).float()


@pytest.fixture
def small():
    torch.manual_seed(1)
    return KernelEditor(image=torch.rand(12, 17), kernel="sobel_x")


def test_default_is_identity_on_the_camera_photo():
    e = KernelEditor()
    assert repr(e) == "KernelEditor(kernel=3x3 'identity', image='camera' 512x512)"
    assert e.image.shape == (512, 512)
    torch.testing.assert_close(e.output, e.image)


def test_editing_a_cell_updates_output_and_switches_to_custom():
    e = KernelEditor(kernel="sobel_x")
    before = e.output.clone()
    e.set_cell(0, 0, -3.0)
    K = kernels.sobel_x()
    K[0, 0] = -3.0
    assert e.preset == "custom"
    assert torch.equal(e.kernel, K)
    assert not torch.allclose(e.output, before)
    torch.testing.assert_close(e.output, _same(e.image, K), atol=1e-5, rtol=1e-5)
    assert e.error is None


def test_typing_text_into_a_cell_is_parsed(small):
    small.set_cell(2, 1, " 0.25 ")
    assert float(small.kernel[2, 1]) == 0.25
    torch.testing.assert_close(small.output, _same(small.image, small.kernel), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "bad", ["abc", "", "-", "nan", "inf", "-inf", "1e999", float("nan"), None, [1, 2]]
)
def test_bad_cell_keeps_last_good_output_and_shows_message(small, bad):
    good_output, good_kernel = small.output.clone(), small.kernel.clone()
    small.set_cell(1, 2, bad)
    assert torch.equal(small.output, good_output)
    assert torch.equal(small.kernel, good_kernel)
    assert "cell (1, 2) must be a finite number" in small.error
    assert "cell (1, 2)" in small.message.value
    # Fixing the cell clears the message and applies the whole grid.
    small.set_cell(1, 2, "1")
    assert small.error is None and small.message.value == ""
    assert float(small.kernel[1, 2]) == 1.0


@pytest.mark.parametrize("name", list(kernels.PRESETS))
def test_every_preset(small, name):
    small.set(kernel=name)
    assert small.preset == name
    torch.testing.assert_close(small.kernel, kernels.PRESETS[name])
    torch.testing.assert_close(small.output, _same(small.image, kernels.PRESETS[name]),
                               atol=1e-5, rtol=1e-5)


def test_preset_dropdown_drives_the_kernel(small):
    small.preset_dropdown.value = "laplacian"
    torch.testing.assert_close(small.kernel, kernels.laplacian())
    assert [float(c.value) for c in small.cells[1]] == [1.0, -4.0, 1.0]


@pytest.mark.parametrize("size", range(1, 8))
def test_sizes_rebuild_resizable_presets(small, size):
    small.set(kernel="box_blur")
    small.set(size=size)
    assert small.preset == "box_blur" and len(small.cells) == size == small.size
    assert all(len(row) == size for row in small.cells) and len(small.grid.children) == size**2
    torch.testing.assert_close(small.kernel, torch.full((size, size), 1 / size**2))
    torch.testing.assert_close(small.output, _same(small.image, small.kernel), atol=1e-5, rtol=1e-5)


def test_resizing_a_fixed_preset_keeps_it_centred(small):
    small.set(kernel="sobel_y")
    small.set(size=5)
    expected = torch.zeros(5, 5)
    expected[1:4, 1:4] = kernels.sobel_y()
    assert small.preset == "custom"
    assert torch.equal(small.kernel, expected)
    small.set(size=1)
    assert torch.equal(small.kernel, torch.zeros(1, 1))
    assert torch.equal(small.output, torch.zeros_like(small.image))


def test_even_size_kernel_matches_torch_same_padding(small):
    K = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    small.set(kernel=K)
    assert small.preset == "custom" and repr(small).startswith("KernelEditor(kernel=2x2 'custom'")
    torch.testing.assert_close(small.output, _same(small.image, K), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "kernel, error, message",
    [
        ("blurry", ValueError, "kernel must be one of 'identity', 'box_blur', .*, got 'blurry'"),
        (torch.ones(2, 3), ValueError, r"kernel must be square, 1x1 to 7x7, got shape \(2, 3\)"),
        (torch.ones(8, 8), ValueError, r"got shape \(8, 8\)"),
        (torch.tensor([[float("inf")]]), ValueError, "no NaN or inf"),
        (torch.tensor([[1e308]], dtype=torch.float64), ValueError, "fit float32"),
        ([["a"]], TypeError, "kernel must be a preset name or a square tensor or array"),
        (torch.ones(3, 3, dtype=torch.complex64), TypeError, "kernel must hold real numbers"),
    ],
)
def test_bad_kernels_raise_and_change_nothing(small, kernel, error, message):
    good, good_kernel = small.output.clone(), small.kernel.clone()
    with pytest.raises(error, match=message):
        small.set(kernel=kernel)
    assert torch.equal(small.output, good) and torch.equal(small.kernel, good_kernel)
    assert small.preset == "sobel_x" and small.error is None
    with pytest.raises(error, match=message):
        KernelEditor(image=torch.rand(4, 5), kernel=kernel)


def test_a_learned_kernel_can_be_shown(small):
    layer = torch.nn.Conv2d(1, 1, 3, bias=False)
    small.set(kernel=layer.weight[0, 0])  # requires grad
    small.set(kernel=torch.nn.Parameter(torch.tensor([[0.0, 1.0], [-1.0, 0.5]])))
    assert small.preset == "custom" and not small.kernel.requires_grad
    K = torch.tensor([[0.0, 1.0], [-1.0, 0.5]])
    torch.testing.assert_close(small.output, _same(small.image, K), atol=1e-5, rtol=1e-5)


def test_a_kernel_whose_output_overflows_is_refused(small):
    good = small.output.clone()
    with pytest.raises(ValueError, match="kernel makes the output overflow float32"):
        small.set(kernel=torch.full((3, 3), 3e38))
    assert torch.equal(small.output, good)
    small.set_cell(0, 0, 3e38)  # fits float32 on its own ...
    small.set_cell(0, 1, 3e38)  # ... but the sum of the two does not
    assert small.error == "kernel makes the output overflow float32: use smaller kernel values"
    assert torch.isfinite(small.output).all() and float(small.kernel[0, 1]) == 0.0


def test_a_cell_beyond_float32_is_not_accepted(small):
    good_output, good_kernel = small.output.clone(), small.kernel.clone()
    small.set_cell(0, 0, "1e308")  # a finite float64, infinite in float32
    assert small.error.startswith("cell (0, 0) must be a finite number, at most 3.4e+38")
    assert "showing the last good output" in small.message.value
    assert torch.equal(small.kernel, good_kernel) and torch.equal(small.output, good_output)
    small.set_cell(0, 0, 10**400)  # an int too large for a float, typed as text
    assert small.error.startswith("cell (0, 0) must be a finite number")
    assert torch.isfinite(small.kernel).all()


@pytest.mark.parametrize(
    "i, j, error, message",
    [
        ("a", 0, TypeError, "i must be an int, got 'a'"),
        (0, 1.0, TypeError, r"j must be an int, got 1\.0"),
        (True, 0, TypeError, "i must be an int, got True"),
        (3, 0, ValueError, r"i must be in 0\.\.2 for the 3x3 kernel, got 3"),
        (0, -1, ValueError, r"j must be in 0\.\.2 for the 3x3 kernel, got -1"),
    ],
)
def test_cell_indices_are_checked(small, i, j, error, message):
    with pytest.raises(error, match=message):
        small.set_cell(i, j, 1.0)
    assert small.error is None and small.preset == "sobel_x"
    small.set_cell(np.int64(2), np.int64(2), 7.0)  # numpy ints are ints
    assert float(small.kernel[2, 2]) == 7.0


@pytest.mark.parametrize(
    "size, error, message",
    [
        (3.0, TypeError, r"size must be an int, got 3\.0"),
        (True, TypeError, "size must be an int, got True"),
        ("3", TypeError, "size must be an int, got '3'"),
        (0, ValueError, r"size must be in 1\.\.7, got 0"),
        (8, ValueError, r"size must be in 1\.\.7, got 8"),
    ],
)
def test_sizes_are_checked(small, size, error, message):
    with pytest.raises(error, match=message):
        small.set(size=size)
    assert small.size == 3 and small.size_dropdown.value == 3


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(absolute="no"), TypeError, "absolute must be True or False, got 'no'"),
        (dict(absolute=1), TypeError, "absolute must be True or False, got 1"),
        (dict(absolute=True, mode="stretch"), ValueError,
         "mode must be one of 'clip', 'normalize', got 'stretch'"),
    ],
)
def test_options_are_checked_before_any_is_applied(small, options, error, message):
    shown = small.shown.clone()
    with pytest.raises(error, match=message):
        small.set(**options)
    assert small.absolute_checkbox.value is False and small.range_toggle.value == "clip"
    assert torch.equal(small.shown, shown)


def test_display_options(small):
    small.set(kernel="sobel_x")
    raw = small.output
    assert raw.min() < 0 < raw.max()  # a signed edge map
    torch.testing.assert_close(small.shown, raw.clamp(0, 1))
    small.set(absolute=True)
    torch.testing.assert_close(small.shown, raw.abs().clamp(0, 1))
    small.set(mode="normalize")
    a = raw.abs()
    torch.testing.assert_close(small.shown, (a - a.min()) / (a.max() - a.min()))
    small.set(absolute=False)
    torch.testing.assert_close(small.shown, (raw - raw.min()) / (raw.max() - raw.min()))
    assert torch.equal(small.output, raw)  # options change the display only


def test_normalize_of_a_constant_output_is_black():
    e = KernelEditor(image=torch.full((5, 5), 0.3), kernel=torch.zeros(3, 3))
    e.set(mode="normalize")
    assert torch.equal(e.shown, torch.zeros(5, 5))


def test_switching_images(small):
    small.set(kernel="gaussian_blur")
    small.set(image="coins")
    assert repr(small) == "KernelEditor(kernel=3x3 'gaussian_blur', image='coins' 303x384)"
    torch.testing.assert_close(small.output, _same(small.image, small.kernel), atol=1e-5, rtol=1e-5)
    small.set(image="custom")
    assert small.image.shape == (12, 17)
    with pytest.raises(ValueError, match=r"image must be one of 'custom', 'camera', .*'nope'"):
        small.set(image="nope")
    assert small.image.shape == (12, 17)


def test_png_views_are_updated(small):
    before = small.output_view.value
    small.set_cell(1, 1, 4.0)
    assert small.output_view.value != before
    for view in (small.input_view, small.kernel_view, small.output_view):
        assert view.value[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "image, shape",
    [
        (np.random.default_rng(0).random((10, 11, 3)), (3, 10, 11)),  # numpy: (H, W, C)
        (np.random.default_rng(0).random((3, 20, 3)), (3, 3, 20)),  # H = 3 is not C
        (np.random.default_rng(0).random((4, 6, 1)), (4, 6)),  # H = 4, one channel
        (np.random.default_rng(0).integers(0, 256, (9, 8), dtype=np.uint8), (9, 8)),
        (torch.rand(3, 7, 6), (3, 7, 6)),  # torch: (C, H, W)
        (torch.rand(1, 7, 6), (7, 6)),
        (torch.rand(4, 5, 6), (3, 5, 6)),  # RGBA: alpha dropped
    ],
)
def test_images_given_in_various_layouts(image, shape):
    e = KernelEditor(image=image, kernel="emboss")
    assert e.image.shape == shape
    assert float(e.image.max()) <= 1.0
    torch.testing.assert_close(e.output, _same(e.image, kernels.emboss()), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([[0, 255], [51, 102]], dtype=np.uint8), [[0.0, 1.0], [0.2, 0.4]]),
        (np.array([[0, 255], [51, 102]]), [[0.0, 1.0], [0.2, 0.4]]),  # int64, 8-bit values
        (np.array([[0, 65535], [13107, 26214]], dtype=np.uint16), [[0.0, 1.0], [0.2, 0.4]]),
        (torch.tensor([[0, 255], [51, 102]], dtype=torch.int64), [[0.0, 1.0], [0.2, 0.4]]),
    ],
)
def test_integer_images_are_scaled(array, expected):
    e = KernelEditor(image=array)
    torch.testing.assert_close(e.image, torch.tensor(expected))


@pytest.mark.parametrize(
    "image, error, message",
    [
        ([[1, 2]], TypeError, "image must be a torch.Tensor or numpy array, got list"),
        (torch.rand(5), ValueError, r"image must be 2D \(H, W\) or 3D"),
        (torch.rand(5, 6, 7), ValueError, r"image \(C, H, W\) must have 1, 3 or 4 channels"),
        (np.random.rand(3, 6, 7), ValueError, r"image \(H, W, C\) must have 1, 3 or 4 channels"),
        (np.array([[0, 1000]]), ValueError, "image of dtype int64 must hold 8-bit values 0..255"),
    ],
)
def test_bad_image_argument_raises_at_construction(image, error, message):
    with pytest.raises(error, match=message):
        KernelEditor(image=image)


def test_mimebundle_uses_the_short_repr(small):
    bundle = small._repr_mimebundle_()
    assert bundle["text/plain"] == repr(small)
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_large_images_call_conv2d_directly(monkeypatch):
    import convbook.widgets.kernel_editor_state as module

    monkeypatch.setattr(module, "_MAX_STACK", 100)  # so a 3x3 kernel on 6x7 is "large"

    def no_stack(self, k):
        raise AssertionError("a large image must not build the stack of basis responses")

    monkeypatch.setattr(module.Correlator, "_shifted", no_stack)
    torch.manual_seed(2)
    e = KernelEditor(image=torch.rand(3, 6, 7), kernel="sharpen")
    assert e.error is None
    e.set_cell(0, 2, 0.5)
    torch.testing.assert_close(e.output, _same(e.image, e.kernel), atol=1e-5, rtol=1e-5)


def test_numeric_cell_values_of_any_type(small):
    small.set_cell(0, 0, torch.tensor(2.5))
    small.set_cell(0, 1, np.float32(-1.5))
    small.set_cell(0, 2, 3)
    assert small.kernel[0].tolist() == [2.5, -1.5, 3.0]


def test_updates_never_touch_torch_thread_setting(small, monkeypatch):
    previous = torch.get_num_threads()
    calls = []
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(torch, "set_num_threads", calls.append)
        small.set_cell(0, 0, 1.5)
        small.set_cell(0, 0, "oops")
        small.set(kernel="laplacian")
        small.set(absolute=True)
        small.set(size=5)
    finally:
        monkeypatch.undo()
        torch.set_num_threads(previous)
    assert calls == []  # process-wide: a callback has no business changing it


def _open_text_widgets() -> int:
    # ipywidgets' registry of open widgets (model id -> widget): what the kernel holds
    # and what a notebook saves
    from ipywidgets.widgets.widget import _instances

    return sum(isinstance(w, widgets.Text) for w in list(_instances.values()))


def test_preset_and_size_changes_leave_no_widgets_behind():
    from ipywidgets.widgets.widget import _instances

    before_texts, before_all = _open_text_widgets(), len(_instances)
    e = KernelEditor(image=torch.rand(6, 7))
    e.set(kernel=torch.eye(3))
    assert _open_text_widgets() == before_texts + 9  # one text box per cell, no more
    after_start = len(_instances)
    for name in kernels.PRESETS:
        e.set(kernel=name)
    for size in (7, 2, 5, 3):
        e.set(size=size)
    e.preset_dropdown.value = "sharpen"
    e.set(kernel=torch.ones(3, 3))
    assert _open_text_widgets() == before_texts + 9
    assert len(_instances) == after_start  # nor layouts, styles or anything else
    assert before_all < after_start


def test_a_failing_callback_shows_an_error_and_never_raises(small, monkeypatch):
    import convbook.widgets.kernel_editor as module

    def broken(*args):
        raise RuntimeError("display broke")

    before = small.state
    monkeypatch.setattr(module, "display", broken)
    small.absolute_checkbox.value = True  # a reader ticks the box: no exception
    assert small.error == "could not update: RuntimeError: display broke"
    assert "display broke" in small.message.value
    assert small.state == before and small.absolute_checkbox.value is False
    monkeypatch.undo()
    small.set_cell(0, 0, 2.0)  # the next good update clears it
    assert small.error is None and small.message.value == ""


def test_public_parts_and_css_classes(small):
    assert small.children[-1] is small.message
    assert "convbook-kernel-editor" in small._dom_classes
    assert "convbook-kernel-grid" in small.grid._dom_classes
    assert "convbook-input" in small.input_view._dom_classes
    assert "convbook-output" in small.output_view._dom_classes
    assert "convbook-message" in small.message._dom_classes
    assert list(small.grid.children) == [cell for row in small.cells for cell in row]
    assert small.preset_dropdown.value == "sobel_x" and small.image_dropdown.value == "custom"


def _decode(data: str) -> np.ndarray:
    """The base64 PNG of a display bundle, as an (H, W, 3) uint8 array."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_mimebundle_has_a_still_of_input_kernel_and_output():
    # 4x6 input | 3x3 kernel at 16 px a cell (48x48) in a 1 px frame | 4x6 output, 12 px gaps
    X = torch.tensor([[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]] * 4)
    K = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, -1.0]])
    e = KernelEditor(image=X, kernel=K)
    still = _decode(e._repr_mimebundle_()["image/png"])
    assert still.shape == (50, 6 + 12 + 50 + 12 + 6, 3)
    # input, grey, top-left
    expected_in = np.round(X.numpy() * 255).astype(np.uint8)
    assert (still[:4, :6] == expected_in[..., None]).all()
    assert (still[4:, :6] == 255).all()  # white below the short input
    # kernel: weight 2 is the largest: pure red; -1 is half blue; zeros white; grey frame
    frame = still[:, 18:68]
    assert (frame[0] == 160).all() and (frame[-1] == 160).all()
    assert (frame[:, 0] == 160).all() and (frame[:, -1] == 160).all()
    kernel = frame[1:-1, 1:-1]
    assert (kernel[16:32, 16:32] == [255, 0, 0]).all()
    assert (kernel[32:48, 32:48] == [128, 128, 255]).all()
    assert (kernel[:16, :16] == 255).all()
    # output: clip(2 * X[i, j] - X[i + 1, j + 1]) with zero padding, by hand for row 0
    out = still[:4, 80:]
    row0 = np.clip(2 * X[0].numpy() - np.append(X[1, 1:].numpy(), 0.0), 0, 1)
    assert (out[0, :, 0] == np.round(row0 * 255).astype(np.uint8)).all()
    assert (out == out[..., :1]).all()  # grey


def test_large_images_are_shrunk_in_the_still():
    # 400x640 -> 200x320 (largest side 320); a box filter keeps a constant image constant
    e = KernelEditor(image=torch.full((400, 640), 0.6), kernel="identity")
    still = _decode(e._repr_mimebundle_()["image/png"])
    assert still.shape == (200, 320 + 12 + 50 + 12 + 320, 3)
    assert (still[:, :320] == 153).all() and (still[:, -320:] == 153).all()


def test_the_still_follows_edits(small):
    before = small._repr_mimebundle_()["image/png"]
    small.set(kernel="box_blur")
    after = small._repr_mimebundle_()["image/png"]
    assert after != before
    shown = np.round(small.shown.numpy() * 255).astype(np.uint8)
    assert (_decode(after)[:12, -17:, 1] == shown).all()


# --------------------------------------------------------------------------- state as data


def test_settings_are_a_frozen_dataclass(small):
    state = small.state
    assert dataclasses.is_dataclass(state) and state.preset == "sobel_x" and state.size == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.mode = "normalize"
    small.set(kernel="laplacian", size=5, image="coins", absolute=np.bool_(True),
              mode="normalize")
    # laplacian has one size: 5 keeps it centred, as a custom kernel
    assert (small.state.preset, small.state.size, small.state.image, small.state.mode) == (
        "custom", 5, "coins", "normalize")
    assert small.state.absolute is True and state.preset == "sobel_x"  # the old one stays


def _count_renders(monkeypatch) -> list:
    """One entry per render."""
    import convbook.widgets.kernel_editor as module

    return count_calls(monkeypatch, module, "display")


@pytest.mark.parametrize(
    "control, value",
    [("preset_dropdown", "laplacian"), ("size_dropdown", 5), ("image_dropdown", "coins"),
     ("absolute_checkbox", True), ("range_toggle", "normalize")],
)
def test_one_control_change_renders_once(small, monkeypatch, control, value):
    renders = _count_renders(monkeypatch)
    outputs = []
    small.output_view.observe(outputs.append, names="value")
    getattr(small, control).value = value
    assert len(renders) == 1 and len(outputs) <= 1 and small.error is None


def test_typing_renders_once_and_a_size_change_rebuilds_the_grid_once(small, monkeypatch):
    renders = _count_renders(monkeypatch)
    small.cells[1][1].value = "2.5"
    assert len(renders) == 1 and float(small.kernel[1, 1]) == 2.5
    small.cells[1][1].value = "2.50"  # the same number: nothing to redraw
    assert len(renders) == 1 and small.cells[1][1].value == "2.50"
    small.set(size=7)
    assert len(renders) == 2 and len(small.grid.children) == 49


def test_a_bad_value_leaves_state_and_view_unchanged(small):
    state, output = small.state, small.output_view.value
    with pytest.raises(ValueError, match=r"size must be in 1\.\.7, got 8"):
        small.set(mode="normalize", size=8)
    assert small.state is state and small.output_view.value == output
    assert small.range_toggle.value == "clip" and small.size_dropdown.value == 3
    small.cells[0][0].value = "x"  # a reader's bad text: the error shown, the rest kept
    assert small.state is state and small.output_view.value == output
    assert small.error.startswith("cell (0, 0) must be a finite number")


# --------------------------------------------------------------------------- issue 31


def test_a_long_entry_is_quoted_short_in_the_error(small):
    small.set_cell(0, 0, "1" * 400)
    assert small.error.startswith("cell (0, 0) must be a finite number")
    assert "(400 characters)" in small.error and len(small.error) < 200


def test_errors_wrap_inside_the_widget(small):
    small.set_cell(0, 0, "1" * 400)
    assert "overflow-wrap:anywhere" in small.message.value


@pytest.mark.parametrize("tiny, levels", [(1e-45, 2), (3e-45, 4)])
def test_normalizing_a_tiny_output_says_why_it_has_few_grey_levels(tiny, levels):
    # an image in [0, 1] times one denormal float32 weight: only `levels` values exist
    torch.manual_seed(0)
    e = KernelEditor(image=torch.rand(20, 30), kernel=torch.tensor([[tiny]]))
    e.set(mode="normalize")
    shown = torch.unique(e.shown)
    assert len(shown) <= levels
    note = e.message.value
    assert "convbook-note" in note and f"just {len(torch.unique(e.output))} values" in note
    assert "grey levels" in note and e.error is None
    e.set(mode="clip")
    assert "convbook-note" not in e.message.value
    e.set(kernel=torch.tensor([[0.5]]), mode="normalize")  # 8-bit image: plenty of levels
    assert "convbook-note" not in e.message.value


def test_a_constant_output_says_why_it_is_black():
    e = KernelEditor(image=torch.full((5, 5), 0.3), kernel=torch.zeros(3, 3))
    e.set(mode="normalize")
    assert "The output is constant (0): normalizing shows it black." in e.message.value


def test_a_7x7_grid_has_narrower_cells_and_the_columns_wrap(small):
    small.set(size=7)
    width = int(small.cells[0][0].layout.width.removesuffix("px"))
    columns = small.grid.layout.grid_template_columns
    assert columns == f"repeat(7, {width + 2}px)" and 7 * (width + 2) + 6 * 2 <= 380
    assert small.children[2].layout.flex_flow == "row wrap"
