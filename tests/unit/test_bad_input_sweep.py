"""Every public function answers bad arguments with a ValueError or TypeError naming them.

A table gives, for each public function of ``ops``, ``shapes``, ``counting``, ``kernels``,
``images``, ``layers``, ``antialias``, ``receptive_field``, ``data`` and the training engine
(``train``, ``recipes``, ``evaluation``, ``devices``, ``loader``, ``optim``, ``models``,
``checkpoint``), one valid call and the *kind* of
each argument; each kind brings its own bad values (wrong type, zero, negative, NaN, inf,
bool for an int, float for an int, wrong number of dimensions, empty tensors, ...), and a
row may add bad values of its own.  Every bad call is a test: it must raise ``ValueError``
or ``TypeError`` (``DatasetError`` is neither: a data problem, not a bad argument) whose
message names the argument.  Each call replaces one argument of a valid call, and the
valid calls are tested too, so an error can only come from the replaced argument.

``cli`` (argparse, tested in ``test_cli.py``), ``widgets``, ``live`` and ``check`` have
their own tests.
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
    checkpoint,
    counting,
    data,
    devices,
    evaluation,
    images,
    kernels,
    layers,
    loader,
    models,
    ops,
    optim,
    recipes,
    shapes,
    train,
)
from convbook import receptive_field as rf

NAN, INF = float("nan"), float("inf")
HUGE = 10**9


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
    """A public function, a valid call, and the bad values of each argument."""

    name: str
    fn: Callable[..., Any]
    valid: dict[str, Any]
    bad: dict[str, list[Any]]
    extra: dict[str, list[Any]] = field(default_factory=dict)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 1, 3))


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
    return train.fit(model, data, epochs, recipe=recipe, device=device, precision=precision,
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


MODELS_BAD = [None, "net", 3, lambda: torch.zeros(2)]


TREE = object()  # stands for the small ImageFolder tree built by the ``tree`` fixture

ROWS = [
    # ------------------------------------------------------------------ ops
    Row("conv2d", ops.conv2d,
        dict(input=_t(1, 2, 5, 5), weight=_t(3, 2, 3, 3), bias=_t(3), stride=1, padding=0,
             dilation=1, groups=1),
        dict(input=tensors((2, 5), (1, 1, 2, 5, 5), (1, 2, 0, 5), (1, 3, 5, 5)),
             weight=tensors((3, 2, 3), (3, 2, 0, 3), (3, 1, 3, 3)),
             bias=no_none(tensors((3, 1), (4,))),
             stride=pairs(1), padding=[*pairs(0), "full"], dilation=pairs(1),
             groups=[*ints(1), 3]),
        extra=dict(input=[_t(1, 2, 5, 5, dtype=torch.float64), _t(1, 2, 5, 5, dtype=torch.bool)],
                   bias=[_t(3, dtype=torch.float64)])),
    Row("conv3d", ops.conv3d,
        dict(input=_t(1, 2, 4, 4, 4), weight=_t(3, 2, 2, 2, 2), bias=_t(3), stride=1,
             padding=0, dilation=1, groups=1),
        dict(input=tensors((2, 4, 4), (1, 1, 2, 4, 4, 4), (1, 2, 0, 4, 4), (1, 3, 4, 4, 4)),
             weight=tensors((3, 2, 2, 2), (3, 2, 0, 2, 2), (3, 1, 2, 2, 2)),
             bias=no_none(tensors((3, 1), (2,))),
             stride=pairs(1, 3), padding=pairs(0, 3), dilation=pairs(1, 3),
             groups=[*ints(1), 3]),
        extra=dict(weight=[_t(3, 2, 2, 2, 2, dtype=torch.float64)])),
    Row("conv_transpose2d", ops.conv_transpose2d,
        dict(input=_t(1, 2, 4, 4), weight=_t(2, 3, 3, 3), bias=_t(3), stride=1, padding=0,
             output_padding=0, groups=1, dilation=1),
        dict(input=tensors((4, 4), (1, 1, 2, 4, 4), (1, 2, 0, 4), (1, 3, 4, 4)),
             weight=tensors((2, 3, 3), (2, 3, 0, 3), (3, 3, 3, 3)),
             bias=no_none(tensors((3, 1), (4,))),
             stride=pairs(1), padding=pairs(0), output_padding=[*pairs(0), 2],
             groups=[*ints(1), 3], dilation=pairs(1)),
        extra=dict(weight=[_t(2, 3, 3, 3, dtype=torch.float64)])),
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
        dict(K=tensors((2,), (1, 2, 2), (0, 2)), input_shape=[*pairs(1), (1, 1)])),
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
    # ------------------------------------------------------------------ kernels
    *(Row(f"kernels.{name}", getattr(kernels, name), dict(size=3),
          dict(size=[*ints(1), HUGE])) for name in ("identity", "box_blur")),
    *(Row(f"kernels.{name}", getattr(kernels, name), dict(size=3, sigma=1.0),
          dict(size=[*ints(1), HUGE], sigma=POSITIVE_FLOATS))
      for name in ("gaussian_1d", "gaussian_blur")),
    # ------------------------------------------------------------------ images
    Row("photo", images.photo, dict(name="camera", gray=False, size=8),
        dict(name=CHOICES, gray=BOOLS, size=[*no_none(ints(1)), HUGE])),
    Row("resize_shorter_side", images.resize_shorter_side, dict(image=_t(3, 8, 8), size=4),
        dict(image=tensors((8,), (1, 1, 3, 8, 8), (3, 0, 8)), size=[*ints(1), HUGE])),
    # ------------------------------------------------------------------ layers
    Row("Conv2D", _conv2d_layer, dict(kernel_size=3, X=_t(5, 5)),
        dict(kernel_size=[*pairs(1), HUGE], X=tensors((5,), (1, 5, 5), (0, 5)))),
    # ------------------------------------------------------------------ antialias
    *(Row(name, fn, dict(x=_t(1, 2, 4, 4), padding_mode="zeros"),
          dict(x=[*tensors((4, 4), (2, 4, 4), (1, 2, 4, 4, 1), (0, 2, 4, 4), (1, 2, 0, 4),
                           *too_small), _t(1, 2, 4, 4, dtype=torch.uint8)],
               padding_mode=CHOICES))
      for name, fn, too_small in (
          ("blur_pool2d", antialias.blur_pool2d, ()),
          ("max_blur_pool2d", antialias.max_blur_pool2d, ((1, 2, 1, 4), (1, 2, 4, 1))),
          ("BlurPool2d", _blur_layer, ()),
          ("MaxBlurPool2d", _max_blur_layer, ((1, 2, 1, 4),)))),
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
        dict(root=TREE, cache=None, download=False, expected_sizes=None),
        dict(root=PATHS, cache=PATHS, download=BOOLS,
             expected_sizes=["garbage", 3, {"train": 5}, {"train": 0, "test": 1},
                             {"train": 1.5, "test": 1}, {"train": True, "test": 1}])),
    Row("channel_stats", data.channel_stats, dict(images=_t(4, 3, 2, 2, dtype=torch.uint8)),
        dict(images=[*tensors((3, 2, 2), (0, 3, 2, 2)), _t(4, 3, 2, 2)])),
    Row("normalize", data.normalize,
        dict(x=_t(2, 3, 2, 2, dtype=torch.uint8), mean=_t(3), std=lambda: torch.ones(3)),
        dict(x=[*tensors((3, 2, 2)), _t(2, 3, 2, 2)],
             mean=[*tensors((2,), (3, 1)), lambda: torch.tensor([0.5, NAN, 0.5])],
             std=[*tensors((4,)), lambda: torch.tensor([1.0, 0.0, 1.0]),
                  lambda: torch.tensor([1.0, INF, 1.0]), lambda: -torch.ones(3)])),
    Row("augment", data.augment,
        dict(x=_t(2, 3, 4, 4, dtype=torch.uint8), pad=1, flip=True, padding_mode="reflect",
             generator=None),
        dict(x=tensors((3, 4, 4)), pad=[*ints(0), 4, HUGE], flip=BOOLS,
             padding_mode=CHOICES, generator=["g", 3])),
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
             seed=[1.5, True, "0", None, NAN, -1])),
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
             image_scales=[(0,), (0.75, 1.5), (True,), (NAN,), "ab", 3])),
    Row("lr_factor", recipes.lr_factor, dict(step=0, total=10, schedule="linear", warmup=0.0),
        dict(step=[-1, 10, 1.5, True, "0", None], total=ints(1),
             schedule=CHOICES, warmup=[1, -0.1, NAN, INF, "x", None, True])),
    Row("select_device", devices.select_device, dict(device="cpu"),
        dict(device=["nonsense", 3, None, "cuda:x"])),
    Row("resolve_precision", devices.resolve_precision,
        dict(precision="auto", device=torch.device("cpu"), hardware_bf16=None),
        dict(precision=["fp16", 3, None], device=["cpu", 3, None],
             hardware_bf16=["yes", 1, 0.0])),
    Row("describe_precision", devices.describe_precision,
        dict(precision="auto", device=torch.device("cpu"), hardware_bf16=False),
        dict(precision=["fp16", 3, None], device=["cpu", 3, None],
             hardware_bf16=["yes", 1, 0.0])),
    Row("logits_with_plain", evaluation.logits_with_plain,
        dict(model=_tiny_net, images=_t(3, 3, 8, 8, dtype=torch.uint8), mean=_t(3),
             std=lambda: torch.ones(3), batch_size=2, device="cpu", precision="fp32", tta=1),
        dict(model=MODELS_BAD, images=[*tensors((3, 8, 8)), _t(3, 3, 8, 8)],
             mean=tensors((2,)), std=[*tensors((4,)), lambda: torch.zeros(3)],
             batch_size=ints(1), device=["nonsense", 3], precision=["fp16", None],
             tta=[3, -1, 1.5, "2", None])),
    Row("predict", evaluation.predict,
        dict(model=_tiny_net, images=_t(3, 3, 8, 8, dtype=torch.uint8), mean=_t(3),
             std=lambda: torch.ones(3), batch_size=2, device="cpu", precision="fp32", tta=2),
        dict(model=MODELS_BAD, images=[*tensors((3, 8, 8)), _t(3, 3, 8, 8)],
             mean=tensors((2,)), std=[*tensors((4,)), lambda: torch.zeros(3)],
             batch_size=ints(1), device=["nonsense", 3], precision=["fp16", None],
             tta=[3, -1, 1.5, "2", None])),
    Row("evaluate", evaluation.evaluate,
        dict(model=_tiny_net, data=_toy, split="test", mean=None, std=None, tta=0,
             device="cpu", precision="fp32"),
        dict(model=MODELS_BAD, data=[None, "d", _t(4, 3, 8, 8)], split=CHOICES,
             mean=tensors((2,))[1:], std=tensors((4,))[1:], tta=[3, "1"],
             device=["nonsense", 3], precision=["fp16", None])),
    Row("FastNet", models.FastNet, dict(widths=(4, 8), num_classes=2, whiten_size=2),
        dict(widths=[(), (4, 0), (4, 1.5), (4, True), None, 3], num_classes=ints(1),
             whiten_size=ints(1))),
    Row("build", _build_model, dict(name="tutorial"), dict(name=["resnet", 3, None])),
    Row("TrainLoader", _train_loader,
        dict(images=_t(6, 3, 4, 4, dtype=torch.uint8), labels=lambda: torch.arange(6),
             batch_size=2, mean=None, std=None, translate=1, flip="random", seed=0,
             device="cpu", memory_format=torch.channels_last),
        dict(images=tensors((3, 4, 4), (0, 3, 4, 4)), labels=tensors((5,), (6, 1)),
             batch_size=ints(1), mean=tensors((2,))[1:], std=tensors((4,))[1:],
             translate=[-1, 4, 1.5, True, "1", None], flip=CHOICES,
             seed=[1.5, True, "0", None, -1], device=["nonsense", 3, None],
             memory_format=["channels_last", 3, None])),
    Row("downscale", loader.downscale, dict(images=_t(2, 3, 8, 8), scale=0.5),
        dict(images=[*tensors((3, 8, 8)), _t(2, 3, 8, 8, dtype=torch.uint8)],
             scale=[0, -0.5, 1.5, NAN, INF, True, "0.5", None])),
    Row("reflect_pad", loader.reflect_pad, dict(images=_t(2, 3, 4, 4), pad=1),
        dict(images=tensors((3, 4, 4)), pad=[-1, 4, 1.5, True, "1", None])),
    Row("crop", loader.crop,
        dict(padded=_t(2, 3, 6, 6), dy=lambda: torch.tensor([0, 2]),
             dx=lambda: torch.tensor([1, 0]), size=(4, 4)),
        dict(padded=tensors((3, 6, 6)),
             dy=[*tensors((2, 1)), lambda: torch.tensor([0, 5]), lambda: torch.tensor([0]),
                 lambda: torch.tensor([0.0, 1.0]), lambda: torch.tensor([-1, 0])],
             dx=[*tensors((3,)), lambda: torch.tensor([0, 9])],
             size=[(4,), (4, 0), (4, 1.5), (7, 4), 4, "44", None])),
    Row("orthogonalize", optim.orthogonalize,
        dict(G=_t(3, 5), steps=3, eps=1e-7, dtype=torch.float32),
        dict(G=tensors((3,), (2, 3, 4)), steps=[-1, 1.5, True, "3", None],
             eps=[0, -1.0, NAN, "x", None], dtype=[torch.float16, "bf16", None])),
    Row("Muon", optim.Muon, dict(params=_params, lr=0.02, momentum=0.6, nesterov=True,
                                 normalize=True, dtype=torch.bfloat16),
        dict(params=[None, 3, lambda: [nn.Parameter(torch.rand(4))]],
             lr=[-1.0, NAN, "x", None, True], momentum=[1, -0.1, NAN, "x", None],
             nesterov=BOOLS, normalize=BOOLS, dtype=[torch.float16, "bf16", None])),
    Row("make_optimizers", train.make_optimizers,
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
             eval_every=[-1, 1.5, True, "1", None])),
    Row("save_checkpoint", _save,
        dict(path=lambda: __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "c.pt",
             model=_tiny_net, optimizer=None, epoch=0, history=None, config=None,
             progress=None),
        dict(path=PATHS, model=MODELS_BAD, optimizer=["sgd", 3, [3]], epoch=ints(0),
             history=["h", 3, [1]], config=["c", 3], progress=["p", 3])),

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
    except (ValueError, TypeError) as error:
        assert type(error) in (ValueError, TypeError), f"{type(error).__name__}: {error}"
        assert re.search(rf"\b{re.escape(arg)}\b", str(error)), (
            f"{row.name}({arg}={_show(value)}): the message does not name {arg!r}: {error}"
        )
    else:
        pytest.fail(f"{row.name}({arg}={_show(value)}) was accepted")


def test_the_sweep_is_large_and_covers_every_argument():
    assert len(BAD_CALLS) > 700
    for row in ROWS:
        params = set(inspect.signature(row.fn).parameters) - {"self"}
        assert params == set(row.valid) == set(row.bad), row.name


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
