"""convbook.receptive_field against an independent measurement.

The measurement: make every weight of the network positive and every bias zero, swap max
pooling for average pooling with the same window (max pooling passes the gradient to one
pixel only), feed an all-ones image, and backpropagate from one unit of the last feature
map.  Every activation is then positive, so ReLUs act as the identity and no gradient
cancels: the input gradient is nonzero exactly on the pixels the unit can see.  We read
the first and last nonzero row (or column) and compare with the calculator.  The units are
chosen so their fields lie strictly inside the image (checked: the gradient touches no
border), so padding does not clip what we measure.
"""

from __future__ import annotations

import itertools
import math

import matplotlib
import pytest
import torch
import torchvision
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from convbook.receptive_field import (
    ReceptiveField,
    plot_receptive_field,
    receptive_field,
    unit_gradient,
)

matplotlib.use("Agg")


def _positive(net: nn.Module) -> nn.Module:
    """Make ``net`` monotone: positive weights, zero biases, average instead of max pooling.
    Sets every convolution, linear layer and batch norm, so it follows ``to_empty``."""
    for name, module in list(net.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.MaxPool2d):
                assert child.dilation in (1, (1, 1)), f"{name}.{child_name}: dilated max pool"
                setattr(module, child_name, nn.AvgPool2d(
                    child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode
                ))
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):  # to_empty left them undefined
                fan_in = module.weight[0].numel()
                module.weight.fill_(1.0 / fan_in)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()  # mean 0, variance 1, weight 1, bias 0
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


def _measure(net: nn.Module, shape: tuple[int, int, int], axis: int, units: list[int]):
    """First and last input row (axis 0) or column (axis 1) that each unit of the output
    sees, along ``axis``; the units sit at index ``units[k]`` on ``axis`` and in the middle
    of the other axis.  Also returns the output's spatial size."""
    x = torch.ones(1, *shape, requires_grad=True)
    y = net(x)
    n_other = y.shape[3 - axis]
    extents = []
    for u in units:
        idx = (u, n_other // 2) if axis == 0 else (n_other // 2, u)
        (g,) = torch.autograd.grad(y[0, :, idx[0], idx[1]].sum(), x, retain_graph=True)
        profile = g[0].sum(dim=(0, 2 - axis))  # along ``axis``
        nonzero = torch.nonzero(profile > 0).flatten()
        first, last = int(nonzero[0]), int(nonzero[-1])
        assert first > 0 and last < shape[1 + axis] - 1, (
            f"unit {u}: the field touches the border ({first}..{last}); use a bigger input"
        )
        extents.append((first, last))
    return extents, tuple(y.shape[-2:])


def _check(model: nn.Module, features: nn.Module, shape, axes=(0, 1)) -> ReceptiveField:
    """Calculator on ``model`` versus the gradient measurement on ``features`` (its spatial
    part), for two neighbouring units in the middle of the map, along each axis.  Models
    built on the meta device get real (uninitialised) memory here; :func:`_positive` then
    sets every weight, bias and batch-norm statistic."""
    rf = receptive_field(model, shape)
    features.to_empty(device="cpu")
    _positive(features)
    for axis in axes:
        n = rf.output_size[axis]
        units = [n // 2 - 1, n // 2] if n > 1 else [0]
        extents, out_size = _measure(features, shape, axis, units)
        assert out_size == rf.output_size
        for u, (first, last) in zip(units, extents):
            assert last - first + 1 == rf.size[axis], f"axis {axis}: measured {first}..{last}"
            assert first == u * rf.stride[axis] - rf.padding[axis]
            centre = u * rf.stride[axis] + rf.centre[axis]
            assert (first + last) / 2 == centre
        if len(units) == 2:
            assert extents[1][0] - extents[0][0] == rf.stride[axis]
    return rf


# --------------------------------------------------------------------------- small models


def test_small_cnn_with_asymmetric_kernels_and_ceil_mode():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, (3, 5), padding=(1, 2)), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AvgPool2d(3, 2, padding=1, ceil_mode=True),
        nn.Conv2d(4, 2, (1, 3), stride=(2, 1)),
    )
    rf = _check(net, net, (3, 64, 64))
    # By hand: r = 1 + 2 + 1 + 2*2 + 2*2 (h) / 4*2 (w) + 0 (h) / 2*4 (w)
    assert rf.size == (1 + 2 + 1 + 4 + 4 + 0, 1 + 2 + 1 + 8 + 4 + 8)
    assert rf.stride == (2 * 2 * 2, 2 * 2 * 1)


