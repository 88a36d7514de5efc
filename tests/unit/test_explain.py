"""convbook.explain, checked against direct computations written here: a loop of single
forward passes for occlusion, forward and backward hooks for Grad-CAM, closed forms for
linear models, the receptive-field box for what a unit can see, and scipy for Spearman."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convbook import explain as E
from convbook.receptive_field import receptive_field


def tiny_cnn(seed: int = 0, classes: int = 3, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Convolutions, pooling, batch norm (with running statistics to protect) and a head."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1), nn.BatchNorm2d(5), nn.GELU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, classes),
    )
    with torch.no_grad():  # running statistics that are not the defaults
        net[4].running_mean.uniform_(-0.5, 0.5)
        net[4].running_var.uniform_(0.5, 2.0)
    return net.to(dtype)


def linear_model(c: int, h: int, w: int, classes: int, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, classes)).double()


class OneUnit(nn.Module):
    """The scores are the channels of one unit (i, j) of a conv stack's last feature map."""

    def __init__(self, features: nn.Module, unit: tuple[int, int]) -> None:
        super().__init__()
        self.features, self.unit = features, unit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[:, :, self.unit[0], self.unit[1]]


def conv_stack(seed: int, k1: int, s1: int, p1: int, k2: int, d2: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 3, k1, stride=s1, padding=p1), nn.Tanh(),
        nn.Conv2d(3, 2, k2, dilation=d2), nn.Tanh(),
    ).double()


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_untouched(model: nn.Module, before: dict[str, torch.Tensor], training: bool) -> None:
    after = model.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), f"{k} changed"
    assert all(m.training == training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    for m in model.modules():
        assert not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks


# --------------------------------------------------------------------------- gradient


@settings(max_examples=40)
@given(c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6), n=st.integers(1, 3),
       classes=st.integers(1, 4), seed=st.integers(0, 10**6), data=st.data())
def test_linear_model_gradient_is_its_weight_row(c, h, w, n, classes, seed, data):
    model = linear_model(c, h, w, classes, seed)
    x = torch.randn(n, c, h, w, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    target = data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n))
    W, b = model[1].weight, model[1].bias
    expected = W[target].reshape(n, c, h, w)
    torch.testing.assert_close(E.gradient(model, x, target), expected)
    torch.testing.assert_close(E.saliency(model, x, target), expected.abs().amax(1))
    # input x gradient splits S - b among the pixels exactly
    share = E.input_x_gradient(model, x, target)
    with torch.no_grad():
        scores = model(x)[torch.arange(n), target]
    torch.testing.assert_close(share.sum(dim=(1, 2)), scores - b[target])


def test_gradient_default_target_is_the_prediction_and_one_image_works():
    model = tiny_cnn()
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        predicted = model.eval()(x).argmax(1)
    model.train()
    g = E.gradient(model, x)
    torch.testing.assert_close(g, E.gradient(model, x, predicted))
    torch.testing.assert_close(E.gradient(model, x[2]), g[2])
    assert E.saliency(model, x[2]).shape == (8, 8)
    assert E.input_x_gradient(model, x).shape == (4, 8, 8)


def test_gradient_matches_autograd_on_a_copy():
    model = tiny_cnn()
    x = torch.randn(3, 3, 10, 10)
    ref = copy.deepcopy(model).eval()
    xr = x.clone().requires_grad_(True)
    ref(xr)[:, 1].sum().backward()
    torch.testing.assert_close(E.gradient(model, x, 1), xr.grad)


@settings(max_examples=25)
@given(seed=st.integers(0, 10**6), k1=st.integers(1, 3), s1=st.integers(1, 2),
       p1=st.integers(0, 1), k2=st.integers(1, 3), d2=st.integers(1, 2), data=st.data())
