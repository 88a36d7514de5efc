"""The layer explorer, driven headless: its numbers against the network run by hand, its
boxes against the receptive-field recursion, and every bad input (arguments, uploads)."""

from __future__ import annotations

import base64
import copy
import dataclasses
import io
import itertools
import re

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from renders import count_calls
from torch import nn

from convbook import explain, models
from convbook.data import normalize
from convbook.widgets import LayerExplorer

FASTNET_LAYERS = [
    "whiten", "blocks.0.conv1", "blocks.0.pool", "blocks.0.conv2", "blocks.0",
    "blocks.1.conv1", "blocks.1.pool", "blocks.1.conv2", "blocks.1",
    "blocks.2.conv1", "blocks.2.pool", "blocks.2.conv2", "blocks.2",
]


def small_net(seed: int = 0) -> models.FastNet:
    torch.manual_seed(seed)
    net = models.FastNet(widths=(4, 6))
    net.init_whitening(torch.randn(8, 3, 16, 16))
    return net


def small_explorer(**kwargs) -> LayerExplorer:
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=g)
    kwargs.setdefault("model", small_net())
    return LayerExplorer(images=images, labels=[0, 3, 9, 3], mean=[0.5, 0.5, 0.5],
                         std=[0.25, 0.25, 0.25], **kwargs)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def by_hand(net: models.FastNet, x: torch.Tensor, layer: str) -> torch.Tensor:
    """FastNet's forward written out (in eval mode, on a copy), up to the output of ``layer``
    (a block or a block's convolution, pooling)."""
    net = copy.deepcopy(net).eval()
    h = net.whiten(x)
    if layer == "whiten":
        return h
    h = net.act(h)
    for b, block in enumerate(net.blocks):
        steps = [("conv1", block.conv1), ("pool", block.pool), ("norm1", block.norm1),
                 ("act", block.act), ("conv2", block.conv2), ("norm2", block.norm2),
                 ("act", block.act)]
        for name, module in steps:
            h = module(h)
            if layer == f"blocks.{b}.{name}":
                return h
        if layer == f"blocks.{b}":
            return h
    raise AssertionError(layer)


def field_by_hand(layer: str) -> tuple[int, int, int]:
    """(r, j, P) of FastNet's layers from the recursion r += (k - 1) j, P += p j, j *= s;
    a block's are those of its last convolution."""
    r, j, P = 2, 1, 0  # the 2x2 whitening convolution
    if layer == "whiten":
        return r, j, P
    for b in range(3):
        for name, k, s, p in (("conv1", 3, 1, 1), ("pool", 2, 2, 0), ("conv2", 3, 1, 1)):
            r, P, j = r + (k - 1) * j, P + p * j, j * s
            if layer == f"blocks.{b}.{name}" or (layer == f"blocks.{b}" and name == "conv2"):
                return r, j, P
    raise AssertionError(layer)


# --------------------------------------------------------------------------- the shipped net


def test_default_shows_the_shipped_network_on_its_test_images():
    ex = LayerExplorer()
    info = models.pretrained_info()
    images, labels = models.pretrained_samples()
    assert ex.layers == FASTNET_LAYERS
    assert ex.layer == "blocks.2" and ex.position == (1, 1) and ex.channel == 0
    assert torch.equal(ex.image, images[0].float() / 255)
    net = models.pretrained()
    mean, std = torch.tensor(info["mean"]), torch.tensor(info["std"])
    with torch.no_grad():
        probs = net(normalize(images[:1], mean, std))[0].softmax(0)
    torch.testing.assert_close(ex.probabilities, probs)
    expected = sorted(zip(probs.tolist(), info["classes"]), reverse=True)[:5]
    assert [name for name, _ in ex.top5] == [name for _, name in expected]
    assert f"true class: {info['classes'][labels[0]]}" in ex.top5_view.value
    name, p = ex.top5[0]
    assert repr(ex) == (f"LayerExplorer(image=0, layer='blocks.2', channel=0, position=(1, 1) "
                        f"-> {name} {100 * p:.1f}%)")


@pytest.mark.parametrize("layer", FASTNET_LAYERS)
def test_receptive_fields_follow_the_recursion(layer):
    ex = LayerExplorer()
    info = ex.layer_info(layer)
    r, j, P = field_by_hand(layer)
    assert (info.r, info.j, info.P) == ((r, r), (j, j), (P, P))
    h, _w = info.size
    assert info.box(h - 1, 0) == (((h - 1) * j - P, (h - 1) * j - P + r - 1), (-P, r - 1 - P))


