"""Every public function answers bad arguments with a ValueError or TypeError naming them.

A table gives, for each public function and class of the modules in :data:`SWEPT` (``ops``,
``shapes``, ``counting``, ``roofline``, ``kernels``, ``images``, ``layers``, ``antialias``,
``receptive_field``, ``data``, ``models``, ``hardware``, ``inference``, ``timing`` and the
training engine's ``recipes``, ``loader``, ``muon``, ``fit``, ``checkpoint``), one valid call
and the *kind* of each argument; each kind brings its own bad values (wrong type, zero,
negative, NaN, inf, bool for an int, float for an int, wrong number of dimensions, empty
tensors, sizes too large to allocate, ...), and a row may add bad values of its own. Every bad
call is a test: it must raise ``ValueError`` or ``TypeError`` (``DatasetError`` is neither: a
data problem, not a bad argument) whose message names the argument. Each call replaces one
argument of a valid call, and the valid calls are tested too, so an error can only come from
the replaced argument. Every public callable of those modules has a row, or a reason in
:data:`EXEMPT`.

``cli`` (argparse, tested in ``test_cli.py``), ``widgets``, ``training.live``,
``training.distributed`` (torchrun, ``test_distributed.py``), ``explain`` (``test_explain.py``)
and ``check`` have their own tests.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from convbook import (
    antialias,
    counting,
    data,
    hardware,
    images,
    inference,
    kernels,
    layers,
    models,
    ops,
    roofline,
    shapes,
    timing,
)
from convbook import receptive_field as rf
from convbook.training import checkpoint, loader, muon, recipes
from convbook.training import fit as fit_module

NAN, INF = float("nan"), float("inf")
HUGE = 10**9
#: a size, stride or padding that asks for more memory than any machine has
ENORMOUS = 10**12


def _t(*shape: int, dtype: torch.dtype = torch.float32) -> Callable[[], torch.Tensor]:
    """A fresh random tensor of ``shape``, built when the call is made."""
    if dtype == torch.uint8:
        return lambda: torch.randint(0, 256, shape, dtype=dtype)
    if dtype == torch.bool:
        return lambda: torch.zeros(shape, dtype=dtype)
    return lambda: torch.rand(shape, dtype=dtype)


# --------------------------------------------------------------------------- kinds


def ints(minimum: int) -> list[Any]:
    """Bad values for an int argument that must be >= ``minimum``."""
    return [minimum - 1, minimum - 5, 1.5, float(minimum + 1), True, "3", None, NAN, INF,
            [minimum + 1]]


def pairs(minimum: int, n: int = 2) -> list[Any]:
    """Bad values for an int-or-tuple-of-``n``-ints argument."""
    ok = minimum + 1
    return [*ints(minimum)[:-1], (ok,) * (n + 1), (ok,) * (n - 1), (ok,) * (n - 1) + (1.5,),
            (True,) * n, (ok,) * (n - 1) + (minimum - 1,), "ab", {"h": ok}]


def no_none(values: list[Any]) -> list[Any]:
    """The bad values without None, for an argument where None means "the default"."""
    return [v for v in values if v is not None]


def sizes(minimum: int) -> list[Any]:
    """Bad values for an int-or-tuple-of-any-length argument (counting's kernel sizes)."""
    ok = minimum + 1
    return [*ints(minimum)[:-1], (ok, 1.5), (True, True), (ok, minimum - 1), "ab", {"h": ok},
            (), "33"]


BOOLS = ["yes", 1, 0, None, 0.5]
CHOICES = ["nonsense", 3, None]
POSITIVE_FLOATS = [0, -1.0, NAN, INF, -INF, "1", None, True]
PATHS = [3, 1.5, ["data"], True]


def tensors(*bad_shapes: tuple[int, ...]) -> list[Any]:
    """Bad values for a tensor argument: not tensors, and tensors of the given bad shapes."""
    return [None, "x", [[1.0, 2.0]], 1.5, np.zeros((2, 2)), *(_t(*s) for s in bad_shapes)]


@dataclass
class Row:
    """A public function, a valid call, and the bad values of each argument.  ``fn`` may be
    a wrapper that calls the public callable with keyword arguments; ``covers`` names what
    the row sweeps (default: ``fn`` itself)."""

    name: str
    fn: Callable[..., Any]
    valid: dict[str, Any]
    bad: dict[str, list[Any]]
    extra: dict[str, list[Any]] = field(default_factory=dict)
    covers: tuple[Any, ...] = ()


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 1, 3))


def _png_file() -> bytes:
    """The bytes of a small PNG file, as an upload brings them."""
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _rf_result() -> rf.ReceptiveField:
    return rf.receptive_field(_model(), (1, 8, 8))


def _image_data() -> data.ImageData:
    return data.ImageData(torch.zeros(10, 3, 2, 2, dtype=torch.uint8), torch.arange(10) % 2,
                          torch.zeros(4, 3, 2, 2, dtype=torch.uint8), torch.arange(4) % 2,
                          ("a", "b"))


def _subset(n_train, n_test, seed=0):
    return _image_data().subset(n_train, n_test, seed)


def _conv2d_layer(kernel_size, X):
    return layers.Conv2D(kernel_size)(X)


def _blur_layer(padding_mode, x):
    return antialias.BlurPool2d(padding_mode)(x)


def _max_blur_layer(padding_mode, x):
    return antialias.MaxBlurPool2d(padding_mode)(x)


def _toy() -> data.ImageData:
    g = torch.Generator().manual_seed(0)
    return data.ImageData(torch.randint(0, 256, (8, 3, 8, 8), generator=g, dtype=torch.uint8),
                          torch.arange(8) % 2,
                          torch.randint(0, 256, (4, 3, 8, 8), generator=g, dtype=torch.uint8),
                          torch.arange(4) % 2, ("a", "b"))


def _tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return models.FastNet(widths=(4, 8), num_classes=2)


def _recipe(recipe="fast", epochs=4, batch_size=1000, lr=0.24, momentum=0.85,
            label_smoothing=0.2, translate=2, flip="alternating", schedule="linear", tta=2,
            widths=(32, 128, 128), optimizer="muon", warmup=0.0, weight_decay=2e-6,
            nesterov=True, loss_sum=True, image_scales=(0.75,)):
    return recipes.recipe_for(
        recipe, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
        label_smoothing=label_smoothing, translate=translate, flip=flip, schedule=schedule,
        tta=tta, widths=widths, optimizer=optimizer, warmup=warmup, weight_decay=weight_decay,
        nesterov=nesterov, loss_sum=loss_sum, image_scales=image_scales)