def test_gradient_of_a_unit_is_zero_outside_its_receptive_field(seed, k1, s1, p1, k2, d2, data):
    features = conv_stack(seed, k1, s1, p1, k2, d2)
    size = 14
    rf = receptive_field(features, (2, size, size))
    oh, ow = rf.output_size
    i, j = data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1))
    x = torch.randn(1, 2, size, size, dtype=torch.float64)
    g = E.gradient(OneUnit(features, (i, j)), x, 0)[0].abs().sum(0)
    (top, bottom), (left, right) = rf.box(i, j)
    inside = torch.zeros(size, size, dtype=torch.bool)
    inside[max(top, 0):bottom + 1, max(left, 0):right + 1] = True
    assert torch.all(g[~inside] == 0)
    # and unit_gradient says the same about the stack's own feature map
    u = E.unit_gradient(features, x[0], "3", 1, (i, j)).abs().sum(0)
    assert torch.all(u[~inside] == 0)


# --------------------------------------------------------------------------- occlusion


def occlusion_by_loop(model, x, target, window, stride, baseline, score):
    """One forward pass per window position, written out."""
    model = copy.deepcopy(model).eval()
    wh, ww = window
    sh, sw = stride
    n, _, h, w = x.shape

    def s(images):
        logits = model(images)
        return logits.softmax(1) if score == "probability" else logits

    rows = list(range(0, h - wh + 1, sh))
    cols = list(range(0, w - ww + 1, sw))
    out = torch.zeros(n, len(rows), len(cols), dtype=x.dtype)
    with torch.no_grad():
        for k in range(n):
            full = s(x[k:k + 1])[0, target[k]]
            for a, i in enumerate(rows):
                for b, j in enumerate(cols):
                    hidden = x[k].clone()
                    hidden[:, i:i + wh, j:j + ww] = baseline
                    out[k, a, b] = full - s(hidden[None])[0, target[k]]
    return out


@settings(max_examples=40)
@given(h=st.integers(2, 9), w=st.integers(2, 9), n=st.integers(1, 2), seed=st.integers(0, 999),
       baseline=st.floats(-2, 2), score=st.sampled_from(["logit", "probability"]),
       batch_size=st.integers(1, 7), data=st.data())