def test_dilated_and_same_padded_convolutions():
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, dilation=1, padding=1), nn.ReLU(),
        nn.Conv2d(2, 2, 3, dilation=2, padding=2), nn.ReLU(),
        nn.Conv2d(2, 2, 3, dilation=4, padding="same"), nn.ReLU(),
        nn.Conv2d(2, 2, 4, padding="same"),  # even kernel: torch pads 1 before, 2 after
        nn.Conv2d(2, 2, 2, dilation=3, stride=2),
    )
    rf = _check(net, net, (1, 64, 64))
    assert rf.size == (1 + 2 + 4 + 8 + 3 + 3,) * 2
    assert rf.padding == (1 + 2 + 4 + 1,) * 2


def test_same_padding_on_a_tiny_input():
    # torch pads an even kernel 1 before and 2 after; the output keeps the input's size
    rf = receptive_field(nn.Conv2d(1, 1, 4, padding="same"), (1, 1, 2))
    assert rf.output_size == tuple(nn.Conv2d(1, 1, 4, padding="same")(
        torch.zeros(1, 1, 1, 2)).shape[-2:]) == (1, 2)
    assert rf.size == (4, 4) and rf.padding == (1, 1)


def test_stride_larger_than_kernel():
    net = nn.Sequential(
        nn.Conv2d(1, 1, 1, stride=2), nn.Conv2d(1, 1, 3, stride=3), nn.Conv2d(1, 1, 2)
    )
    # The field has holes here (a 1x1 kernel with stride 2 skips pixels), but its extent,
    # first to last pixel seen, still follows the formula.
    rf = _check(net, net, (1, 40, 40))
    assert rf.size == (1 + 0 + 2 * 2 + 1 * 6,) * 2


class _Residual(nn.Module):
    def __init__(self, c: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, stride, 1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.skip = nn.Conv2d(c, c, 1, stride) if stride > 1 else nn.Identity()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))) + self.skip(x))


class _OffCentre(nn.Module):
    """Adds a 2x2 convolution padded on the top/left to the identity: the union of the two
    fields is not centred on either."""

    def __init__(self, c: int):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 0, 1, 0))
        self.conv = nn.Conv2d(c, c, 2)

    def forward(self, x):
        return x + self.conv(self.pad(x))


def test_residual_model():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), _Residual(4, 1), _Residual(4, 2), _OffCentre(4),
        _Residual(4, 2),
    )
    _check(net, net, (3, 48, 48))


class _Inception(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.b1 = nn.Conv2d(c, 2, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c, 2, 1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c, 2, 1), nn.Conv2d(2, 2, 5, padding=2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(c, 2, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


def test_concat_model_takes_the_largest_branch():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2), _Inception(4), nn.MaxPool2d(3, 2), _Inception(8)
    )
    rf = _check(net, net, (3, 64, 64))
    assert rf.size == (3 + 4 * 2 + 2 * 2 + 4 * 4,) * 2  # the 5x5 branch is the widest


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.conv2 = nn.Conv2d(2, 2, 3)

    def forward(self, x):
        x = torch.nn.functional.avg_pool2d(self.conv1(x), 3, stride=2, padding=1)
        return torch.nn.functional.avg_pool2d(self.conv2(x).relu(), kernel_size=2)


def test_functional_pooling():
    rf = _check(_Functional(), _Functional(), (1, 48, 48))
    assert rf.size == (3 + 2 + 2 * 2 + 1 * 2,) * 2 and rf.stride == (4, 4)
    assert [row.type for row in rf.rows] == [
        "-", "Conv2d", "avg_pool2d", "Conv2d", "avg_pool2d"
    ]


# ----------------------------------------------------------------- torchvision architectures


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):  # no weights are allocated or initialised
        return getattr(torchvision.models, name)(weights=None, **kwargs)