def _fit(model, data, epochs=1, recipe="fast", device="cpu", precision="fp32",
         channels_last=True, seed=0, checkpoint=None, resume=False, live=None, progress=False,
         callback=None, config=None, minutes=None, eval_every=1):
    return fit_module.fit(model, data, epochs, recipe=recipe, device=device, precision=precision,
                     channels_last=channels_last, seed=seed, checkpoint=checkpoint,
                     resume=resume, live=live, progress=progress, callback=callback,
                     config=config, minutes=minutes, eval_every=eval_every)


def _train_loader(images, labels, batch_size=2, mean=None, std=None, translate=1, flip="random",
                  seed=0, device="cpu", memory_format=torch.channels_last):
    return loader.TrainLoader(images, labels, batch_size,
                              torch.zeros(3) if mean is None else mean,
                              torch.ones(3) if std is None else std, translate=translate,
                              flip=flip, seed=seed, device=device, memory_format=memory_format)


def _save(path, model, optimizer=None, epoch=0, history=None, config=None, progress=None):
    return checkpoint.save_checkpoint(path, model, optimizer, epoch=epoch, history=history,
                                      config=config, progress=progress)


def _load(path, model=None, optimizer=None, restore_rng=False):
    return checkpoint.load_checkpoint(path, model, optimizer, restore_rng=restore_rng)


def _build_model(name):
    return models.build(name)


def _params():
    return [nn.Parameter(torch.rand(4, 3))]


