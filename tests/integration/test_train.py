"""convbook.training.fit: reproducible fits, exact resumption after Ctrl-C, evaluation,
recipes."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convbook import hardware, inference
from convbook.data import ImageData, channel_stats, normalize
from convbook.models import FastNet, WideDropoutNet
from convbook.training import fit as fit_module
from convbook.training import recipes
from convbook.training.checkpoint import CheckpointError, load_checkpoint
from convbook.training.fit import (
    HISTORY_KEYS,
    NonFiniteLossError,
    ResumeMismatchError,
    TrainingInterrupted,
    fit,
)
from convbook.training.live import LiveLoss

# training runs, subprocesses and the real archive: not in `make test-fast`
pytestmark = pytest.mark.slow


def toy_data(n_train=48, n_test=16, size=8, seed=0) -> ImageData:
    """Two classes a small network separates: bright images and dark images, with noise."""
    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.arange(n) % 2
        base = torch.where(y.view(-1, 1, 1, 1) == 1, 170.0, 80.0)
        x = base + 40 * torch.randn(n, 3, size, size, generator=g)
        return x.clamp(0, 255).to(torch.uint8), y

    return ImageData(*make(n_train), *make(n_test), ("dark", "bright"))


def tiny_net():
    torch.manual_seed(0)
    return FastNet(widths=(4, 8), num_classes=2)


FAST = dict(batch_size=16, progress=False, device="cpu", precision="fp32")


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    for (k, x), y in zip(weights(a).items(), weights(b).values()):
        assert torch.equal(x, y), k


class SigintAtStep(LiveLoss):
    """A LiveLoss that sends this process a real SIGINT when step ``at`` is recorded."""

    def __init__(self, at: int, times: int = 1):
        super().__init__("silent")
        self.at, self.times, self.count = at, times, 0

    def update(self, step, **metrics):
        super().update(step, **metrics)
        self.count += 1
        if self.count == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


def test_same_seed_same_run_and_history():
    d = toy_data()
    a, b = tiny_net(), tiny_net()
    ha = fit(a, d, 2, **FAST)
    hb = fit(b, d, 2, **FAST)
    assert_same_weights(a, b)
    assert {k: v for k, v in ha.items() if k != "time"} == \
        {k: v for k, v in hb.items() if k != "time"}
    assert ha["epoch"] == [1, 2] and set(ha) == set(HISTORY_KEYS)
    assert ha["tta_acc"][0] is None and 0 <= ha["tta_acc"][1] <= 1  # TTA after the last epoch
    assert ha["time"][0] < ha["time"][1]
    c = tiny_net()
    fit(c, d, 2, seed=1, **FAST)
    assert not torch.equal(weights(a)["head.weight"], weights(c)["head.weight"])


def test_it_learns_a_separable_task_with_each_optimizer():
    d = toy_data(n_train=128, n_test=64)
    for overrides in ({}, {"optimizer": "sgd", "lr": 0.05, "loss_sum": False}):
        h = fit(tiny_net(), d, 4, **FAST, **overrides)
        assert h["test_acc"][-1] >= 0.9, overrides
        assert h["train_loss"][-1] < h["train_loss"][0]


def test_whitening_is_set_from_the_data_before_training():
    d = toy_data()
    net = tiny_net()
    before = net.whiten.weight.clone()
    fit(net, d, 1, **FAST)
    assert not torch.equal(before, net.whiten.weight)
    assert not net.whiten.weight.requires_grad and net.whiten.bias.requires_grad


def test_interrupt_between_epochs_then_resume_equals_an_uninterrupted_run(tmp_path):
    d = toy_data()
    straight = tiny_net()
    fit(straight, d, 3, **FAST)

    def stop_after_first(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), d, 3, checkpoint=tmp_path / "c.pt", callback=stop_after_first, **FAST)
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 1
    fresh = tiny_net()  # a new process would start from scratch weights
    h = fit(fresh, d, 3, checkpoint=tmp_path / "c.pt", resume=True, **FAST)
    assert_same_weights(straight, fresh)
    assert h["epoch"] == [1, 2, 3]


@pytest.mark.parametrize("at", [2, 4, 5, 9])  # 3 steps an epoch: mid-epoch and at ends
def test_sigint_mid_epoch_saves_and_resume_is_exact(tmp_path, at):
    d = toy_data()
    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in the background
    straight = tiny_net()
    h_straight = fit(straight, d, 3, **FAST)

    with pytest.raises(TrainingInterrupted, match=r"checkpoint saved to .*c\.pt; fit\(\.\.\., "
                       r"resume=True\) with the same arguments continues where it stopped"):
        fit(tiny_net(), d, 3, checkpoint=tmp_path / "c.pt", live=SigintAtStep(at), **FAST)
    saved = load_checkpoint(tmp_path / "c.pt")
    assert saved["epoch"] * 3 + saved["progress"].get("step", 0) == at  # stopped after step `at`
    fresh = tiny_net()
    h = fit(fresh, d, 3, checkpoint=tmp_path / "c.pt", resume=True, **FAST)
    assert_same_weights(straight, fresh)
    for key in ("train_loss", "train_acc", "test_acc", "tta_acc", "lr"):
        assert h[key] == h_straight[key], key
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the caller's handler back


def test_a_second_sigint_stops_at_once_and_keeps_the_last_good_checkpoint(tmp_path):
    d = toy_data()

    def stop_after_first(epoch, history):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(), d, 3, checkpoint=tmp_path / "c.pt", callback=stop_after_first, **FAST)
    with pytest.raises(TrainingInterrupted, match=r"c\.pt holds the last completed epoch"):
        fit(tiny_net(), d, 3, checkpoint=tmp_path / "c.pt", resume=True,
            live=SigintAtStep(2, times=2), **FAST)
    ck = load_checkpoint(tmp_path / "c.pt")
    assert ck["epoch"] == 1 and not ck["progress"]


def test_resume_with_dropout_restores_the_rng(tmp_path):
    d = toy_data(size=32, n_train=8, n_test=4)

    def net():
        torch.manual_seed(0)
        return WideDropoutNet(num_classes=2)

    cfg = dict(recipe="tutorial", batch_size=4, progress=False, device="cpu")
    straight = net()
    fit(straight, d, 2, **cfg)
    with pytest.raises(KeyboardInterrupt):
        fit(net(), d, 2, checkpoint=tmp_path / "c.pt", live=SigintAtStep(3), **cfg)
    again = net()
    fit(again, d, 2, checkpoint=tmp_path / "c.pt", resume=True, **cfg)
    assert_same_weights(straight, again)


def test_resume_refuses_a_different_run(tmp_path):
    d = toy_data()
    fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", config={"model": "fast"}, **FAST)
    for change in ({"lr": 0.1}, {"seed": 1}, {"config": {"model": "tutorial"}}):
        with pytest.raises(ResumeMismatchError, match=r"c\.pt: it was written by a different"):
            fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", resume=True,
                  **{"config": {"model": "fast"}, **FAST, **change})
    other = toy_data(seed=1)
    with pytest.raises(ResumeMismatchError, match="data: checkpoint"):
        fit(tiny_net(), ImageData(other.train_images, other.train_labels.flip(0),
                                    other.test_images, other.test_labels, other.classes),
              2, checkpoint=tmp_path / "c.pt", resume=True, config={"model": "fast"}, **FAST)


def test_resume_from_a_truncated_checkpoint_names_the_file(tmp_path):
    d = toy_data()
    fit(tiny_net(), d, 1, checkpoint=tmp_path / "c.pt", **FAST)
    raw = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match=r"c\.pt is not a readable convbook checkpoint"):
        fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", resume=True, **FAST)


def test_a_non_finite_loss_stops_with_a_clear_message():
    with pytest.raises(NonFiniteLossError, match=r"loss became (nan|inf) at epoch 1, step \d"):
        fit(tiny_net(), toy_data(), 2, optimizer="sgd", lr=1e30, **FAST)


def test_minutes_budget_stops_after_the_epoch_that_crosses_it(tmp_path):
    d = toy_data()
    h = fit(tiny_net(), d, 5, checkpoint=tmp_path / "c.pt", minutes=1e-9, **FAST)
    assert h["epoch"] == [1] and h["tta_acc"][0] is not None
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 1


def test_eval_every_measures_only_the_epochs_asked_for():
    h = fit(tiny_net(), toy_data(), 3, eval_every=2, **FAST)
    assert [a is not None for a in h["test_acc"]] == [False, True, True]  # the last always
    h = fit(tiny_net(), toy_data(), 2, eval_every=0, **FAST)
    assert [a is not None for a in h["test_acc"]] == [False, True]


def test_checkpoint_every_epoch_and_live_loss(tmp_path):
    d = toy_data()
    lines = []
    live = LiveLoss("text", print_fn=lines.append)
    fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", live=live, config={"model": "x"},
          **FAST)
    ck = load_checkpoint(tmp_path / "c.pt")
    assert ck["epoch"] == 2 and ck["config"]["model"] == "x"
    assert ck["config"]["settings"]["batch_size"] == 16
    assert len(lines) == 2 and lines[0].startswith("epoch 1: train_acc")
    assert "tta_acc" in lines[1] and "tta_acc" not in lines[0]
    assert len(live.steps["loss"]) == 2 * 3  # 48 images / 16 per batch, two epochs


def test_checkpoint_is_read_on_the_cpu_whatever_the_device(tmp_path, monkeypatch):
    d = toy_data()
    fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", **FAST)
    seen = []
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", resume=True, **FAST)
    assert seen and set(seen) == {"cpu"}  # RNG byte tensors must never land on a GPU


def test_evaluate_and_predict_match_a_direct_computation():
    d = toy_data()
    net = tiny_net().eval()
    mean, std = channel_stats(d.train_images)
    x = normalize(d.test_images, mean, std)
    with torch.no_grad():
        logits = net(x)
        flipped = net(x.flip(3))
        p = F.pad(x, (1, 1, 1, 1), mode="reflect")
        shifted = [net(p[:, :, :8, :8]), net(p[:, :, :8, :8].flip(3)),
                   net(p[:, :, 2:, 2:]), net(p[:, :, 2:, 2:].flip(3))]
    got = inference.evaluate(net, d, device="cpu", precision="fp32")
    assert got["acc"] == pytest.approx((logits.argmax(1) == d.test_labels).float().mean().item())
    assert got["loss"] == pytest.approx(F.cross_entropy(logits, d.test_labels).item(), rel=1e-5)
    tta1 = inference.predict(net, d.test_images, mean, std, tta=True, batch_size=5, device="cpu",
                     precision="fp32")
    torch.testing.assert_close(tta1, (logits + flipped) / 2)
    tta2 = inference.predict(net, d.test_images, mean, std, tta=2, batch_size=7, device="cpu",
                     precision="fp32")
    torch.testing.assert_close(tta2, (logits + flipped) / 4 + sum(shifted) / 8)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        inference.predict(net, d.test_images, mean, std, batch_size=0)
    with pytest.raises(ValueError, match="tta must be 0, 1 or 2"):
        inference.predict(net, d.test_images, mean, std, tta=3)


def test_lr_factor_schedules_by_hand():
    # 10 steps, 20% warm-up: 2 warm-up steps (1/2, 1), then (10 - s) / 8 down to 1/8
    got = [recipes.lr_factor(s, 10, "onecycle", 0.2) for s in range(10)]
    assert got == pytest.approx([0.5, 1.0, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    assert [recipes.lr_factor(s, 4, "linear") for s in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert recipes.lr_factor(7, 10, "constant", 0.2) == 1.0


def test_optimizers_put_filters_under_muon_and_the_rest_under_sgd():
    net = FastNet(widths=(4, 8))
    sgd, muon = recipes.make_optimizers(net, recipes.recipe_for("fast"))
    filters = [p for p in net.parameters() if p.ndim == 4 and p.requires_grad]
    assert [id(p) for p in muon.param_groups[0]["params"]] == [id(p) for p in filters]
    names = {g["name"]: g for g in sgd.param_groups}
    assert names["whiten_bias"]["params"] == [net.whiten.bias]
    assert names["head"]["params"] == [net.head.weight]
    r = recipes.recipe_for("fast")  # decay per image: weight_decay · batch_size / lr in each group
    assert names["head"]["weight_decay"] == pytest.approx(r.weight_decay * r.batch_size
                                                          / r.head_lr)
    n_trainable = sum(p.requires_grad for p in net.parameters())
    assert sum(len(g["params"]) for o in (sgd, muon) for g in o.param_groups) == n_trainable


def test_recipes_and_errors():
    assert recipes.recipe_for("fast", lr=0.05).lr == 0.05
    assert recipes.recipe_for("fast", lr=None).lr == recipes.RECIPES["fast"].lr
    assert recipes.RECIPES["best"].widths == (64, 256, 256) and recipes.RECIPES["best"].epochs == 8
    assert recipes.recipe_for("fast", widths=[8, 16]).widths == (8, 16)
    with pytest.raises(ValueError, match=r"recipe must be one of \['best', 'fast', 'tutorial'\]"):
        recipes.recipe_for("slow")
    with pytest.raises(TypeError, match=r"unknown recipe settings: \['lr_max'\]"):
        recipes.recipe_for("fast", lr_max=1)
    bad = [({"lr": "garbage"}, TypeError, "lr must be a number, got 'garbage'"),
           ({"lr": math.nan}, ValueError, "lr must be a finite number, got nan"),
           ({"lr": -1.0}, ValueError, "lr must be > 0, got -1.0"),
           ({"translate": -3}, ValueError, "translate must be >= 0, got -3"),
           ({"label_smoothing": 1.5}, ValueError, r"label_smoothing must be in \[0, 1\), got 1.5"),
           ({"momentum": "x"}, TypeError, "momentum must be a number, got 'x'"),
           ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
           ({"epochs": 2.5}, TypeError, "epochs must be an int"),
           ({"schedule": "cosine"}, ValueError, "schedule must be one of"),
           ({"flip": "vertical"}, ValueError, "flip must be one of"),
           ({"tta": 3}, ValueError, "tta must be 0, 1 or 2, got 3"),
           ({"nesterov": "yes"}, TypeError, "nesterov must be True or False"),
           ({"widths": (8, 0)}, ValueError, r"widths\[1\] must be >= 1, got 0")]
    for overrides, error, message in bad:
        with pytest.raises(error, match=message):
            recipes.recipe_for("fast", **overrides)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        fit(tiny_net(), toy_data(), 0)
    with pytest.raises(ValueError, match="minutes must be > 0, got 0"):
        fit(tiny_net(), toy_data(), 1, minutes=0)
    with pytest.raises(ValueError, match="checkpoint must be a file path, got the directory"):
        fit(tiny_net(), toy_data(), 1, checkpoint=os.getcwd())


def test_devices_and_precision(monkeypatch):
    assert hardware.select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device must be 'auto', 'cpu', 'cuda'.*got 'nonsense'"):
        hardware.select_device("nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="PyTorch sees no CUDA GPU here"):
            hardware.select_device("cuda")
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'fp32', 'bf16'"):
        hardware.resolve_precision("fp16", torch.device("cpu"))
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert hardware.resolve_precision("auto", cpu) == "bf16"
    assert "bfloat16 arithmetic" in hardware.describe_precision("auto", cpu)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True})
    assert hardware.resolve_precision("auto", cpu) == "fp32"
    assert "no bfloat16 arithmetic" in hardware.describe_precision("auto", cpu)
    assert hardware.resolve_precision("bf16", cpu) == "bf16"


def test_bf16_autocast_on_cpu_runs():
    h = fit(tiny_net(), toy_data(), 1, **{**FAST, "precision": "bf16"})
    assert 0 <= h["test_acc"][0] <= 1


@pytest.mark.parametrize("channels_last", [True, False])
def test_fit_trains_in_the_memory_layout_asked_for(channels_last):
    model = tiny_net()
    kwargs = {} if channels_last else {"channels_last": False}  # channels-last by default
    fit(model, toy_data(), 1, **FAST, **kwargs)
    weight = model.blocks[0].conv1.weight  # (C_out, C_in, 3, 3)
    assert weight.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert weight.is_contiguous() == (not channels_last)


class RecordsSizes(nn.Module):
    """A tiny classifier that records the size of the images it trains on, per call."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x):
        if self.training:
            self.sizes.append(tuple(x.shape[2:]))
        return self.head(self.conv(x).amax(dim=(2, 3)))


def test_progressive_resizing_trains_the_first_epochs_on_smaller_images():
    d = toy_data()  # 8×8 images, 48 training images: 3 steps an epoch at batch 16
    net = RecordsSizes()
    h = fit(net, d, 3, recipe="fast", image_scales=(0.5, 0.75),
              **FAST)
    assert net.sizes == [(4, 4)] * 3 + [(6, 6)] * 3 + [(8, 8)] * 3
    assert h["tta_acc"][-1] is not None  # tested at full size, with test-time augmentation


def test_the_last_evaluation_gives_both_accuracies_from_one_pass(monkeypatch):
    d = toy_data()
    passes = []
    real = inference.evaluate

    def counting(*args, **kwargs):
        passes.append(kwargs.get("tta", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "evaluate", counting)
    net = tiny_net()
    h = fit(net, d, 1, eval_every=0, **FAST)
    assert passes == [2]  # one pass, with test-time augmentation
    mean, std = d.mean_std()
    plain = inference.evaluate(net, d, mean=mean, std=std, device="cpu", precision="fp32")
    assert h["test_acc"][-1] == pytest.approx(plain["acc"])
    assert h["test_loss"][-1] == pytest.approx(plain["loss"], rel=1e-5)