def test_occlusion_matches_a_loop_of_forward_passes(h, w, n, seed, baseline, score, batch_size,
                                                     data):
    window = (data.draw(st.integers(1, h)), data.draw(st.integers(1, w)))
    stride = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    model = tiny_cnn(seed, dtype=torch.float64)
    x = torch.randn(n, 3, h, w, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    target = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    got = E.occlusion(model, x, target, window=window, stride=stride, baseline=baseline,
                      score=score, batch_size=batch_size)
    expected = occlusion_by_loop(model, x, target, window, stride, baseline, score)
    assert got.shape == (n, (h - window[0]) // stride[0] + 1, (w - window[1]) // stride[1] + 1)
    torch.testing.assert_close(got, expected)


def test_occlusion_with_a_tensor_baseline_and_one_image():
    model = tiny_cnn(3, dtype=torch.float64)
    x = torch.randn(3, 9, 7, dtype=torch.float64)
    grey = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64).view(3, 1, 1)
    got = E.occlusion(model, x, 2, window=(3, 2), stride=(2, 3), baseline=grey)
    # a per-channel baseline is a window filled with those three values
    expected = torch.zeros(4, 2, dtype=torch.float64)
    m = copy.deepcopy(model).eval()
    with torch.no_grad():
        full = m(x[None])[0, 2]
        for a, i in enumerate(range(0, 7, 2)):
            for b, j in enumerate(range(0, 6, 3)):
                y = x.clone()
                y[:, i:i + 3, j:j + 2] = grey
                expected[a, b] = full - m(y[None])[0, 2]
    torch.testing.assert_close(got, expected)


@settings(max_examples=30)
@given(c=st.integers(1, 3), h=st.integers(2, 7), w=st.integers(2, 7), seed=st.integers(0, 999),
       data=st.data())
def test_occlusion_of_a_linear_model_is_the_windows_share(c, h, w, seed, data):
    model = linear_model(c, h, w, 2, seed)
    x = torch.randn(1, c, h, w, dtype=torch.float64)
    window = (data.draw(st.integers(1, h)), data.draw(st.integers(1, w)))
    share = (model[1].weight[1].reshape(c, h, w) * x[0]).sum(0)  # w * x per pixel
    got = E.occlusion(model, x, 1, window=window, stride=1)[0]
    expected = F.avg_pool2d(share[None, None], window, stride=1)[0, 0] * window[0] * window[1]
    torch.testing.assert_close(got, expected)


@settings(max_examples=25)
@given(seed=st.integers(0, 10**6), k1=st.integers(1, 3), s1=st.integers(1, 2),
       p1=st.integers(0, 1), k2=st.integers(1, 3), d2=st.integers(1, 2), data=st.data())
def test_occluding_outside_a_units_receptive_field_changes_nothing(seed, k1, s1, p1, k2, d2,
                                                                   data):
    features = conv_stack(seed, k1, s1, p1, k2, d2)
    size = 14
    rf = receptive_field(features, (2, size, size))
    i = data.draw(st.integers(0, rf.output_size[0] - 1))
    j = data.draw(st.integers(0, rf.output_size[1] - 1))
    window = data.draw(st.integers(1, 5))
    x = torch.randn(1, 2, size, size, dtype=torch.float64)
    got = E.occlusion(OneUnit(features, (i, j)), x, 1, window=window, stride=1, baseline=3.0)[0]
    (top, bottom), (left, right) = rf.box(i, j)
    starts = range(size - window + 1)
    for a, b in itertools.product(starts, starts):
        overlaps = a <= bottom and a + window - 1 >= top and b <= right and b + window - 1 >= left
        if not overlaps:
            assert abs(float(got[a, b])) < 1e-12, (a, b)


# --------------------------------------------------------------------------- Grad-CAM


def grad_cam_with_hooks(model, x, target, layer):
    """Grad-CAM as usually written: a forward hook keeps A, a backward hook dS/dA."""
    model = copy.deepcopy(model).eval()
    module = dict(model.named_modules())[layer]
    kept = {}
    h1 = module.register_forward_hook(lambda m, i, o: kept.__setitem__("A", o.detach()))
    h2 = module.register_full_backward_hook(
        lambda m, gi, go: kept.__setitem__("dA", go[0].detach()))
    logits = model(x.clone().requires_grad_(True))
    logits[torch.arange(len(x)), target].sum().backward()
    h1.remove(), h2.remove()
    weights = kept["dA"].mean(dim=(2, 3))  # alpha_k: global average of the gradient
    return torch.relu(torch.einsum("nk,nkhw->nhw", weights, kept["A"]))


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6), h=st.integers(2, 12), w=st.integers(2, 12),
       n=st.integers(1, 3), layer=st.sampled_from(["0", "2", "3", "4", "5"]), data=st.data())
def test_grad_cam_matches_hooks(seed, h, w, n, layer, data):
    model = tiny_cnn(seed, dtype=torch.float64)
    x = torch.randn(n, 3, h, w, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    target = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    got = E.grad_cam(model, x, target, layer=layer)
    torch.testing.assert_close(got, grad_cam_with_hooks(model, x, target, layer))
    up = E.grad_cam(model, x, target, layer=model[int(layer)], upsample=True)
    assert up.shape == (n, h, w)
    torch.testing.assert_close(up, F.interpolate(got[:, None], size=(h, w), mode="bilinear")[:, 0])


def test_grad_cam_on_a_frozen_model_and_one_image():
    model = tiny_cnn(1)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.randn(3, 8, 8)
    cam = E.grad_cam(model, x, 0, layer="3")
    assert cam.shape == (4, 4) and (cam >= 0).all()
    expected = grad_cam_with_hooks(model, x[None], [0], "3")[0]
    torch.testing.assert_close(cam, expected)


# --------------------------------------------------------------------------- never mutate


METHODS = {
    "gradient": lambda m, x: E.gradient(m, x),
    "saliency": lambda m, x: E.saliency(m, x, 1),
    "input_x_gradient": lambda m, x: E.input_x_gradient(m, x),
    "occlusion": lambda m, x: E.occlusion(m, x, window=3, stride=2),
    "grad_cam": lambda m, x: E.grad_cam(m, x, layer="3"),
    "feature_maps": lambda m, x: E.feature_maps(m, x, "4"),
    "unit_gradient": lambda m, x: E.unit_gradient(m, x[0], "3", 2, (1, 1)),
    "activation_maximisation": lambda m, x: E.activation_maximisation(
        m, "3", [0, 4], input_size=(3, 8, 8), steps=3),
    "sanity_check": lambda m, x: E.sanity_check(m, x, E.saliency),
    "randomised": lambda m, x: E.randomised(m, ["0", "8"]),
}


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", list(METHODS))
def test_the_model_is_left_as_it_was(name, training):
    model = tiny_cnn(2).train(training)
    before = snapshot(model)
    x = torch.randn(2, 3, 8, 8)
    rng = torch.get_rng_state()
    METHODS[name](model, x)
    assert_untouched(model, before, training)
    if name in ("activation_maximisation", "randomised", "sanity_check"):
        assert torch.equal(torch.get_rng_state(), rng)  # seeded on their own


def test_an_exception_inside_restores_the_mode_and_removes_hooks():
    model = tiny_cnn(2).train()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"channel must be in 0\.\.4"):
        E.unit_gradient(model, torch.randn(3, 8, 8), "3", 5, (0, 0))
    assert_untouched(model, before, True)