def _checkpoint_file():
    """A checkpoint of :func:`_tiny_net` in a fresh temporary directory."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "c.pt"
    checkpoint.save_checkpoint(path, _tiny_net())
    return path


def _read(path):
    return checkpoint.read_checkpoint(path)


def _restore(ckpt, model=None, optimizer=None, restore_rng=False, path="c.pt"):
    return checkpoint.restore_checkpoint(ckpt, model, optimizer, restore_rng=restore_rng,
                                         path=path)


def _a_file():
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"bytes")
    return f.name


MODELS_BAD = [None, "net", 3, lambda: torch.zeros(2)]
FUNCTIONS_BAD = [None, 3, "f"]


TREE = object()  # stands for the small ImageFolder tree built by the ``tree`` fixture

#: one valid call of conv2d (and of chapter 10's algorithms, which share its checks)
CONV2D_VALID = dict(input=_t(1, 2, 5, 5), weight=_t(3, 2, 3, 3), bias=_t(3), stride=1, padding=0,
                    dilation=1, groups=1)
CONV2D_BAD = dict(input=tensors((2, 5), (1, 1, 2, 5, 5), (1, 2, 0, 5), (1, 3, 5, 5)),
                  weight=tensors((3, 2, 3), (3, 2, 0, 3), (3, 1, 3, 3)),
                  bias=no_none(tensors((3, 1), (4,))),
                  stride=pairs(1), padding=[*pairs(0), "full", ENORMOUS],
                  dilation=[*pairs(1), ENORMOUS], groups=[*ints(1), 3])
LAYER = roofline.ConvLayer(4, 8, 3, 5, 6, padding=1)
LAYERS_BAD = [None, "layer", (4, 8, 3)]


def _conv_net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))


def _bytes_moved(dtype="float32"):
    return LAYER.bytes_moved(dtype)


def _intensity(dtype="float32"):
    return LAYER.intensity(dtype)


def _layer_tensors(dtype="float32", channels_last=False, seed=0):
    return LAYER.tensors(dtype, channels_last=channels_last, seed=seed)


def _plot_roofline(ax, peak=1e11, bandwidth=1e10, label="", color="black",
                   intensities=(0.1, 1000.0)):
    import matplotlib.pyplot as plt

    try:
        return roofline.plot_roofline(ax() if callable(ax) else ax, peak, bandwidth, label=label,
                                      color=color, intensities=intensities)
    finally:
        plt.close("all")


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure().add_subplot()

ROWS = [
    # ------------------------------------------------------------------ ops
    *(Row(name, fn, dict(CONV2D_VALID), {**CONV2D_BAD, **more},
          extra=dict(input=[_t(1, 2, 5, 5, dtype=torch.float64),
                            _t(1, 2, 5, 5, dtype=torch.bool)],
                     bias=[_t(3, dtype=torch.float64)]))
      for name, fn, more in [
          ("conv2d", ops.conv2d, {}),
          ("conv2d_direct", ops.conv2d_direct, {}),
          ("conv2d_fft", ops.conv2d_fft, {}),
          ("conv2d_winograd", ops.conv2d_winograd,
           dict(weight=[*CONV2D_BAD["weight"], _t(3, 2, 5, 5), _t(3, 2, 3, 1)],
                stride=[*pairs(1), 2, (1, 2)], dilation=[*pairs(1), 2])),
      ]),
    Row("conv3d", ops.conv3d,
        dict(input=_t(1, 2, 4, 4, 4), weight=_t(3, 2, 2, 2, 2), bias=_t(3), stride=1,
             padding=0, dilation=1, groups=1),
        dict(input=tensors((2, 4, 4), (1, 1, 2, 4, 4, 4), (1, 2, 0, 4, 4), (1, 3, 4, 4, 4)),
             weight=tensors((3, 2, 2, 2), (3, 2, 0, 2, 2), (3, 1, 2, 2, 2)),
             bias=no_none(tensors((3, 1), (2,))),
             stride=pairs(1, 3), padding=[*pairs(0, 3), ENORMOUS],
             dilation=[*pairs(1, 3), ENORMOUS], groups=[*ints(1), 3]),
        extra=dict(weight=[_t(3, 2, 2, 2, 2, dtype=torch.float64)])),
    Row("conv_transpose2d", ops.conv_transpose2d,
        dict(input=_t(1, 2, 4, 4), weight=_t(2, 3, 3, 3), bias=_t(3), stride=1, padding=0,
             output_padding=0, groups=1, dilation=1),
        dict(input=tensors((4, 4), (1, 1, 2, 4, 4), (1, 2, 0, 4), (1, 3, 4, 4)),
             weight=tensors((2, 3, 3), (2, 3, 0, 3), (3, 3, 3, 3)),
             bias=no_none(tensors((3, 1), (4,))),
             stride=[*pairs(1), ENORMOUS], padding=[*pairs(0), ENORMOUS],
             output_padding=[*pairs(0), 2], groups=[*ints(1), 3],
             dilation=[*pairs(1), ENORMOUS]),
        extra=dict(weight=[_t(2, 3, 3, 3, dtype=torch.float64)])),
    Row("conv2d_backward", ops.conv2d_backward,
        dict(X=_t(1, 2, 5, 5), K=_t(3, 2, 3, 3), dY=_t(1, 3, 3, 3), stride=1, padding=0,
             dilation=1, groups=1),
        dict(X=tensors((2, 5), (1, 1, 2, 5, 5), (1, 2, 0, 5), (1, 3, 5, 5)),
             K=tensors((3, 2, 3), (3, 2, 0, 3), (3, 1, 3, 3), (3, 2, 6, 3)),
             dY=tensors((3, 3, 3), (1, 3, 3, 4), (1, 2, 3, 3)),
             stride=pairs(1), padding=[*pairs(0), "full"], dilation=pairs(1),
             groups=[*ints(1), 3]),
        extra=dict(X=[_t(1, 2, 5, 5, dtype=torch.float64), _t(1, 2, 5, 5, dtype=torch.uint8)],
                   dY=[_t(1, 3, 3, 3, dtype=torch.float64)])),
    Row("corr2d", ops.corr2d, dict(X=_t(4, 4), K=_t(2, 2)),
        dict(X=tensors((4,), (1, 4, 4), (0, 4)), K=tensors((2,), (0, 0), (5, 1)))),
    Row("corr2d_multi_in", ops.corr2d_multi_in, dict(X=_t(2, 4, 4), K=_t(2, 2, 2)),
        dict(X=tensors((4, 4), (3, 4, 4), (2, 0, 4)), K=tensors((2, 2), (3, 2, 2), (2, 0, 2)))),
    Row("corr2d_multi_in_out", ops.corr2d_multi_in_out, dict(X=_t(2, 4, 4), K=_t(3, 2, 2, 2)),
        dict(X=tensors((4, 4), (3, 4, 4)), K=tensors((2, 2, 2), (3, 1, 2, 2), (3, 2, 0, 2)))),
    Row("corr2d_multi_in_out_1x1", ops.corr2d_multi_in_out_1x1,
        dict(X=_t(2, 4, 4), K=_t(3, 2, 1, 1)),
        dict(X=tensors((4, 4), (3, 4, 4)), K=tensors((3, 2, 1), (3, 2, 2, 2), (3, 1, 1, 1)))),
    Row("kernel2matrix", ops.kernel2matrix, dict(K=_t(2, 2), input_shape=(3, 3)),
        dict(K=tensors((2,), (1, 2, 2), (0, 2)),
             input_shape=[*pairs(1), (1, 1), ENORMOUS, (3, ENORMOUS)])),
    Row("pool2d", ops.pool2d, dict(X=_t(4, 4), pool_size=2, mode="max"),
        dict(X=tensors((4,), (1, 4, 4), (0, 4)), pool_size=[*pairs(1), 5, HUGE], mode=CHOICES)),
    Row("max_pool2d", ops.max_pool2d,
        dict(input=_t(1, 1, 4, 4), kernel_size=2, stride=None, padding=0, dilation=1,
             ceil_mode=False),
        dict(input=tensors((4, 4), (1, 1, 1, 4, 4), (1, 1, 0, 4)),
             kernel_size=[*pairs(1), 5, HUGE], stride=no_none(pairs(1)),
             padding=[*pairs(0), 2], dilation=[*pairs(1), HUGE], ceil_mode=BOOLS),
        extra=dict(input=[_t(1, 1, 4, 4, dtype=torch.uint8)])),
    Row("avg_pool2d", ops.avg_pool2d,
        dict(input=_t(1, 1, 4, 4), kernel_size=2, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True),
        dict(input=tensors((4, 4), (1, 1, 1, 4, 4), (1, 1, 4, 0)),
             kernel_size=[*pairs(1), 5, HUGE], stride=no_none(pairs(1)),
             padding=[*pairs(0), 2], ceil_mode=BOOLS, count_include_pad=BOOLS),
        extra=dict(input=[_t(1, 1, 4, 4, dtype=torch.uint8)])),
    Row("channel_shuffle", ops.channel_shuffle, dict(input=_t(1, 4, 2, 2), groups=2),
        dict(input=tensors((4, 2), (1, 1, 4, 2, 2)), groups=[*ints(1), 3, HUGE])),
    # ------------------------------------------------------------------ shapes
    Row("effective_kernel_size", shapes.effective_kernel_size,
        dict(kernel_size=3, dilation=1), dict(kernel_size=ints(1), dilation=ints(1))),
    Row("conv_out_size", shapes.conv_out_size,
        dict(n=8, kernel_size=3, stride=1, padding=0, dilation=1),
        dict(n=pairs(1), kernel_size=[*pairs(1), 11], stride=pairs(1),
             padding=[*pairs(0), "full"], dilation=pairs(1))),
    Row("pool_out_size", shapes.pool_out_size,
        dict(n=8, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False),
        dict(n=pairs(1), kernel_size=[*pairs(1), 11], stride=no_none(pairs(1)),
             padding=[*pairs(0), 2], dilation=pairs(1), ceil_mode=BOOLS)),
    Row("conv_transpose_out_size", shapes.conv_transpose_out_size,
        dict(n=4, kernel_size=3, stride=1, padding=0, output_padding=0, dilation=1),
        dict(n=pairs(1), kernel_size=pairs(1), stride=pairs(1), padding=[*pairs(0), 9],
             output_padding=[*pairs(0), 1], dilation=pairs(1))),
    # ------------------------------------------------------------------ counting
    Row("conv_params", counting.conv_params,
        dict(in_channels=4, out_channels=8, kernel_size=(3, 3), groups=1, bias=True),
        dict(in_channels=ints(1), out_channels=ints(1), kernel_size=sizes(1),
             groups=[*ints(1), 3], bias=BOOLS)),
    Row("conv_macs", counting.conv_macs,
        dict(in_channels=4, out_channels=8, kernel_size=(3, 3), output_size=(5, 5), groups=1),
        dict(in_channels=ints(1), out_channels=ints(1), kernel_size=sizes(1),
             output_size=[*sizes(1), (5, 5, 5)], groups=[*ints(1), 3])),
    Row("conv_bytes", counting.conv_bytes,
        dict(in_channels=4, out_channels=8, kernel_size=(3, 3), input_size=(7, 7),
             output_size=(5, 5), groups=1, batch=1, element_size=4),
        dict(in_channels=ints(1), out_channels=ints(1), kernel_size=sizes(1),
             input_size=[*sizes(1), (7, 7, 7)], output_size=[*sizes(1), (5, 5, 5)],
             groups=[*ints(1), 3], batch=ints(1), element_size=ints(1))),
    # ------------------------------------------------------------------ roofline
    Row("ConvLayer", roofline.ConvLayer,
        dict(in_channels=4, out_channels=8, kernel_size=3, height=5, width=6, stride=1,
             padding=1, groups=1, batch=1),
        dict(in_channels=ints(1), out_channels=ints(1), kernel_size=[*ints(1), 9],
             height=ints(1), width=ints(1), stride=ints(1), padding=ints(0),
             groups=[*ints(1), 3], batch=ints(1))),
    Row("ConvLayer.bytes_moved", _bytes_moved, dict(dtype="float32"),
        dict(dtype=[*CHOICES, "float16"])),
    Row("ConvLayer.intensity", _intensity, dict(dtype="float32"),
        dict(dtype=[*CHOICES, "float16"])),
    Row("ConvLayer.tensors", _layer_tensors, dict(dtype="float32", channels_last=False, seed=0),
        dict(dtype=[*CHOICES, "float16"], channels_last=BOOLS,
             seed=[1.5, True, "0", None, -1])),
    Row("conv_layers", roofline.conv_layers, dict(model=_conv_net, input_shape=(1, 3, 8, 8)),
        dict(model=[None, "net", 3, lambda: nn.Sequential(nn.Conv2d(3, 3, 3, dilation=2))],
             input_shape=[(1, 3, 8), (1, 3, 0, 8), (1, 3, 8, 1.5), (1, 5, 8, 8), "abcd", 3])),
    Row("attainable_flops", roofline.attainable_flops,
        dict(intensity=2.0, peak=1e11, bandwidth=1e10),
        dict(intensity=POSITIVE_FLOATS, peak=POSITIVE_FLOATS, bandwidth=POSITIVE_FLOATS)),
    Row("ridge_point", roofline.ridge_point, dict(peak=1e11, bandwidth=1e10),
        dict(peak=POSITIVE_FLOATS, bandwidth=POSITIVE_FLOATS)),
    Row("predicted_seconds", roofline.predicted_seconds,
        dict(layer=LAYER, peak=1e11, bandwidth=1e10, dtype="float32"),
        dict(layer=LAYERS_BAD, peak=POSITIVE_FLOATS, bandwidth=POSITIVE_FLOATS,
             dtype=[*CHOICES, "float16"])),
    Row("achieved_flops", roofline.achieved_flops, dict(layer=LAYER, seconds=0.5),
        dict(layer=LAYERS_BAD, seconds=POSITIVE_FLOATS)),
    Row("matmul_peak", roofline.matmul_peak,
        dict(dtype="float32", size=8, num_threads=None, min_run_time=0.001),
        dict(dtype=[*CHOICES, "float16"], size=ints(1), num_threads=no_none(ints(1)),
             min_run_time=POSITIVE_FLOATS)),
    Row("copy_bandwidth", roofline.copy_bandwidth,
        dict(megabytes=1, num_threads=None, min_run_time=0.001),
        dict(megabytes=ints(1), num_threads=no_none(ints(1)), min_run_time=POSITIVE_FLOATS)),
    Row("why_not", roofline.why_not, dict(name="FFT", layer=LAYER, dtype="float32"),
        dict(name=[*CHOICES, "fft"], layer=LAYERS_BAD, dtype=[*CHOICES, "float16"])),
    Row("time_algorithms", roofline.time_algorithms,
        dict(layer=LAYER, names=["F.conv2d"], dtype="float32", num_threads=None,
             min_run_time=0.001, progress=None),
        dict(layer=LAYERS_BAD, names=["FFT", ["fft"], 3, [None]],
             dtype=[*CHOICES, "float16"], num_threads=no_none(ints(1)),
             min_run_time=POSITIVE_FLOATS, progress=["f", 3])),
    Row("plot_roofline", _plot_roofline,
        dict(ax=_axes, peak=1e11, bandwidth=1e10, label="", color="black",
             intensities=(0.1, 1000.0)),
        dict(ax=["axes", 3, None], peak=POSITIVE_FLOATS, bandwidth=POSITIVE_FLOATS,
             label=[3, None], color=[3, None],
             intensities=[(1.0,), (0.0, 1.0), (10.0, 1.0), "ab", (1.0, NAN), None]),
        covers=(roofline.plot_roofline,)),
    # ------------------------------------------------------------------ kernels
    *(Row(f"kernels.{name}", getattr(kernels, name), dict(size=3),
          dict(size=[*ints(1), HUGE])) for name in ("identity", "box_blur")),
    *(Row(f"kernels.{name}", getattr(kernels, name), dict(size=3, sigma=1.0),
          dict(size=[*ints(1), HUGE], sigma=POSITIVE_FLOATS))
      for name in ("gaussian_1d", "gaussian_blur")),
    # ------------------------------------------------------------------ images
    Row("photo", images.photo, dict(name="camera", gray=False, size=8),
        dict(name=CHOICES, gray=BOOLS, size=[*no_none(ints(1)), HUGE])),
    Row("read_image", images.read_image, dict(content=_png_file, name="x.png", max_side=None),
        dict(content=[None, "x.png", 3], name=[None, 3, b"x.png"],
             max_side=[*no_none(ints(1)), "8"])),
    Row("resize_shorter_side", images.resize_shorter_side, dict(image=_t(3, 8, 8), size=4),
        dict(image=tensors((8,), (1, 1, 3, 8, 8), (3, 0, 8)), size=[*ints(1), HUGE])),
    # ------------------------------------------------------------------ layers
    Row("Conv2D", _conv2d_layer, dict(kernel_size=3, X=_t(5, 5)),
        dict(kernel_size=[*pairs(1), HUGE], X=tensors((5,), (1, 5, 5), (0, 5))),
        covers=(layers.Conv2D,)),
    # ------------------------------------------------------------------ antialias
    *(Row(name, fn, dict(x=_t(1, 2, 4, 4), padding_mode="zeros"),
          dict(x=[*tensors((4, 4), (2, 4, 4), (1, 2, 4, 4, 1), (0, 2, 4, 4), (1, 2, 0, 4),
                           *too_small), _t(1, 2, 4, 4, dtype=torch.uint8)],
               padding_mode=CHOICES),
          covers=covers)
      for name, fn, too_small, covers in (
          ("blur_pool2d", antialias.blur_pool2d, (), ()),
          ("max_blur_pool2d", antialias.max_blur_pool2d, ((1, 2, 1, 4), (1, 2, 4, 1)), ()),
          ("BlurPool2d", _blur_layer, (), (antialias.BlurPool2d,)),
          ("MaxBlurPool2d", _max_blur_layer, ((1, 2, 1, 4),), (antialias.MaxBlurPool2d,)))),
    # ------------------------------------------------------------------ receptive_field
    Row("receptive_field", rf.receptive_field, dict(model=_model, input_size=(1, 8, 8)),
        dict(model=[None, "net", lambda: (lambda x: x)],
             input_size=[*pairs(1, 3), (1, 2, 2), (8, 8)])),
    Row("unit_gradient", rf.unit_gradient, dict(result=_rf_result, x=_t(1, 8, 8), unit=None),
        dict(result=[None, "rf", _model], x=tensors((8, 8), (1, 1, 8, 8), (1, 9, 8), (2, 8, 8)),
             unit=[*no_none(pairs(0)), (4, 0), (0, HUGE)]),
        extra=dict(x=[_t(1, 8, 8, dtype=torch.uint8)])),
    Row("plot_receptive_field", rf.plot_receptive_field,
        dict(model=_model, image=_t(1, 8, 8), unit=None, ax=None),
        dict(model=[None, "net"], image=tensors((8, 8), (1, 1, 8, 8), (1, 2, 2)),
             unit=[*no_none(pairs(0)), (4, 0)], ax=["axes", 3])),
    # ------------------------------------------------------------------ data
    Row("cifar10", data.cifar10,
        dict(root=TREE, cache=None, download=False, expected_sizes=None, root_option="root"),
        dict(root=PATHS, cache=PATHS, download=BOOLS,
             expected_sizes=["garbage", 3, {"train": 5}, {"train": 0, "test": 1},
                             {"train": 1.5, "test": 1}, {"train": True, "test": 1}],
             root_option=[3, None, ""])),
    Row("channel_stats", data.channel_stats, dict(images=_t(4, 3, 2, 2, dtype=torch.uint8)),
        dict(images=[*tensors((3, 2, 2), (0, 3, 2, 2)), _t(4, 3, 2, 2)])),
    Row("normalize", data.normalize,
        dict(x=_t(2, 3, 2, 2, dtype=torch.uint8), mean=_t(3), std=lambda: torch.ones(3)),
        dict(x=[*tensors((3, 2, 2)), _t(2, 3, 2, 2)],
             mean=[*tensors((2,), (3, 1)), lambda: torch.tensor([0.5, NAN, 0.5])],
             std=[*tensors((4,)), lambda: torch.tensor([1.0, 0.0, 1.0]),
                  lambda: torch.tensor([1.0, INF, 1.0]), lambda: -torch.ones(3)])),
    Row("batches", data.batches,
        dict(images=_t(10, 1, 1, 1, dtype=torch.uint8), labels=lambda: torch.arange(10),
             batch_size=4, shuffle=False, generator=None, drop_last=False, device="cpu"),
        dict(images=tensors((9, 1, 1, 1), (10,)), labels=tensors((9,), (10, 1)),
             batch_size=ints(1), shuffle=BOOLS, generator=["g", 3], drop_last=BOOLS,
             device=["nonsense", None, 1.5])),
    Row("num_batches", data.num_batches, dict(n=10, batch_size=4, drop_last=False),
        dict(n=ints(0), batch_size=ints(1), drop_last=BOOLS)),
    Row("ImageData.subset", _subset, dict(n_train=4, n_test=2, seed=0),
        dict(n_train=[*ints(1), 11, HUGE], n_test=[*ints(1), 5],
             seed=[1.5, True, "0", None, NAN, -1]),
        covers=(data.ImageData.subset,)),
    Row("ImageData", data.ImageData,
        dict(train_images=_t(4, 3, 2, 2, dtype=torch.uint8),
             train_labels=lambda: torch.arange(4) % 2,
             test_images=_t(2, 3, 2, 2, dtype=torch.uint8), test_labels=lambda: torch.arange(2),
             classes=("a", "b")),
        dict(train_images=[*tensors((3, 2, 2)), _t(4, 3, 2, 2),
                           _t(5, 3, 2, 2, dtype=torch.uint8)],
             train_labels=[*tensors((4, 1)), lambda: torch.arange(4.0), lambda: torch.arange(4)],
             test_images=[*tensors((3, 2, 2)), _t(2, 3, 4, 4, dtype=torch.uint8)],
             test_labels=[*tensors((3,)), lambda: torch.tensor([0, 5])],
             classes=[None, "ab", (), (1, 2), ["a", "b"]])),
    # ------------------------------------------------------------------ training engine
    Row("recipe_for", _recipe,
        dict(recipe="fast", epochs=4, batch_size=1000, lr=0.24, momentum=0.85,
             label_smoothing=0.2, translate=2, flip="alternating", schedule="linear", tta=2,
             widths=(32, 128, 128), optimizer="muon", warmup=0.0, weight_decay=2e-6,
             nesterov=True, loss_sum=True, image_scales=(0.75,)),
        dict(recipe=["slow", 3, None], epochs=no_none(ints(1)), batch_size=no_none(ints(1)),
             lr=[0, -1.0, NAN, INF, "1", True], momentum=[1, -0.1, 1.5, NAN, "x", True],
             label_smoothing=[1, 1.5, -0.1, NAN, "x"], translate=[-1, 1.5, True, "2"],
             flip=["vertical", 3], schedule=["cosine", 3], tta=[3, -1, 1.5, "2"],
             widths=[(), (8, 0), (8, 1.5), "ab", 3], optimizer=["adam", 3],
             warmup=[1, -0.5, NAN, "x"], weight_decay=[-1.0, NAN, INF, "x", True],
             nesterov=["yes", 1], loss_sum=["yes", 0],
             image_scales=[(0,), (0.75, 1.5), (True,), (NAN,), "ab", 3]),
        covers=(recipes.recipe_for, recipes.Recipe)),
    Row("recipe_named_for", recipes.recipe_named_for, dict(network="wide"),
        dict(network=["resnet", 3, ""])),
    Row("lr_factor", recipes.lr_factor, dict(step=0, total=10, schedule="linear", warmup=0.0),
        dict(step=[-1, 10, 1.5, True, "0", None], total=ints(1),
             schedule=CHOICES, warmup=[1, -0.1, NAN, INF, "x", None, True])),
    Row("select_device", hardware.select_device, dict(device="cpu"),
        dict(device=["nonsense", 3, None, "cuda:x"])),
    Row("resolve_precision", hardware.resolve_precision,
        dict(precision="auto", device=torch.device("cpu"), hardware_bf16=None),
        dict(precision=["fp16", 3, None], device=["cpu", 3, None],
             hardware_bf16=["yes", 1, 0.0])),
    Row("describe_precision", hardware.describe_precision,
        dict(precision="auto", device=torch.device("cpu"), hardware_bf16=False),
        dict(precision=["fp16", 3, None], device=["cpu", 3, None],
             hardware_bf16=["yes", 1, 0.0])),
    Row("logits_with_plain", inference.logits_with_plain,
        dict(model=_tiny_net, images=_t(3, 3, 8, 8, dtype=torch.uint8), mean=_t(3),
             std=lambda: torch.ones(3), batch_size=2, device="cpu", precision="fp32", tta=1),
        dict(model=MODELS_BAD, images=[*tensors((3, 8, 8)), _t(3, 3, 8, 8)],
             mean=tensors((2,)), std=[*tensors((4,)), lambda: torch.zeros(3)],
             batch_size=ints(1), device=["nonsense", 3], precision=["fp16", None],
             tta=[3, -1, 1.5, "2", None])),
    Row("predict", inference.predict,
        dict(model=_tiny_net, images=_t(3, 3, 8, 8, dtype=torch.uint8), mean=_t(3),
             std=lambda: torch.ones(3), batch_size=2, device="cpu", precision="fp32", tta=2),
        dict(model=MODELS_BAD, images=[*tensors((3, 8, 8)), _t(3, 3, 8, 8)],
             mean=tensors((2,)), std=[*tensors((4,)), lambda: torch.zeros(3)],
             batch_size=ints(1), device=["nonsense", 3], precision=["fp16", None],
             tta=[3, -1, 1.5, "2", None])),
    Row("evaluate", inference.evaluate,
        dict(model=_tiny_net, data=_toy, split="test", mean=None, std=None, tta=0,
             device="cpu", precision="fp32"),
        dict(model=MODELS_BAD, data=[None, "d", _t(4, 3, 8, 8)], split=CHOICES,
             mean=tensors((2,))[1:], std=tensors((4,))[1:], tta=[3, "1"],
             device=["nonsense", 3], precision=["fp16", None])),
    Row("FastNet", models.FastNet, dict(widths=(4, 8), num_classes=2, whiten_size=2),
        dict(widths=[(), (4, 0), (4, 1.5), (4, True), None, 3], num_classes=ints(1),
             whiten_size=ints(1))),
    Row("build", _build_model, dict(name="tutorial"), dict(name=["resnet", 3, None]),
        covers=(models.build,)),
    Row("TrainLoader", _train_loader,
        dict(images=_t(6, 3, 4, 4, dtype=torch.uint8), labels=lambda: torch.arange(6),
             batch_size=2, mean=None, std=None, translate=1, flip="random", seed=0,
             device="cpu", memory_format=torch.channels_last),
        dict(images=tensors((3, 4, 4), (0, 3, 4, 4)), labels=tensors((5,), (6, 1)),
             batch_size=ints(1), mean=tensors((2,))[1:], std=tensors((4,))[1:],
             translate=[-1, 4, 1.5, True, "1", None], flip=CHOICES,
             seed=[1.5, True, "0", None, -1], device=["nonsense", 3, None],
             memory_format=["channels_last", 3, None]),
        covers=(loader.TrainLoader,)),
    Row("downscale", loader.downscale, dict(images=_t(2, 3, 8, 8), scale=0.5),
        dict(images=[*tensors((3, 8, 8)), _t(2, 3, 8, 8, dtype=torch.uint8)],
             scale=[0, -0.5, 1.5, NAN, INF, True, "0.5", None])),
    Row("reflect_pad", data.reflect_pad, dict(images=_t(2, 3, 4, 4), pad=1),
        dict(images=tensors((3, 4, 4)), pad=[-1, 4, 1.5, True, "1", None])),
    Row("crop", loader.crop,
        dict(padded=_t(2, 3, 6, 6), dy=lambda: torch.tensor([0, 2]),
             dx=lambda: torch.tensor([1, 0]), size=(4, 4)),
        dict(padded=tensors((3, 6, 6)),
             dy=[*tensors((2, 1)), lambda: torch.tensor([0, 5]), lambda: torch.tensor([0]),
                 lambda: torch.tensor([0.0, 1.0]), lambda: torch.tensor([-1, 0])],
             dx=[*tensors((3,)), lambda: torch.tensor([0, 9])],
             size=[(4,), (4, 0), (4, 1.5), (7, 4), 4, "44", None])),
    Row("orthogonalize", muon.orthogonalize,
        dict(G=_t(3, 5), steps=3, eps=1e-7, dtype=torch.float32),
        dict(G=tensors((3,), (2, 3, 4)), steps=[-1, 1.5, True, "3", None],
             eps=[0, -1.0, NAN, "x", None], dtype=[torch.float16, "bf16", None])),
    Row("Muon", muon.Muon, dict(params=_params, lr=0.02, momentum=0.6, nesterov=True,
                                 normalize=True, dtype=torch.bfloat16),
        dict(params=[None, 3, lambda: [nn.Parameter(torch.rand(4))]],
             lr=[-1.0, NAN, "x", None, True], momentum=[1, -0.1, NAN, "x", None],
             nesterov=BOOLS, normalize=BOOLS, dtype=[torch.float16, "bf16", None])),
    Row("make_optimizers", recipes.make_optimizers,
        dict(model=_tiny_net, r=lambda: recipes.recipe_for("fast"), precision="fp32"),
        dict(model=MODELS_BAD, r=["fast", None, 3], precision=["fp16", "auto", 3, None])),
    Row("fit", _fit,
        dict(model=_tiny_net, data=_toy, epochs=1, recipe="fast", device="cpu",
             precision="fp32", channels_last=True, seed=0, checkpoint=None, resume=False,
             live=None, progress=False, callback=None, config=None, minutes=None,
             eval_every=1),
        dict(model=MODELS_BAD, data=[None, "d", _t(4, 3, 8, 8)], epochs=no_none(ints(1)),
             recipe=["slow", 3, None], device=["nonsense", 3, None], precision=["fp16", 3],
             channels_last=BOOLS, seed=[1.5, True, "0", None, -1], checkpoint=PATHS,
             resume=BOOLS, live=["yes", 3], progress=BOOLS, callback=["f", 3],
             config=["x", 3, [1]], minutes=[0, -1.0, NAN, INF, "1", True],
             eval_every=[-1, 1.5, True, "1", None]),
        covers=(fit_module.fit,)),
    Row("load_checkpoint", _load,
        dict(path=_checkpoint_file, model=_tiny_net, optimizer=None, restore_rng=False),
        dict(path=[*PATHS, lambda: _checkpoint_file().parent], model=MODELS_BAD[1:],
             optimizer=["sgd", 3, [3]], restore_rng=BOOLS),
        covers=(checkpoint.load_checkpoint,)),
    Row("read_checkpoint", _read, dict(path=_checkpoint_file),
        dict(path=[*PATHS, lambda: _checkpoint_file().parent]),
        covers=(checkpoint.read_checkpoint,)),
    Row("restore_checkpoint", _restore,
        dict(ckpt=lambda: checkpoint.read_checkpoint(_checkpoint_file()), model=_tiny_net,
             optimizer=None, restore_rng=False, path="c.pt"),
        dict(ckpt=[None, "c.pt", 3], model=MODELS_BAD[1:], optimizer=["sgd", 3, [3]],
             restore_rng=BOOLS, path=PATHS),
        covers=(checkpoint.restore_checkpoint,)),
    Row("data_signature", fit_module.data_signature, dict(data=_toy),
        dict(data=[None, "d", _t(4, 3, 8, 8)])),
    Row("StopRequest", fit_module.StopRequest, dict(agreed=False), dict(agreed=BOOLS)),
    Row("stops_quietly", fit_module.stops_quietly, dict(message="stopped"),
        dict(message=[None, 3, b"stopped", ["stopped"]])),
    Row("shard", loader.shard, dict(n=10, rank=1, size=3),
        dict(n=ints(0), rank=[*ints(0), 3], size=ints(1))),
    Row("build_for", models.build_for, dict(recipe=lambda: recipes.RECIPES["fast"],
                                            network=None),
        dict(recipe=["fast", None, 3], network=["resnet", 3, ""])),
    Row("count_parameters", models.count_parameters, dict(model=_tiny_net),
        dict(model=MODELS_BAD)),
    Row("file_sha256", models.file_sha256, dict(path=_a_file), dict(path=PATHS)),
    *(Row(cls.__name__, cls, dict(num_classes=10), dict(num_classes=ints(1)))
      for cls in (models.TutorialNet, models.WideDropoutNet)),
    Row("FastBlock", models.FastBlock, dict(c_in=2, c_out=4),
        dict(c_in=ints(1), c_out=ints(1))),
    Row("conv3x3", models.conv3x3, dict(c_in=2, c_out=4), dict(c_in=ints(1), c_out=ints(1))),
    Row("batch_norm", models.batch_norm, dict(channels=4), dict(channels=ints(1))),
    Row("as_image", images.as_image, dict(image=_t(3, 4, 4), name="image"),
        dict(image=[None, "x", [[1.0]], _t(4), _t(1, 1, 4, 4), _t(2, 4, 4),
                    lambda: np.zeros((2, 2), dtype=object),
                    lambda: torch.zeros(2, 2, dtype=torch.complex64),
                    lambda: torch.tensor([[NAN]])],
             name=[3, None, ""])),
    Row("field_size", rf.field_size, dict(kernel_sizes=[3, 3], strides=[1, 2], dilations=None),
        dict(kernel_sizes=[3, None, [3], [0, 3], [1.5, 3], "ab"],
             strides=[3, None, [1], [0, 1], [True, 1]], dilations=[3, [1], [0, 1]])),
    Row("next_field", rf.next_field,
        dict(r=1, j=1, P=0, kernel_size=3, stride=1, padding=0, dilation=1),
        dict(r=ints(1), j=ints(1), P=[1.5, True, "0", None, NAN],
             kernel_size=ints(1), stride=ints(1), padding=ints(0), dilation=ints(1))),
    *(Row(f"timing.{fn.__name__}", fn, dict(fn=lambda: (lambda: None), repeat=2, warmup=0),
          dict(fn=FUNCTIONS_BAD, repeat=ints(1), warmup=ints(0)))
      for fn in (timing.measure, timing.best_time, timing.median_time)),
    Row("timing.benchmark_time", timing.benchmark_time,
        dict(fn=lambda: (lambda: None), num_threads=None, min_run_time=0.001, statistic="min"),
        dict(fn=[None, 3], num_threads=no_none(ints(1)), min_run_time=POSITIVE_FLOATS,
             statistic=[*CHOICES, "mean"])),
    Row("save_checkpoint", _save,
        dict(path=lambda: __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "c.pt",
             model=_tiny_net, optimizer=None, epoch=0, history=None, config=None,
             progress=None),
        dict(path=PATHS, model=MODELS_BAD, optimizer=["sgd", 3, [3]], epoch=ints(0),
             history=["h", 3, [1]], config=["c", 3], progress=["p", 3]),
        covers=(checkpoint.save_checkpoint,)),

]


# --------------------------------------------------------------------------- the calls


def _show(value: Any) -> str:
    if callable(value) and not isinstance(value, type):
        try:
            built = value()
        except Exception:
            return "fn"
        return f"tensor{tuple(built.shape)}" if isinstance(built, torch.Tensor) else "fn"
    return repr(value)


BAD_CALLS = [
    pytest.param(row, arg, value, id=f"{row.name}-{arg}={_show(value)}-{i}")
    for row in ROWS
    for arg, values in row.bad.items()
    for i, value in enumerate([*values, *row.extra.get(arg, [])])
]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A tiny ImageFolder tree, a temporary cache and no downloads."""
    import torchvision.datasets.cifar as tv_cifar

    def refuse(*args, **kwargs):
        raise AssertionError("the sweep must never download")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", refuse)
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / "ds" / split / c).mkdir(parents=True)
            Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(
                tmp_path / "ds" / split / c / "0.png")
    return tmp_path / "ds"