def _resnet_features(model: nn.Module) -> nn.Module:
    return nn.Sequential(*list(model.children())[:-2])  # drop avgpool and fc


def test_alexnet():
    model = _meta("alexnet")
    _check(model, model.features, (3, 288, 67), axes=(0,))
    _check(model, model.features, (3, 67, 288), axes=(1,))


def test_vgg16():
    model = _meta("vgg16")
    _check(model, model.features, (3, 288, 32), axes=(0,))


def test_resnet18():
    model = _meta("resnet18")
    _check(model, _resnet_features(model), (3, 544, 32), axes=(0,))
    _check(model, _resnet_features(model), (3, 32, 544), axes=(1,))


def test_resnet50():
    model = _meta("resnet50")
    _check(model, _resnet_features(model), (3, 544, 32), axes=(0,))


def test_googlenet_concatenations_and_ceil_mode_pooling():
    model = _meta("googlenet", aux_logits=False, init_weights=False)
    features = nn.Sequential(*list(model.children())[:-3])  # drop avgpool, dropout, fc
    rf = _check(model, features, (3, 480, 32), axes=(0,))
    assert rf.stopped_at == "avgpool (AdaptiveAvgPool2d)"


# ------------------------------------------------- published numbers (a secondary check)


def test_published_values():
    """Araujo, Norris and Sim (2019), table of receptive fields: AlexNet 195, VGG-16 212,
    Inception V3 1311 (effective padding 618)."""
    assert receptive_field(_meta("alexnet"), (3, 224, 224)).size == (195, 195)
    assert receptive_field(_meta("vgg16"), (3, 224, 224)).size == (212, 212)
    rf = receptive_field(_meta("inception_v3", init_weights=False), (3, 299, 299))
    assert rf.size == (1311, 1311) and rf.padding == (618, 618)


def test_published_resnet50_is_the_slim_layout():
    """The published ResNet-50 value, 483, is for TF-slim's resnet_v1_50, which downsamples
    in the *last* unit of stages 1-3 instead of the first unit of stages 2-4: moving
    torchvision's strides there gives 483 (torchvision's own layout gives less)."""
    model = _meta("resnet50")
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    for before, after in itertools.pairwise(stages):
        after[0].conv2.stride = (1, 1)
        after[0].downsample[0].stride = (1, 1)
        before[-1].conv2.stride = (2, 2)
        before[-1].downsample = nn.MaxPool2d(1, 2)  # slim subsamples the shortcut
    assert receptive_field(model, (3, 224, 224)).size == (483, 483)


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3)),
        min_size=1, max_size=6,
    )
)
def test_closed_form(layers):
    """r = 1 + sum_l (k'_l - 1) prod_{i<l} s_i, j = prod s, P = sum_l p_l prod_{i<l} s_i."""
    net = nn.Sequential(*(nn.Conv2d(1, 1, k, s, p, d) for k, s, p, d in layers))
    rf = receptive_field(net, (1, 4000, 4000))
    r = 1 + sum((d * (k - 1)) * math.prod(s for _, s, _, _ in layers[:i])
                for i, (k, _, _, d) in enumerate(layers))
    P = sum(p * math.prod(s for _, s, _, _ in layers[:i]) for i, (_, _, p, _) in enumerate(layers))
    assert rf.size == (r, r)
    assert rf.stride == (math.prod(s for _, s, _, _ in layers),) * 2
    assert rf.padding == (P, P)


