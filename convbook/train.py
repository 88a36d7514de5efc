"""A small, fast, reproducible training engine for the CIFAR-10 chapter.

``fit(model, data, epochs)`` trains with a named recipe (``"tutorial"`` or ``"fast"``), on
the best device available, with batched on-device augmentation, a one-cycle learning-rate
schedule, label smoothing, mixed precision on GPU, live curves, checkpoints every epoch,
exact resumption, and a checkpoint on Ctrl-C.  ``evaluate`` and ``predict`` measure a model.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convbook._args import check_positive_int
from convbook.checkpoint import load_checkpoint, save_checkpoint
from convbook.data import ImageData, augment, batches, normalize, num_batches
from convbook.live import LiveLoss


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one way to train.

    Attributes:
        batch_size: images per step.
        lr: peak learning rate of SGD.
        momentum, nesterov, weight_decay: SGD settings.
        label_smoothing: weight moved from the true class to all classes in the loss.
        augment: random crop (``pad`` pixels) and horizontal flip of every training batch.
        pad: padding before the random crop.
        schedule: ``"onecycle"`` (linear warm-up for ``warmup`` of the steps, then linear
            decay to 0) or ``"constant"``.
        warmup: fraction of all steps spent warming up.
        tta: test-time augmentation: average the logits of each image and its mirror image.
    """

    batch_size: int = 512
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    augment: bool = True
    pad: int = 2
    schedule: str = "onecycle"
    warmup: float = 0.2
    tta: bool = True


RECIPES = {
    # PyTorch's "Training a Classifier" tutorial: plain SGD with momentum, no augmentation
    # (its batch size of 4 is raised to 32 so that a CPU epoch takes seconds, not minutes).
    "tutorial": Recipe(batch_size=32, lr=0.01, nesterov=False, weight_decay=0.0,
                       label_smoothing=0.0, augment=False, schedule="constant", tta=False),
    # airbench-style: Nesterov SGD, one-cycle, label smoothing 0.2, flip + translate, TTA.
    "fast": Recipe(),
}


def recipe_for(name: str | Recipe, **overrides: Any) -> Recipe:
    """The named recipe with ``overrides`` applied (``None`` values are ignored)."""
    if isinstance(name, Recipe):
        base = name
    elif name in RECIPES:
        base = RECIPES[name]
    else:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)} or a Recipe, got {name!r}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(Recipe)}
    if unknown:
        raise TypeError(f"unknown recipe settings: {sorted(unknown)}")
    r = dataclasses.replace(base, **changes)
    check_positive_int(r.batch_size, "batch_size")
    if r.schedule not in ("onecycle", "constant"):
        raise ValueError(f"schedule must be 'onecycle' or 'constant', got {r.schedule!r}")
    if not 0 <= r.warmup < 1:
        raise ValueError(f"warmup must be in [0, 1), got {r.warmup}")
    return r


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else Apple's MPS, else CPU; otherwise as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` → ``"bf16"`` on a CUDA GPU that supports it, else ``"fp32"``.

    On CPU, bf16 autocast only pays off on processors with bf16 matrix units (AMX), so it is
    opt-in there (``precision="bf16"``).
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return "bf16" if cuda_bf16 else "fp32"
    return precision


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def lr_factor(step: int, total: int, schedule: str, warmup: float) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``total`` steps.

    one-cycle: rises linearly from ``1/total_warmup`` to 1 over the first ``warmup·total``
    steps, then falls linearly to 0 at the last step.
    """
    if schedule == "constant":
        return 1.0
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    return max(0.0, (total - step) / max(1, total - n_warm))


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    batch_size: int = 1000,
    device: str | torch.device = "auto",
    precision: str = "auto",
    tta: bool = False,
) -> torch.Tensor:
    """Logits ``(N, num_classes)`` (float32, on the CPU) for ``images: (N, 3, H, W)`` uint8.

    With ``tta`` the logits of each image and of its mirror image are averaged.
    """
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = normalize(images[start:start + batch_size].to(dev), mean, std)
            with _autocast(dev, prec):
                logits = model(x).float()
                if tta:
                    logits = (logits + model(x.flip(3)).float()) / 2
            out.append(logits.cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def evaluate(
    model: nn.Module,
    data: ImageData,
    *,
    split: str = "test",
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
    tta: bool = False,
    device: str | torch.device = "auto",
    precision: str = "auto",
) -> dict[str, float]:
    """Cross-entropy loss and accuracy of ``model`` on ``data``'s ``"test"`` or ``"train"``
    split, normalised with the training set's statistics unless ``mean``/``std`` are given."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if mean is None or std is None:
        mean, std = data.mean_std()
    images = data.test_images if split == "test" else data.train_images
    labels = data.test_labels if split == "test" else data.train_labels
    logits = predict(model, images, mean, std, tta=tta, device=device, precision=precision)
    return {
        "loss": F.cross_entropy(logits, labels).item(),
        "acc": (logits.argmax(1) == labels).float().mean().item(),
    }


Callback = Callable[[int, dict[str, list]], None]