def _build(value: Any, tree_path: Any) -> Any:
    if value is TREE:
        return tree_path
    if callable(value) and not isinstance(value, (type, nn.Module)):
        return value()
    return value


def _call(row: Row, tree_path: Any, **override: Any) -> Any:
    kwargs = {k: _build(v, tree_path) for k, v in {**row.valid, **override}.items()}
    result = row.fn(**kwargs)
    if row.name == "plot_receptive_field":
        import matplotlib.pyplot as plt

        plt.close("all")
    return result


@pytest.mark.parametrize("row", [pytest.param(r, id=r.name) for r in ROWS])
def test_the_valid_call_works(row, tree):
    _call(row, tree)


@pytest.mark.parametrize("row, arg, value", BAD_CALLS)
def test_a_bad_argument_gets_a_clear_error(row, arg, value, tree):
    if arg == "ax":
        import matplotlib

        matplotlib.use("Agg")
    try:
        _call(row, tree, **{arg: value})
    except (ValueError, TypeError) as error:  # or a kind of them (TooLargeError)
        assert re.search(rf"\b{re.escape(arg)}\b", str(error)), (
            f"{row.name}({arg}={_show(value)}): the message does not name {arg!r}: {error}"
        )
    else:
        pytest.fail(f"{row.name}({arg}={_show(value)}) was accepted")