# ------------------------------------------------------------------------- the result object


def test_table_rows_and_stop():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, padding=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2),
    )
    rf = receptive_field(net, (3, 10, 10))
    assert [row.name for row in rf.rows] == ["input", "0", "2", "3"]
    # by hand: sizes 10 -> 8 -> 4 -> 4; r 1 -> 3 -> 4 -> 8; j 1 -> 1 -> 2 -> 2; P 0, 0, 0, 2
    assert [row.size for row in rf.rows] == [(10, 10), (8, 8), (4, 4), (4, 4)]
    assert [row.r[0] for row in rf.rows] == [1, 3, 4, 8]
    assert [row.j[0] for row in rf.rows] == [1, 1, 2, 2]
    assert [row.P[0] for row in rf.rows] == [0, 0, 0, 2]
    assert rf.rows[-1].centre == (1.5, 1.5)
    assert rf.layer == "3" and rf.stopped_at == "4 (AdaptiveAvgPool2d)"
    assert rf.box(0, 3) == ((-2, 5), (4, 11))
    text = repr(rf)
    assert text.splitlines()[0].split() == [
        "layer", "type", "kernel", "stride", "padding", "dilation", "output", "r", "j", "P",
        "centre",
    ]
    assert text.splitlines()[-1] == (
        "receptive field 8, effective stride 2, effective padding 2, centre of unit (0, 0) "
        "at 1.5; last feature map 4 from '3', stops before 4 (AdaptiveAvgPool2d)"
    )
    assert "<table>" in rf._repr_html_() and "<td>MaxPool2d</td>" in rf._repr_html_()
    assert rf.feature_map(torch.zeros(1, 3, 10, 10)).shape == (1, 4, 4, 4)


def test_asymmetric_values_are_shown_per_axis():
    rf = receptive_field(nn.Conv2d(1, 1, (3, 5), stride=(1, 2)), (1, 9, 9))
    assert rf.size == (3, 5) and rf.stride == (1, 2)
    assert "3x5" in repr(rf) and "1x2" in repr(rf)
    assert rf.stopped_at is None


def test_unit_gradient_lies_in_the_box():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, stride=2), nn.Conv2d(2, 1, 3))
    rf = receptive_field(net, (1, 20, 20))
    g = unit_gradient(rf, torch.randn(1, 20, 20), (2, 3))
    (top, bottom), (left, right) = rf.box(2, 3)
    inside = torch.zeros(20, 20, dtype=torch.bool)
    inside[top:bottom + 1, left:right + 1] = True
    assert g[0][~inside].abs().max() == 0 and g[0][inside].abs().max() > 0
    with pytest.raises(ValueError, match=r"unit must lie inside the \(6, 6\) feature map"):
        unit_gradient(rf, torch.randn(1, 20, 20), (6, 0))


def test_plot_draws_the_box():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 5, stride=2), nn.ReLU(), nn.Conv2d(4, 4, 3))
    ax = plot_receptive_field(net, torch.rand(3, 32, 40), unit=(1, 2))
    (rect,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert (rect.get_width(), rect.get_height()) == (9, 9)
    assert (rect.get_x(), rect.get_y()) == (4 - 0.5, 2 - 0.5)
    plt.close(ax.figure)


# ---------------------------------------------------------------------------------- errors


def test_unknown_layer_is_named():
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(
        nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)
    ))
    with pytest.raises(
        ValueError,
        match=r"^receptive_field: cannot compute through layer 'features\.3' \(Upsample\)$",
    ):
        receptive_field(net, (1, 16, 16))
    with pytest.raises(ValueError, match=r"layer '0' \(ConvTranspose2d\)"):
        receptive_field(nn.Sequential(nn.ConvTranspose2d(1, 1, 3)), (1, 8, 8))


class _SpatialCat(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=2)


