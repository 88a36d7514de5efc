"""convbook.train: reproducible fits, exact resumption, Ctrl-C checkpoints, evaluation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convbook import train as T
from convbook.checkpoint import load_checkpoint
from convbook.data import ImageData, channel_stats, normalize
from convbook.live import LiveLoss
from convbook.models import FastNet, WideDropoutNet


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
    return FastNet(widths=(4, 8), stem=4, num_classes=2)


FAST = dict(batch_size=16, lr=0.1, pad=1, progress=False, device="cpu")


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_same_seed_same_run_and_history():
    d = toy_data()
    a, b = tiny_net(), tiny_net()
    ha = T.fit(a, d, 2, **FAST)
    hb = T.fit(b, d, 2, **FAST)
    for (k, x), y in zip(weights(a).items(), weights(b).values()):
        assert torch.equal(x, y), k
    assert ha["test_acc"] == hb["test_acc"] and ha["epoch"] == [1, 2]
    assert set(ha) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "time"}
    assert ha["time"][0] < ha["time"][1]
    c = tiny_net()
    T.fit(c, d, 2, seed=1, **FAST)
    assert not torch.equal(weights(a)["head.weight"], weights(c)["head.weight"])


def test_it_learns_a_separable_task():
    d = toy_data(n_train=128, n_test=64)
    h = T.fit(tiny_net(), d, 4, **FAST)
    assert h["test_acc"][-1] >= 0.9
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path):
    d = toy_data()
    straight = tiny_net()
    T.fit(straight, d, 2, **FAST)

    def stop_after_first(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    resumed = tiny_net()
    with pytest.raises(KeyboardInterrupt):
        T.fit(resumed, d, 2, checkpoint=tmp_path / "c.pt", callback=stop_after_first, **FAST)
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 1
    fresh = tiny_net()  # a new process would start from scratch weights
    h = T.fit(fresh, d, 2, checkpoint=tmp_path / "c.pt", resume=True, **FAST)
    for (k, x), y in zip(weights(straight).items(), weights(fresh).values()):
        assert torch.equal(x, y), k
    assert h["epoch"] == [1, 2]


def test_resume_with_dropout_restores_the_rng(tmp_path):
    d = toy_data(size=32, n_train=8, n_test=4)

    def net():
        torch.manual_seed(0)
        return WideDropoutNet(num_classes=2)

    cfg = dict(recipe="tutorial", batch_size=4, progress=False, device="cpu")
    straight = net()
    T.fit(straight, d, 2, **cfg)
    first = net()
    T.fit(first, d, 1, checkpoint=tmp_path / "c.pt", **cfg)  # epochs=1: constant LR anyway
    again = net()
    T.fit(again, d, 2, checkpoint=tmp_path / "c.pt", resume=True, **cfg)
    for (k, x), y in zip(weights(straight).items(), weights(again).values()):
        assert torch.equal(x, y), k


def test_checkpoint_every_epoch_and_live_loss(tmp_path):
    d = toy_data()
    lines = []
    live = LiveLoss("text", print_fn=lines.append)
    T.fit(tiny_net(), d, 2, checkpoint=tmp_path / "c.pt", live=live, config={"model": "x"},
          **FAST)
    ck = load_checkpoint(tmp_path / "c.pt")
    assert ck["epoch"] == 2 and ck["config"]["model"] == "x" and ck["config"]["lr"] == 0.1
    assert len(lines) == 2 and lines[0].startswith("epoch 1: train_acc")
    assert len(live.steps["loss"]) == 2 * 3  # 48 images / 16 per batch, two epochs


def test_evaluate_and_predict_match_a_direct_computation():
    d = toy_data()
    net = tiny_net().eval()
    mean, std = channel_stats(d.train_images)
    with torch.no_grad():
        logits = net(normalize(d.test_images, mean, std))
        flipped = net(normalize(d.test_images.flip(3), mean, std))
    got = T.evaluate(net, d, device="cpu")
    assert got["acc"] == pytest.approx((logits.argmax(1) == d.test_labels).float().mean().item())
    assert got["loss"] == pytest.approx(F.cross_entropy(logits, d.test_labels).item(), rel=1e-5)
    tta = T.predict(net, d.test_images, mean, std, tta=True, batch_size=5, device="cpu")
    torch.testing.assert_close(tta, (logits + flipped) / 2)


def test_lr_factor_one_cycle_by_hand():
    # 10 steps, 20% warm-up: 2 warm-up steps (1/2, 1), then (10 - s) / 8 down to 1/8
    got = [T.lr_factor(s, 10, "onecycle", 0.2) for s in range(10)]
    assert got == pytest.approx([0.5, 1.0, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    assert T.lr_factor(7, 10, "constant", 0.2) == 1.0


def test_recipes_and_errors():
    assert T.recipe_for("fast", lr=0.05).lr == 0.05
    assert T.recipe_for("fast", lr=None).lr == T.RECIPES["fast"].lr
    assert T.RECIPES["fast"].label_smoothing == 0.2 and T.RECIPES["fast"].nesterov
    with pytest.raises(ValueError, match=r"recipe must be one of \['fast', 'tutorial'\]"):
        T.recipe_for("slow")
    with pytest.raises(TypeError, match=r"unknown recipe settings: \['lr_max'\]"):
        T.recipe_for("fast", lr_max=1)
    with pytest.raises(ValueError, match="schedule must be 'onecycle' or 'constant'"):
        T.recipe_for("fast", schedule="cosine")
    with pytest.raises(ValueError, match="precision must be 'auto', 'fp32' or 'bf16'"):
        T.resolve_precision("fp16", torch.device("cpu"))
    assert T.resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert T.select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        T.fit(tiny_net(), toy_data(), 0)


def test_bf16_autocast_on_cpu_runs():
    h = T.fit(tiny_net(), toy_data(), 1, precision="bf16", channels_last=True, **FAST)
    assert 0 <= h["test_acc"][0] <= 1


@pytest.mark.parametrize("channels_last", [True, False])
def test_fit_trains_in_the_memory_layout_asked_for(channels_last):
    model = tiny_net()
    kwargs = {} if channels_last else {"channels_last": False}  # channels-last by default
    T.fit(model, toy_data(), 1, **FAST, **kwargs)
    weight = model.stem[0].weight  # (C_out, 3, k, k)
    assert weight.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert weight.is_contiguous() == (not channels_last)