def test_a_unit_its_value_box_and_gradient_by_hand():
    ex = LayerExplorer(image=7).set(layer="blocks.1", channel=5, position=(3, 2))
    net = models.pretrained()
    x = normalize((ex.image * 255).round().to(torch.uint8)[None], ex.mean, ex.std)
    x.requires_grad_(True)
    maps = by_hand(net, x, "blocks.1")
    torch.testing.assert_close(ex.feature_maps, maps[0].detach())
    assert ex.unit_value == pytest.approx(float(maps[0, 5, 3, 2].detach()), abs=1e-5)
    maps[0, 5, 3, 2].backward()
    torch.testing.assert_close(ex.gradient, x.grad[0])
    (top, bottom), (left, right) = ex.unit_box
    assert (top, bottom, left, right) == (3 * 4 - 9, 3 * 4 - 9 + 22, 2 * 4 - 9, 2 * 4 - 9 + 22)
    outside = torch.ones(32, 32, dtype=torch.bool)
    outside[max(top, 0):bottom + 1, max(left, 0):right + 1] = False
    assert ex.gradient[:, outside].abs().sum() == 0 and ex.gradient.abs().sum() > 0
    assert "rows 3..25 and columns -1..21" in ex.message.value


# --------------------------------------------------------------------------- headless API


@pytest.mark.parametrize("layer", ["whiten", "blocks.0.pool", "blocks.0", "blocks.1.conv2",
                                   "blocks.1"])
def test_feature_maps_match_the_network_run_by_hand(layer):
    ex = small_explorer(image=2).set(layer=layer)
    x = normalize(ex.images[2:3], ex.mean, ex.std)
    with torch.no_grad():
        torch.testing.assert_close(ex.feature_maps, by_hand(ex.model, x, layer)[0])


def test_switching_layers_keeps_the_unit_in_the_same_place():
    ex = small_explorer()
    for a, b in itertools.permutations(["whiten", "blocks.0.pool", "blocks.1"], 2):
        for position in itertools.product(range(3), range(3)):
            ex.set(layer=a, position=position)
            centre = ex.layer_info().centre(*ex.position)
            ex.set(layer=b)
            info = ex.layer_info()
            got = info.centre(*ex.position)
            for axis in range(2):  # no unit of the new layer is centred nearer, per axis
                nearest = min(abs(info.centre(u, u)[axis] - centre[axis])
                              for u in range(info.size[axis]))
                assert abs(got[axis] - centre[axis]) == pytest.approx(nearest)


def test_numpy_integers_work_like_ints():
    ex = small_explorer().set(layer="blocks.1", channel=np.int64(2),
                               position=(np.int64(1), np.int32(2)))
    assert (ex.channel, ex.position) == (2, (1, 2))
    assert type(ex.channel) is int and all(type(v) is int for v in ex.position)


def test_channel_is_kept_when_it_exists_else_zero():
    ex = small_explorer().set(layer="blocks.1", channel=5)
    ex.set(layer="blocks.1.pool")
    assert ex.channel == 5
    ex.set(layer="blocks.0")  # 4 channels
    assert ex.channel == 0


def test_controls_drive_the_same_state_as_set():
    a, b = small_explorer(), small_explorer()
    a.layer_dropdown.value = "blocks.0.conv2"
    a.channel_slider.value = 3
    a.row_slider.value, a.col_slider.value = 2, 5
    a.image_dropdown.value = 1
    b.set(image=1, layer="blocks.0.conv2", channel=3, position=(2, 5))
    assert repr(a) == repr(b) and a.error is None
    assert torch.equal(a.gradient, b.gradient) and a.png == b.png
    assert a.channel_slider.max == 3 and a.row_slider.max == 6


def test_changing_the_unit_redraws():
    ex = small_explorer()
    before = (ex.input_view.value, ex.channel_view.value, ex.maps_view.value)
    ex.channel_slider.value = 2
    after = (ex.input_view.value, ex.channel_view.value, ex.maps_view.value)
    assert all(x != y for x, y in zip(before, after))