def fit(
    model: nn.Module,
    data: ImageData,
    epochs: int,
    *,
    recipe: str | Recipe = "fast",
    device: str | torch.device = "auto",
    precision: str = "auto",
    channels_last: bool = True,
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    live: LiveLoss | bool | None = None,
    progress: bool = True,
    callback: Callback | None = None,
    config: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, list]:
    """Train ``model`` on ``data`` for ``epochs`` epochs and return the history.

    Args:
        model: any ``(N, 3, H, W) → (N, classes)`` module; moved to the device.
        data: train and test images as uint8 tensors (:func:`convbook.data.cifar10`).
        recipe: ``"fast"``, ``"tutorial"`` or a :class:`Recipe`; ``overrides`` replace its
            fields (``lr=0.1``, ``batch_size=256``, ...).
        device: ``"auto"`` (CUDA, MPS, CPU), or a device.
        precision: ``"auto"`` (bf16 autocast on GPU, fp32 elsewhere), ``"fp32"`` or ``"bf16"``.
        channels_last: NHWC memory layout (default): 1.56x faster per epoch than NCHW
            for ``FastNet`` on a 2-core CPU (``benchmarks/memory_format.py``), and the
            layout GPU tensor cores want.
        seed: seeds the weights' dropout and the shuffling and augmentation of each epoch;
            the same seed gives the same run.
        checkpoint: save a checkpoint here after every epoch and on Ctrl-C.
        resume: continue from ``checkpoint`` if it exists; the result equals an
            uninterrupted run's.
        live: a :class:`LiveLoss`, ``True`` for a new one, ``None``/``False`` for none.
        progress: show a ``tqdm`` bar per epoch.
        callback: called as ``callback(epoch, history)`` after each epoch (and its checkpoint).
        config: plain values stored in the checkpoint (e.g. the model's name).

    Returns:
        ``{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "time"}``, one
        list entry per epoch; ``time`` is the seconds since the start of the run.
    """
    check_positive_int(epochs, "epochs")
    r = recipe_for(recipe, **overrides)
    dev = select_device(device)
    prec = resolve_precision(precision, dev)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(dev, memory_format=fmt)
    mean, std = (t.to(dev) for t in data.mean_std())
    opt = torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum,
                          nesterov=r.nesterov and r.momentum > 0, weight_decay=r.weight_decay)
    n_train = len(data.train_labels)
    steps = num_batches(n_train, r.batch_size)
    total = epochs * steps
    ckpt_config = {**(config or {}), **dataclasses.asdict(r), "seed": seed, "epochs": epochs,
                   "mean": mean.tolist(), "std": std.tolist()}

    history: dict[str, list] = {k: [] for k in
                                ("epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                                 "lr", "time")}
    start_epoch, elapsed = 0, 0.0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        ckpt = load_checkpoint(checkpoint, model, opt, map_location=dev, restore_rng=True)
        start_epoch, history = ckpt["epoch"], ckpt["history"]
        elapsed = history["time"][-1] if history["time"] else 0.0
    else:
        torch.manual_seed(seed)
    if live is True:
        live = LiveLoss()
    t0 = time.perf_counter() - elapsed
    epoch = start_epoch
    done = start_epoch

    def save() -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, opt, epoch=done, history=history,
                            config=ckpt_config)

    from tqdm.auto import tqdm

    try:
        for epoch in range(start_epoch, epochs):
            g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            model.train()
            loss_sum = torch.zeros((), device=dev)
            correct = torch.zeros((), device=dev, dtype=torch.long)
            bar = tqdm(batches(data.train_images, data.train_labels, r.batch_size, shuffle=True,
                               generator=g, device=dev),
                       total=steps, desc=f"epoch {epoch + 1}/{epochs}", leave=False,
                       disable=not progress)
            for i, (xb, yb) in enumerate(bar):
                step = epoch * steps + i
                lr = r.lr * lr_factor(step, total, r.schedule, r.warmup)
                for group in opt.param_groups:
                    group["lr"] = lr
                if r.augment:
                    xb = augment(xb, pad=r.pad, generator=g)
                x = normalize(xb, mean, std).contiguous(memory_format=fmt)
                with _autocast(dev, prec):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=r.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.detach() * len(yb)
                correct += (logits.argmax(1) == yb).sum()
                if live:
                    live.update(epoch + (i + 1) / steps, loss=loss.item())
            train_loss = loss_sum.item() / n_train
            train_acc = correct.item() / n_train
            test = evaluate(model, data, mean=mean, std=std, tta=r.tta, device=dev,
                            precision=prec)
            done = epoch + 1
            for key, value in (("epoch", done), ("train_loss", train_loss),
                               ("train_acc", train_acc), ("test_loss", test["loss"]),
                               ("test_acc", test["acc"]), ("lr", lr),
                               ("time", time.perf_counter() - t0)):
                history[key].append(value)
            if live:
                live.epoch_end(done, train_acc=round(train_acc, 4),
                               test_loss=round(test["loss"], 4),
                               test_acc=round(test["acc"], 4))
            save()
            if callback is not None:
                callback(done, history)
    except KeyboardInterrupt:
        # Save what there is: the weights of the interrupted epoch, labelled with the number
        # of completed epochs, so that resuming repeats the unfinished epoch.
        save()
        if checkpoint is not None:
            print(f"\ninterrupted: checkpoint with {done} completed epochs saved to {checkpoint}")
        raise
    finally:
        if live:
            live.close()
    return history