def test_every_row_sweeps_every_argument_of_its_function():
    for row in ROWS:
        params = set(inspect.signature(row.fn).parameters) - {"self"}
        assert params == set(row.valid) == set(row.bad), row.name
        assert all(row.bad.values()), f"{row.name}: an argument without bad values"


#: the modules whose public callables the sweep holds to the rule
SWEPT = [ops, shapes, counting, roofline, kernels, images, layers, antialias, rf, data, models,
         hardware, inference, timing, recipes, loader, muon, fit_module, checkpoint]

#: public callables of SWEPT without a row, and why
EXEMPT: dict[Any, str] = {
    hardware.autocast: "a context that fit and inference enter every step, with the device "
                       "they selected and the precision they resolved: it trusts them",
    recipes.set_learning_rates: "called every step by fit with the optimizers of "
                                "make_optimizers and a Recipe, both checked when made",
    fit_module.Run: "the set-up and phases of one fit, made by fit from arguments it checked",
    fit_module.StepSums: "the running sums of fit's Run, made by it from checked values",
    fit_module.check_memory: "part of fit's set-up, called with the values fit checked",
    fit_module.check_same_run: "part of fit's set-up: compares two configs fit built",
    checkpoint.set_rng_state: "restores what rng_state returned, for restore_checkpoint and "
                              "the data-parallel run, after they checked the checkpoint",
    data.normalize_unchecked: "normalize's per-batch path, for mean and std that the loop "
                              "checked once with check_mean_std (the normalize row)",
    data.check_mean_std: "the check that normalize, the loader and predict run once on their "
                         "mean and std (the normalize row sweeps its bad values); the caller "
                         "passes the channel count and the name of the images it checked",
    rf.Layer: "a row of the table receptive_field() builds, not made by callers",
    rf.ReceptiveField: "the table receptive_field() builds, not made by callers",
}