class _Misaligned(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 1, stride=2)
        self.b = nn.Conv2d(1, 1, 1, stride=2)

    def forward(self, x):
        return self.a(x) + self.b(self.b(x))


class _Untraceable(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_errors():
    with pytest.raises(ValueError, match=r"layer 'cat' \(cat\): concatenation along dim 2"):
        receptive_field(_SpatialCat(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"layer 'add' \(add\): its inputs disagree"):
        receptive_field(_Misaligned(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"torch\.fx cannot trace _Untraceable"):
        receptive_field(_Untraceable(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"layer '1' \(MaxPool2d\): kernel_size 5 is larger"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(5)), (1, 6, 6))
    with pytest.raises(ValueError, match=r"input_size must be >= 1, got \(1, 0, 8\)"):
        receptive_field(nn.Conv2d(1, 1, 3), (1, 0, 8))
    with pytest.raises(ValueError, match=r"input_size must be an int or a tuple of 3 ints"):
        receptive_field(nn.Conv2d(1, 1, 3), (8, 8))
    with pytest.raises(TypeError, match=r"input_size must be a \(C, H, W\) tuple, got 8"):
        receptive_field(nn.Conv2d(1, 1, 3), 8)
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module, got function"):
        receptive_field(lambda x: x, (1, 8, 8))


# ------------------------------------------- channel-only operations, early stops, outputs


class _SpatialAttention(nn.Module):
    """CBAM's spatial attention: channel mean and max -> 7x7 conv -> sigmoid gate."""

    def __init__(self, style: str):
        super().__init__()
        self.style = style
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x):
        if self.style == "method":
            avg, top = x.mean(dim=1, keepdim=True), x.amax(1, keepdim=True)
        elif self.style == "torch":
            avg, top = torch.mean(x, 1, True), torch.max(x, dim=1, keepdim=True)[0]
        else:  # reduce without keepdim, then put the channel axis back
            avg, top = x.sum(1).unsqueeze(1), x.max(dim=1).values.unsqueeze(1)
        return x * torch.sigmoid(self.conv(torch.cat([avg, top], dim=1)))


@pytest.mark.parametrize("style", ["method", "torch", "squeezed"])
def test_spatial_attention_keeps_walking_through_a_channel_reduction(style):
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 3, 3),
                        _SpatialAttention(style))
    rf = _check(net, net, (2, 40, 40))
    assert rf.size == (1 + 2 + 2 + 6,) * 2 == (11, 11)
    assert rf.stopped_at is None


class _ChannelShuffle(nn.Module):
    def __init__(self, style: str):
        super().__init__()
        self.style = style
        self.a = nn.Conv2d(4, 4, 3, padding=1, groups=2)
        self.b = nn.Conv2d(4, 4, 3, padding=1, groups=2)

    def forward(self, x):
        x = self.a(x)
        if self.style == "size":  # torchvision's channel_shuffle
            n, c, h, w = x.size()
            x = x.view(n, 2, c // 2, h, w)
            x = torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)
        elif self.style == "literal":
            x = x.reshape(-1, 2, 2, 20, 20).permute(0, 2, 1, 3, 4).reshape(-1, 4, 20, 20)
        else:  # split the channels and shuffle the halves
            left, right = x.chunk(2, dim=1)
            x = torch.cat([right, left], dim=-3).flatten(0, 0)
        return self.b(x)


@pytest.mark.parametrize("style", ["size", "literal", "chunk"])
def test_channel_shuffle_reshapes_are_followed(style):
    rf = _check(_ChannelShuffle(style), _ChannelShuffle(style), (4, 20, 20))
    assert rf.size == (5, 5) and rf.stopped_at is None and rf.layer == "b"


def test_shufflenet_is_walked_to_the_end():
    model = _meta("shufflenet_v2_x0_5")
    features = nn.Sequential(model.conv1, model.maxpool, model.stage2, model.stage3,
                             model.stage4, model.conv5)
    rf = _check(model, features, (3, 1120, 32), axes=(0,))
    assert rf.stride == (32, 32) and rf.layer == "conv5.2"
    assert rf.stopped_at == "mean (mean)"