# --------------------------------------------------------------------------- units


def test_feature_maps_are_the_layers_output():
    model = tiny_cnn(4)
    x = torch.randn(2, 3, 10, 10)
    with torch.no_grad():
        expected = model.eval()[:5](x)
    torch.testing.assert_close(E.feature_maps(model, x, "4"), expected)
    torch.testing.assert_close(E.feature_maps(model, x[1], model[4]), expected[1])
    several = E.feature_maps(model, x, ["0", model[4], "6"])
    assert list(several) == ["0", "4", "6"]
    torch.testing.assert_close(several["4"], expected)
    torch.testing.assert_close(several["6"], model[:7](x))


def test_unit_gradient_matches_autograd():
    model = tiny_cnn(5)
    x = torch.randn(3, 10, 10)
    xr = x[None].clone().requires_grad_(True)
    copy.deepcopy(model).eval()[:4](xr)[0, 3, 2, 4].backward()
    torch.testing.assert_close(E.unit_gradient(model, x, "3", 3, (2, 4)), xr.grad[0])


# --------------------------------------------------------------------------- visualisation


def test_activation_maximisation_of_a_linear_unit_points_along_its_filter():
    # A 1x1 convolution: channel k's mean activation is w_k . (mean colour) + b_k, so its
    # gradient is w_k at every pixel, whatever the jitter, and blurring keeps it.
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 1)
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    images = E.activation_maximisation(model, "0", [0, 1, 2, 3], input_size=(3, 6, 5),
                                       steps=40, lr=0.1)
    colours = images.mean(dim=(2, 3))
    cos = F.cosine_similarity(colours, conv.weight[:, :, 0, 0].detach(), dim=1)
    assert (cos > 0.999).all(), cos


def test_activation_maximisation_raises_the_activation_and_stays_in_pixel_range():
    model = tiny_cnn(6)
    mean, std = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])
    channels = [0, 3, 4]
    images = E.activation_maximisation(model, "3", channels, input_size=(3, 12, 12), steps=30,
                                       mean=mean, std=std, seed=3)
    assert images.shape == (3, 3, 12, 12)
    assert images.min() >= 0 and images.max() <= 1
    grey = torch.full_like(images, 0.5)

    def activation(imgs):
        maps = E.feature_maps(model, (imgs - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), "3")
        return maps[torch.arange(3), channels].mean(dim=(1, 2))

    assert (activation(images) > activation(grey) + 0.1).all()
    again = E.activation_maximisation(model, "3", channels, input_size=(3, 12, 12), steps=30,
                                      mean=mean, std=std, seed=3)
    assert torch.equal(images, again)
    one = E.activation_maximisation(model, "3", 3, input_size=(3, 12, 12), steps=2)
    assert one.shape == (3, 12, 12)


@given(sigma=st.floats(0.2, 3.0), h=st.integers(1, 9), w=st.integers(1, 9))
def test_gaussian_blur_keeps_constants_and_sums(sigma, h, w):
    flat = torch.full((1, 3, h, w), 0.7, dtype=torch.float64)
    torch.testing.assert_close(E.visualisation._gaussian_blur(flat, sigma), flat)
    # away from the edges a blurred point keeps its mass
    point = torch.zeros(1, 1, 21, 21, dtype=torch.float64)
    point[0, 0, 10, 10] = 1
    blurred = E.visualisation._gaussian_blur(point, sigma)
    assert math.isclose(float(blurred.sum()), 1.0, rel_tol=1e-9)
    torch.testing.assert_close(blurred, blurred.flip(2).flip(3))