def public_callables(module: Any) -> list[tuple[str, Any]]:
    """``(name, object)`` of the functions and classes ``module`` defines (or, for a package,
    re-exports from its modules) whose names have no leading underscore."""
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = []
    for name in names:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                getattr(obj, "__module__", "").startswith(module.__name__):
            found.append((name, obj))
    return found


def uncovered(modules: list[Any], rows: list[Row], exempt: dict[Any, str]) -> list[str]:
    """The public callables of ``modules`` that take arguments and have neither a row nor a
    reason in ``exempt`` (errors, which are raised and not called, are left out)."""
    covered = {id(r.fn) for r in rows} | {id(c) for r in rows for c in r.covers}
    missing = []
    for module in modules:
        for name, obj in public_callables(module):
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # an error to raise, not a call to check
            if not set(inspect.signature(obj).parameters) - {"self"}:
                continue  # no argument, nothing to check
            if id(obj) not in covered and obj not in exempt:
                missing.append(f"{module.__name__}.{name}")
    return missing


def test_every_public_callable_of_the_swept_modules_has_a_row_or_a_reason():
    missing = uncovered(SWEPT, ROWS, EXEMPT)
    assert not missing, f"add a row (or a reason in EXEMPT) for: {missing}"
    covered = {id(r.fn) for r in ROWS} | {id(c) for r in ROWS for c in r.covers}
    for obj, reason in EXEMPT.items():
        assert id(obj) not in covered, f"{obj.__name__} has a row: take it out of EXEMPT"
        assert len(reason) > 20, obj.__name__