def test_photos_and_own_pictures_become_8_bit_inputs_of_the_right_size():
    ex = small_explorer()
    ex.set(image="camera")  # grey: three equal channels
    assert ex.image_source == "camera" and ex.image.shape == (3, 16, 16)
    assert torch.equal(ex.image[0], ex.image[1]) and torch.equal(ex.image[1], ex.image[2])
    assert torch.equal(ex.image * 255, (ex.image * 255).round())
    # a picture of your own: a tensor (C, H, W) or an array (H, W, C), centre-cropped
    picture = torch.zeros(3, 40, 80)
    picture[:, :, 20:60] = 1.0  # a white centre square on black
    ex.set(image=picture)
    assert ex.image_source == "custom" and ex.image_dropdown.options[-1] == ("your image",
                                                                             "custom")
    assert torch.equal(ex.image, torch.ones(3, 16, 16))
    ex.set(image=np.full((5, 7, 3), 51, dtype=np.uint8))
    assert torch.equal(ex.image, torch.full((3, 16, 16), 0.2))
    assert [v for _, v in ex.image_dropdown.options].count("custom") == 1


# --------------------------------------------------------------------------- uploads


def test_an_uploaded_file_is_shown():
    ex = small_explorer()
    colour = np.zeros((30, 20, 3), dtype=np.uint8)
    colour[..., 0] = 255
    assert ex.upload_file(png(colour), "red.png")
    assert ex.image_source == "custom" and ex.error is None
    assert ex.image_dropdown.options[-1] == ("your image: red.png", "custom")
    assert torch.equal(ex.image[0], torch.ones(16, 16)) and ex.image[1:].sum() == 0


def test_the_upload_button_goes_the_same_way_and_keeps_no_bytes():
    ex = small_explorer()
    content = png(np.full((8, 8, 3), 255, dtype=np.uint8))
    # what the browser sends: the file's name and size, its bytes as the one buffer
    ex.upload_button.receive({"kind": "file", "name": "white.png", "size": len(content)},
                             [memoryview(content)])
    assert ex.image_source == "custom" and torch.equal(ex.image, torch.ones(3, 16, 16))
    assert ex.image_dropdown.options[-1] == ("your image: white.png", "custom")
    # no trait of the button holds the file: nothing of it is saved with the notebook
    values = ex.upload_button.trait_values().values()
    assert not any(isinstance(v, (bytes, memoryview)) for v in values)


def test_a_file_too_large_to_send_is_named_with_the_limit_and_the_next_one_works():
    """Issue 31: a 12 MB JPEG never reached the kernel (Jupyter drops messages over
    10 MiB) and nothing said so.  The browser sends only its name and size."""
    ex = small_explorer()
    ex.set(image=1)
    before = ex.state
    ex.upload_button.receive({"kind": "too_large", "name": "photo.jpg", "size": 12_152_263},
                             [])
    assert ex.error.startswith("'photo.jpg' is 11.6 MB: Jupyter passes at most 10 MB from "
                               "the browser to Python at once, so it was not sent")
    assert ex.state == before
    content = png(np.zeros((4, 4, 3), dtype=np.uint8))
    ex.upload_button.receive({"kind": "file", "name": "small.png", "size": len(content)},
                             [content])
    assert ex.error is None and ex.image_source == "custom"


def test_the_upload_button_checks_the_size_in_the_browser():
    from convbook.widgets.upload import BROWSER_CODE, MAX_BYTES

    assert small_explorer().upload_button.max_bytes == MAX_BYTES == 10 * 2**20 - 2**16
    assert 'file.size > model.get("max_bytes")' in BROWSER_CODE
    assert 'kind: "too_large"' in BROWSER_CODE


def test_transparent_pixels_become_white():
    ex = small_explorer()
    rgba = np.zeros((6, 6, 4), dtype=np.uint8)  # black, fully transparent
    assert ex.upload_file(png(rgba), "clear.png")
    assert torch.equal(ex.image, torch.ones(3, 16, 16))


def _truncated_png() -> bytes:
    return png(np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8))[:60]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "'bad' is empty"),
        (b"hello, this is text", r"^'bad' is not an image file that can be read: choose a PNG, "
                                 r"JPEG, GIF, BMP or WebP file$"),
        (_truncated_png(), "^'bad' could not be read to the end: the file looks damaged"),
        (b"GIF89a" + b"\x00" * 10, "^'bad' is not an image file that can be read"),
    ],
)
def test_a_bad_upload_shows_why_and_keeps_the_last_good_image(content, message):
    ex = small_explorer()
    ex.set(image=2)
    before, still = repr(ex), ex.png
    assert not ex.upload_file(content, "bad")
    assert ex.error is not None and re.search(message, ex.error)
    assert "showing the last good image" in ex.message.value
    assert repr(ex) == before and ex.png == still
    assert [v for _, v in ex.image_dropdown.options].count("custom") == 0
    assert ex.upload_file(png(np.zeros((4, 4, 3), dtype=np.uint8)), "good.png")
    assert ex.error is None