# --------------------------------------------------------------------------- sanity check


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")  # we check the nan
@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(-3, 3), st.floats(-5, 5)), min_size=2, max_size=30))
def test_spearman_matches_scipy_with_ties(pairs):
    a = torch.tensor([float(p[0]) for p in pairs])
    b = torch.tensor([p[1] for p in pairs], dtype=torch.float64)
    expected = scipy.stats.spearmanr(a.numpy(), b.numpy()).statistic
    got = E.spearman(a, b)
    if np.isnan(expected):
        assert math.isnan(got)
    else:
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_spearman_by_hand():
    # ranks 1 2 3 4 and 1 3 2 4: d = 0, -1, 1, 0, rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert math.isclose(E.spearman(torch.tensor([1, 2, 3, 4]), torch.tensor([10, 30, 20, 40])),
                        0.8)
    assert E.spearman(torch.arange(5.0), -torch.arange(5.0) ** 3) == -1.0
    assert math.isnan(E.spearman(torch.ones(4), torch.arange(4.0)))


def test_weight_layers_of_fastnet_run_in_order():
    from convbook.models import FastNet

    assert E.weight_layers(FastNet(widths=(4, 8))) == [
        "whiten", "blocks.0.conv1", "blocks.0.conv2", "blocks.1.conv1", "blocks.1.conv2", "head"]


def test_randomised_changes_only_the_named_layers_of_a_copy():
    model = tiny_cnn(7)
    before = snapshot(model)
    rng = torch.get_rng_state()
    r = E.randomised(model, ["3", "8"], seed=1)
    assert torch.equal(torch.get_rng_state(), rng)
    assert_untouched(model, before, True)
    changed = {k for k, v in r.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"3.weight", "3.bias", "8.weight", "8.bias"}
    same = E.randomised(model, "3", seed=1)  # a layer's random weights depend on seed and layer
    assert torch.equal(same[3].weight, r[3].weight)
    assert not torch.equal(E.randomised(model, "3", seed=2)[3].weight, r[3].weight)


def _which_layers_are_random(original):
    """A 'map' that says, per weight layer, whether the model's weights differ from
    ``original``'s: shape (N, layers)."""
    names = E.weight_layers(original)

    def method(model, x, target):
        modules = dict(model.named_modules())
        ref = dict(original.named_modules())
        flags = [float(not torch.equal(modules[n].weight, ref[n].weight)) for n in names]
        return torch.tensor(flags).expand(len(x), -1)

    return method


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_sanity_check_randomises_from_the_top_down(mode):
    model = tiny_cnn(8)
    x = torch.randn(2, 3, 8, 8)
    result = E.sanity_check(model, x, _which_layers_are_random(model), mode=mode,
                            absolute=False)
    assert result.layers == ["8", "3", "0"]  # the head first
    flags = result.randomised[:, 0]  # (steps, layers in forward order)
    if mode == "cascading":
        expected = [[0, 0, 1], [0, 1, 1], [1, 1, 1]]
    else:
        expected = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    assert flags.tolist() == expected
    assert result.original.sum() == 0


def test_a_map_that_ignores_the_model_fails_the_sanity_check():
    model = tiny_cnn(9)
    x = torch.randn(3, 3, 8, 8)
    result = E.sanity_check(model, x, lambda m, x, t: x.abs().sum(1))  # an "edge detector"
    assert torch.equal(result.correlations, torch.ones(3, 3, dtype=torch.float64))
    assert result.mean_correlations() == [1.0, 1.0, 1.0]
    assert repr(result).splitlines()[1].split() == ["8", "1.00"]