def test_the_coverage_check_finds_a_public_function_without_a_row():
    import types

    module = types.ModuleType("convbook.toy")
    exec("def spread(x: int) -> int:\n    return x\n\n"
         "def _hidden(y):\n    return y\n\n"
         "def constant() -> int:\n    return 3\n\n"
         "class Oops(ValueError):\n    pass\n", module.__dict__)
    assert uncovered([module], [], {}) == ["convbook.toy.spread"]
    row = Row("spread", module.spread, dict(x=1), dict(x=ints(0)))
    assert uncovered([module], [row], {}) == []
    assert uncovered([module], [], {module.spread: "a reason"}) == []


def test_ints_are_python_or_numpy_ints_never_bools():
    x, w = torch.rand(1, 1, 6, 6), torch.rand(1, 1, 3, 3)
    torch.testing.assert_close(ops.conv2d(x, w, stride=np.int64(2)), ops.conv2d(x, w, stride=2))
    assert shapes.conv_out_size(np.int32(8), 3) == (6, 6)  # numpy ints: answered per axis
    assert counting.conv_params(np.int64(4), 8, np.int64(3)) == counting.conv_params(4, 8, 3)
    with pytest.raises(TypeError, match=r"stride must be an int or a tuple of 2 ints, got True"):
        ops.conv2d(x, w, stride=True)
    with pytest.raises(TypeError, match=r"drop_last must be True or False, got 1"):
        data.num_batches(10, 3, drop_last=1)
    assert data.num_batches(10, 3, drop_last=np.bool_(True)) == 3