def test_a_too_large_upload_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr("convbook.images.MAX_FILE_BYTES", 100)
    ex = small_explorer()
    assert not ex.upload_file(b"\x89PNG" + b"\x00" * 200, "huge.png")
    assert ex.error.startswith("'huge.png' is 0.0 MB: images of up to 0 MB can be read")


def test_an_image_with_too_many_pixels_is_refused_in_plain_words(monkeypatch):
    monkeypatch.setattr("convbook.images.MAX_PIXELS", 50)
    ex = small_explorer()
    assert not ex.upload_file(png(np.zeros((10, 12, 3), dtype=np.uint8)), "big.png")
    assert ex.error == ("'big.png' is too large: 12 × 10 pixels (0 million); images of up to "
                        "0 million pixels can be read, so save a smaller copy")
    assert "Decompression" not in ex.error and "PIL" not in ex.error


def test_a_refused_upload_keeps_the_image():
    ex = small_explorer()
    ex.upload_button.receive({"kind": "file", "name": "notes.txt", "size": 4}, [b"text"])
    assert ex.error.startswith("'notes.txt' is not an image file")
    assert ex.image_source == 0


def test_upload_file_wants_bytes():
    with pytest.raises(TypeError, match="content must be bytes, got str"):
        small_explorer().upload_file("picture.png")


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"image": 4}, ValueError, r"image must be an index 0..3, a photo name \(camera, .*\), "
                                   "or a tensor or array, got 4"),
        ({"image": "dog"}, ValueError, "got 'dog'"),
        ({"image": True}, ValueError, "got True"),
        ({"image": "custom"}, ValueError, "got 'custom'"),
        ({"image": torch.zeros(2, 4, 4)}, ValueError, "image .* must have 1, 3 or 4 channels"),
        ({"layer": "blocks.9"}, ValueError, "layer must be one of whiten, blocks.0.conv1, .*, "
                                            "got 'blocks.9'"),
        ({"layer": "blocks.0.norm1"}, ValueError, "layer must be one of"),
        ({"channel": -1}, ValueError, r"channel must be in 0..5 for this layer, got -1"),
        ({"channel": 6}, ValueError, r"channel must be in 0..5 for this layer, got 6"),
        ({"layer": "blocks.0", "channel": 4}, ValueError, r"channel must be in 0..3"),
        ({"channel": 1.0}, TypeError, "channel must be an int, got 1.0"),
        ({"position": (3, 0)}, ValueError, r"position\[0\] \(row\) must be in 0..2"),
        ({"position": (0, -1)}, ValueError, r"position\[1\] \(col\) must be in 0..2"),
        ({"position": 1}, TypeError, r"position must be a \(row, col\) pair, got 1"),
        ({"position": (0, 0, 0)}, TypeError, "position must be a"),
        ({"position": ("a", 0)}, TypeError, r"position\[0\] \(row\) must be an int"),
    ],
)
def test_bad_set_arguments_raise_and_change_nothing(kwargs, error, message):
    ex = small_explorer()
    before, still = repr(ex), ex.png
    with pytest.raises(error, match=message):
        ex.set(**kwargs)
    assert repr(ex) == before and ex.png == still and ex.error is None


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"model": "net"}, TypeError, "model must be a torch.nn.Module or None, got str"),
        ({"images": torch.zeros(2, 3, 8, 8)}, ValueError,
         r"images must be a non-empty \(N, 3, H, W\) uint8 tensor, got torch.float32"),
        ({"images": torch.zeros(2, 1, 8, 8, dtype=torch.uint8)}, ValueError,
         "images must be a non-empty"),
        ({"images": torch.zeros(8, 8, dtype=torch.uint8)}, ValueError,
         r"images must be a 4D \(N, 3, H, W\) tensor"),
        ({"labels": [0, 1]}, ValueError, "labels must be 4 class indices, one per image"),
        ({"labels": [0, 1, 2, 10]}, ValueError, r"labels must be in 0..9"),
        ({"classes": ["a", "b"]}, ValueError, "classes must be 10 names"),
        ({"classes": "abcdefghij"}, ValueError, "classes must be 10 names"),
        ({"mean": [0.5, 0.5]}, ValueError, "mean must be 3 finite numbers"),
        ({"std": [0.2, 0.0, 0.2]}, ValueError, "std must be > 0 in every channel"),
        ({"std": [0.2, float("nan"), 0.2]}, ValueError, "std must be 3 finite numbers"),
        ({"scale": 0}, ValueError, r"scale must be in 1\.\.16, got 0"),
        ({"scale": 17}, ValueError, r"scale must be in 1\.\.16, got 17"),
        ({"layer": "head"}, ValueError, "layer must be one of"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, message):
    g = torch.Generator().manual_seed(0)
    args = {"model": small_net(), "images": torch.randint(0, 256, (4, 3, 16, 16),
                                                          dtype=torch.uint8, generator=g),
            "mean": [0.5] * 3, "std": [0.25] * 3}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        LayerExplorer(**args)