def test_sanity_check_targets_stay_those_of_the_trained_model():
    model = tiny_cnn(10)
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        predicted = model.eval()(x).argmax(1)
    seen = []
    E.sanity_check(model, x, lambda m, x, t: seen.append(t.clone()) or x[:, 0])
    assert all(torch.equal(t, predicted) for t in seen) and len(seen) == 4
    seen.clear()
    E.sanity_check(model, x, lambda m, x, t: seen.append(t.clone()) or x[:, 0], target=2,
                   layers=["0"])
    assert [t.tolist() for t in seen] == [[2] * 4] * 2


def test_grad_cam_after_randomising_the_head_is_a_different_map():
    model = tiny_cnn(11)
    x = torch.randn(4, 3, 8, 8)
    result = E.sanity_check(model, x, lambda m, x, t: E.grad_cam(m, x, t, layer="3"),
                            layers=["8"])
    assert result.randomised.shape == (1, 4, 4, 4)
    assert not torch.allclose(result.randomised[0], result.original)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: E.gradient("net", torch.zeros(3, 4, 4)), TypeError,
         "model must be a torch.nn.Module, got 'net'"),
        (lambda m: E.gradient(m, [[1.0]]), TypeError, "x must be a torch.Tensor, got list"),
        (lambda m: E.gradient(m, torch.zeros(4, 4)), ValueError,
         r"x must be a 3D \(C, H, W\) or 4D \(N, C, H, W\) tensor, got a 2D tensor"),
        (lambda m: E.gradient(m, torch.zeros(1, 3, 4, 4, dtype=torch.uint8)), TypeError,
         "x must be a floating-point tensor"),
        (lambda m: E.gradient(m, torch.zeros(0, 3, 4, 4)), ValueError, "x must not be empty"),
        (lambda m: E.gradient(m, torch.full((3, 4, 4), math.nan)), ValueError,
         r"x must hold finite numbers \(no NaN or inf\)"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), 3), ValueError,
         r"target must be in 0..2 \(the model has 3 classes\), got 3"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), -1), ValueError,
         "target must be in 0..2"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), [0]), ValueError,
         r"target must give one class per image \(2\), got 1"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), torch.tensor([0.0, 1.0])), TypeError,
         "target must hold integer class indices"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), True), TypeError,
         "target must be a class index"),
        (lambda m: E.gradient(m, torch.zeros(2, 3, 4, 4), "cat"), TypeError,
         "target must be a class index"),
        (lambda m: E.gradient(nn.Conv2d(3, 2, 1), torch.zeros(2, 3, 4, 4)), ValueError,
         r"model must return \(N, classes\) scores .*, got \(2, 2, 4, 4\)"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=5), ValueError,
         r"window \(5, 5\) must fit in the 4x4 image"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=0), ValueError,
         "window must be >= 1, got 0"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=2, stride=(1, 0)), ValueError,
         r"stride must be >= 1, got \(1, 0\)"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=2, score="prob"), ValueError,
         "score must be 'logit' or 'probability', got 'prob'"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=2, baseline=math.inf),
         ValueError, "baseline must be a finite number, got inf"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=2, baseline=torch.zeros(2)),
         ValueError, r"baseline must broadcast to \(C, H, W\) = \(3, 4, 4\)"),
        (lambda m: E.occlusion(m, torch.zeros(3, 4, 4), window=2, batch_size=0), ValueError,
         "batch_size must be >= 1, got 0"),
        (lambda m: E.grad_cam(m, torch.zeros(3, 4, 4), layer="conv9"), ValueError,
         r"layer must name a module of the model \('0', '1', .*\), got 'conv9'"),
        (lambda m: E.grad_cam(m, torch.zeros(3, 4, 4), layer=nn.ReLU()), ValueError,
         "layer must be a module inside the model"),
        (lambda m: E.grad_cam(m, torch.zeros(3, 4, 4), layer=3), TypeError,
         "layer must be a module's name or the module, got int"),
        (lambda m: E.grad_cam(m, torch.zeros(3, 4, 4), layer="8"), ValueError,
         r"layer '8' must output \(N, C, h, w\) feature maps, got \(1, 3\)"),
        (lambda m: E.grad_cam(m, torch.zeros(3, 4, 4), layer="3", upsample=1), TypeError,
         "upsample must be True or False"),
        (lambda m: E.unit_gradient(m, torch.zeros(2, 3, 4, 4), "3", 0, (0, 0)), ValueError,
         "x must be one"),
        (lambda m: E.unit_gradient(m, torch.zeros(3, 4, 4), "3", -1, (0, 0)), ValueError,
         "channel must be >= 0, got -1"),
        (lambda m: E.unit_gradient(m, torch.zeros(3, 4, 4), "3", 0, (2, 0)), ValueError,
         r"position must lie inside the 2x2 feature map, got \(2, 0\)"),
        (lambda m: E.unit_gradient(m, torch.zeros(3, 4, 4), "3", 0, 1), TypeError,
         "position must be a"),
        (lambda m: E.activation_maximisation(m, "3", 9, input_size=(3, 4, 4)), ValueError,
         "channels must be in 0..4 for layer '3', got 9"),
        (lambda m: E.activation_maximisation(m, "3", [], input_size=(3, 4, 4)), TypeError,
         "channels must be an int or a non-empty sequence"),
        (lambda m: E.activation_maximisation(m, "3", 0, steps=0), ValueError,
         "steps must be >= 1, got 0"),
        (lambda m: E.activation_maximisation(m, "3", 0, lr=0), ValueError,
         r"lr must be > 0, got 0"),
        (lambda m: E.activation_maximisation(m, "3", 0, lr=math.nan), ValueError,
         "lr must be a finite number"),
        (lambda m: E.activation_maximisation(m, "3", 0, decay=1.0), ValueError,
         r"decay must be in \[0, 1\), got 1.0"),
        (lambda m: E.activation_maximisation(m, "3", 0, jitter=-1), ValueError,
         "jitter must be >= 0, got -1"),
        (lambda m: E.activation_maximisation(m, "3", 0, blur_sigma=0), ValueError,
         "blur_sigma must be > 0"),
        (lambda m: E.activation_maximisation(m, "3", 0, mean=torch.zeros(3)), ValueError,
         "mean and std must be given together"),
        (lambda m: E.activation_maximisation(m, "3", 0, mean=torch.zeros(3),
                                             std=torch.tensor([1.0, 0.0, 1.0])), ValueError,
         "std must be > 0 in every channel"),
        (lambda m: E.activation_maximisation(m, "3", 0, input_size=(3, 0, 4)), ValueError,
         "input_size must be >= 1"),
        (lambda m: E.randomised(m, ["1"]), ValueError,
         r"layers must name weight layers of the model \(0, 3, 8\), got '1'"),
        (lambda m: E.randomised(m, [3]), TypeError, "layers must be a layer name or a sequence"),
        (lambda m: E.sanity_check(m, torch.zeros(2, 3, 4, 4), E.saliency, mode="all"),
         ValueError, "mode must be one of 'cascading', 'independent', got 'all'"),
        (lambda m: E.sanity_check(m, torch.zeros(2, 3, 4, 4), "saliency"), TypeError,
         "method must be callable"),
        (lambda m: E.sanity_check(m, torch.zeros(2, 3, 4, 4), lambda m, x, t: x[0]),
         ValueError, r"method must return one map per image, \(N=2, ...\)"),
        (lambda m: E.sanity_check(nn.Sequential(nn.Flatten()), torch.zeros(2, 3, 4, 4),
                                  E.saliency), ValueError, "the model has no weight layers"),
        (lambda m: E.spearman(torch.zeros(3), torch.zeros(4)), ValueError,
         "a and b must have the same number of entries, at least 2, got 3 and 4"),
        (lambda m: E.spearman(torch.tensor([1.0, math.nan]), torch.zeros(2)), ValueError,
         "a must hold finite real numbers"),
        (lambda m: E.spearman([1, 2], torch.zeros(2)), TypeError, "a must be a torch.Tensor"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    model = tiny_cnn(12)
    before = snapshot(model)
    with pytest.raises(error, match=message):
        call(model)
    assert_untouched(model, before, True)


def test_a_layer_that_runs_twice_is_refused():
    act = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(3, 3, 1), act, nn.Conv2d(3, 3, 1), act,
                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(ValueError, match="layer '1' ran 2 times in one forward pass"):
        E.grad_cam(model, torch.zeros(3, 4, 4), layer="1")
    assert not act._forward_hooks