class _Flattens(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.mix = nn.Linear(36, 36)

    def forward(self, x):
        y = self.conv(x)
        n, c, h, w = y.shape
        return self.mix(y.view(n, c, -1)).view(n, c, h, w)  # every unit sees everything


def test_a_walk_that_stops_before_the_output_warns():
    with pytest.warns(UserWarning, match=r"stops at layer 'view' \(view\).*'conv'.*may be "
                                         r"smaller than the model's"):
        rf = receptive_field(_Flattens(), (1, 8, 8))
    assert rf.layer == "conv" and rf.stopped_at == "view (view)"


def test_global_ends_do_not_warn(recwarn):
    class MeanHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x).mean([2, 3]) + self.conv(x).view(x.shape[0], -1).sum(1, True)

    rf = receptive_field(MeanHead(), (1, 8, 8))
    assert rf.size == (3, 3) and not recwarn.list
    for name in ["resnet18", "mnasnet0_5", "densenet121"]:
        assert receptive_field(_meta(name), (3, 64, 64)).stride == (32, 32)
    assert not recwarn.list


class _MainAndAux(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3)
        self.main = nn.Conv2d(2, 2, 5)
        self.aux = nn.Sequential(nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 3))
        self.head = nn.Linear(2, 3)

    def forward(self, x):
        x = self.stem(x)
        main = self.head(self.main(x).mean((2, 3)))
        aux = self.head(self.aux(x).mean((2, 3)))  # traced after the main head
        return main, aux


def test_a_model_returning_main_and_aux_reports_the_main_head():
    rf = receptive_field(_MainAndAux(), (1, 20, 20))
    assert rf.layer == "main" and rf.size == (7, 7) and rf.output_size == (14, 14)
    assert rf.stopped_at == "mean (mean)"


def test_unit_gradient_leaves_the_model_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5),
                        nn.Conv2d(2, 2, 3))
    net.train()
    net[2].eval()  # a mixed mode must come back as it was, too
    rf = receptive_field(net, (1, 12, 12))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(1, 12, 12)
    g = unit_gradient(rf, x, (2, 3))
    assert all(p.grad is None for p in net.parameters())
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k  # running statistics included
    assert net.training and net[0].training and net[1].training and not net[2].training
    # the gradient of the model in eval mode (BatchNorm uses its running statistics)
    probe = x[None].clone().requires_grad_(True)
    net.eval()
    (expected,) = torch.autograd.grad(net(probe)[0, :, 2, 3].sum(), probe)
    torch.testing.assert_close(g, expected[0])


class _ChannelsLastMLP(nn.Module):
    """ConvNeXt's pattern: permute to channels last, a per-pixel MLP, and back."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.mlp = nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
        self.out = nn.Conv2d(4, 2, 5, stride=2)

    def forward(self, x):
        x = self.conv(x)
        y = self.mlp(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.out(torch.transpose(y, -1, -2).transpose(2, 3) + x)


def test_channels_last_mlp_is_followed():
    net = _ChannelsLastMLP()
    rf = receptive_field(net, (2, 30, 30))
    assert rf.size == (3 + 4, 3 + 4) and rf.stride == (2, 2) and rf.stopped_at is None
    # The measurement, without the layer norm (it would cancel a constant image's gradient):
    net.mlp[0] = nn.Identity()
    _check(net, net, (2, 30, 30))


def test_a_linear_layer_across_the_width_is_not_followed():
    class Across(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)
            self.mix = nn.Linear(6, 6)

        def forward(self, x):
            return self.mix(self.conv(x))  # mixes the whole width

    with pytest.warns(UserWarning, match=r"stops at layer 'mix' \(Linear\)"):
        assert receptive_field(Across(), (1, 8, 8)).size == (3, 3)