def test_a_failing_callback_shows_an_error_and_the_next_change_recovers(monkeypatch):
    ex = small_explorer()
    real = explain.unit_gradient

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(explain, "unit_gradient", broken)
    before = ex.png
    ex.channel_slider.value = 4
    assert ex.error == "could not update: RuntimeError: out of memory"
    assert "could not update" in ex.message.value and ex.png == before
    monkeypatch.setattr(explain, "unit_gradient", real)
    ex.channel_slider.value = 5
    assert ex.error is None and ex.channel == 5


# --------------------------------------------------------------------------- other models


class SmallCNN(nn.Module):
    def __init__(self, functional_pool: bool = False) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.features = nn.Sequential(nn.Conv2d(5, 6, 3), nn.ReLU())
        self.head = nn.Linear(6, 2)
        self.functional_pool = functional_pool

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = F.max_pool2d(x, 2) if self.functional_pool else self.pool(x)
        return self.head(self.features(x).mean(dim=(2, 3)))


def test_another_model_with_its_own_classes():
    images = torch.randint(0, 256, (2, 3, 12, 12), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    net = SmallCNN().train()
    ex = LayerExplorer(net, images=images, mean=[0.4] * 3, std=[0.2] * 3)
    assert ex.layers == ["conv", "pool", "features.0", "features"]
    assert ex.classes == ["0", "1"] and len(ex.top5) == 2
    assert ex.layer_info("features").r == (8, 8)  # 3 + 1 + 2 * 2
    ex = LayerExplorer(net, images=images, mean=[0.4] * 3, std=[0.2] * 3,
                       classes=["no", "yes"], labels=[1, 0])
    assert {name for name, _ in ex.top5} == {"no", "yes"}
    assert "true class: yes" in ex.top5_view.value
    assert net.training and all(p.grad is None for p in net.parameters())
    assert all(not m._forward_hooks for m in net.modules())


def test_a_functional_pooling_is_named_as_unsupported():
    images = torch.zeros(1, 3, 12, 12, dtype=torch.uint8)
    with pytest.raises(ValueError, match="cannot place layer 'max_pool2d'"):
        LayerExplorer(SmallCNN(functional_pool=True), images=images, mean=[0.4] * 3,
                      std=[0.2] * 3)


def test_the_shipped_model_is_left_as_it_was():
    net = small_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ex = small_explorer(model=net)
    ex.set(image="coins", layer="blocks.0.pool", channel=1, position=(2, 3))
    ex.channel_slider.value = 2
    assert net.training
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert all(not m._forward_hooks for m in net.modules())


# --------------------------------------------------------------------------- display


def test_still_and_mimebundle():
    ex = small_explorer().set(layer="blocks.1", channel=2)
    picture = Image.open(io.BytesIO(ex.png))
    grid = np.asarray(Image.open(io.BytesIO(ex.maps_view.value)))
    assert picture.width >= grid.shape[1] and picture.height > grid.shape[0]
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == repr(ex)
    assert base64.b64decode(bundle["image/png"]) == ex.png
    assert isinstance(ex, widgets.VBox) and "convbook-layer-explorer" in ex._dom_classes
    for view, name in ((ex.input_view, "convbook-input"), (ex.maps_view, "convbook-maps"),
                       (ex.channel_view, "convbook-channel"), (ex.top5_view, "convbook-top5")):
        assert name in view._dom_classes


def test_the_grid_frames_the_chosen_channel():
    maps = torch.zeros(6, 3, 3)
    maps[4, 1, 1] = 1.0
    from convbook.widgets.layer_explorer_drawing import UNIT, grid_layout, grid_picture

    picture = grid_picture(maps, 4)
    cols, _rows, scale = grid_layout(6, 3, 3)
    tile = 3 * scale + 2 * 3
    r, q = divmod(4, cols)
    assert tuple(picture[r * tile, q * tile]) == UNIT  # the frame's corner
    assert tuple(picture[0, 0]) != UNIT
    centre = picture[r * tile + 3 + scale + scale // 2, q * tile + 3 + scale + scale // 2]
    assert tuple(centre) == (255, 0, 0)  # the one positive value: full red


# --------------------------------------------------------------------------- state as data


def test_settings_are_a_frozen_dataclass():
    ex = small_explorer().set(layer="blocks.1", channel=2, position=(1, 0))
    state = ex.state
    assert dataclasses.is_dataclass(state)
    assert (state.image, state.layer, state.channel, state.position, state.own) == (
        0, "blocks.1", 2, (1, 0), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.channel = 3
    ex.set(image=np.full((5, 7, 3), 51, dtype=np.uint8))
    assert ex.state.image == "custom" and ex.state.own.label == "your image"
    assert state.own is None  # the old state is untouched


def _count_renders(monkeypatch) -> list:
    """One entry per render."""
    import convbook.widgets.layer_explorer as module

    return count_calls(monkeypatch, module, "input_gradient")


@pytest.mark.parametrize(
    "control, value",
    [("layer_dropdown", "whiten"), ("channel_slider", 4), ("row_slider", 2),
     ("col_slider", 0), ("image_dropdown", 2)],
)
def test_one_control_change_renders_once(monkeypatch, control, value):
    ex = small_explorer()
    renders = _count_renders(monkeypatch)
    grids = []
    ex.maps_view.observe(grids.append, names="value")
    getattr(ex, control).value = value
    assert len(renders) == 1 and len(grids) <= 1 and ex.error is None


def test_a_bad_value_leaves_state_and_view_unchanged():
    ex = small_explorer()
    state, still = ex.state, ex.png
    controls = (ex.layer_dropdown.value, ex.channel_slider.value, ex.row_slider.value)
    with pytest.raises(ValueError, match=r"channel must be in 0\.\.5 for this layer, got 9"):
        ex.set(layer="blocks.1", channel=9)
    assert ex.state is state and ex.png == still
    assert (ex.layer_dropdown.value, ex.channel_slider.value, ex.row_slider.value) == controls


def test_switching_layers_gives_sliders_of_the_new_range():
    """Issue 31: after blocks.1 (7x7) -> whiten (31x31) the End key stopped at 6.  The
    browser's slider keeps its first range for Home and End, so a new range is a new
    slider; the explorer reads and drives the new ones."""
    ex = LayerExplorer(layer="blocks.1")
    old_row, old_col = ex.row_slider, ex.col_slider
    assert (old_row.max, old_col.max) == (6, 6)
    ex.layer_dropdown.value = "whiten"
    assert ex.row_slider is not old_row and ex.col_slider is not old_col
    assert (ex.row_slider.min, ex.row_slider.max, ex.col_slider.max) == (0, 30, 30)
    assert ex.channel_slider.max == ex.layer_info().channels - 1
    assert ex.row_slider in ex.children[2].children and old_row not in ex.children[2].children
    assert "convbook-row-choice" in ex.row_slider._dom_classes
    ex.row_slider.value = 30  # the new slider drives the explorer
    assert ex.position[0] == 30
    old_row.value = 0  # the old one, closed, does nothing
    assert ex.position[0] == 30


def test_the_top5_names_keep_clear_of_their_bars():
    from convbook.widgets.layer_explorer_drawing import top5_html

    table = top5_html([("automobile", 0.9), ("truck", 0.1)], None)
    assert table.count("<td style='padding-right:0.6em'>") == 2


def test_the_grid_is_drawn_at_the_size_it_is_shown():
    from convbook.widgets.layer_explorer_drawing import grid_layout

    ex = LayerExplorer(layer="blocks.1")  # 16 channels of 7x7: was 216 px wide, stretched
    grid = Image.open(io.BytesIO(ex.maps_view.value))
    assert 400 <= grid.width <= 720
    assert ex.maps_view.layout.align_self == "flex-start"  # not stretched to the box
    for channels, side in ((16, 7), (128, 3), (24, 31), (1, 1)):
        cols, _rows, scale = grid_layout(channels, side, side)
        assert cols * (side * scale + 6) <= 720 or scale == 1
