"""convbook.block_diagram: the steps and shapes come from the model itself."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from convbook import models
from convbook.block_diagram import block_diagram, layer_steps


@pytest.mark.parametrize("widths", [(32, 128, 128), (8, 16), (5,)])
def test_fastnet_steps_have_the_shapes_its_layers_produce(widths):
    net = models.FastNet(widths=widths)
    steps = layer_steps(net)
    x = net.act(net.whiten(torch.zeros(1, 3, 32, 32)))
    expected = [(c0 := net.whiten.out_channels, 31, 31)] * 2
    for block in net.blocks:
        y = block.conv1(x)
        p = block.pool(y)
        expected += [tuple(y.shape[1:])] + [tuple(p.shape[1:])] * 3
        x = block(x)
        expected += [tuple(x.shape[1:])] * 3
    expected += [(widths[-1],), (10,), (10,)]
    assert [s.shape for s in steps] == expected
    assert steps[0].label == f"conv 2×2, 3→{c0}, fixed"  # the whitening filters are not trained
    assert [s.stage for s in steps] == (["", ""] + [f"blocks.{i}" for i in range(len(widths))
                                                    for _ in range(7)] + ["", "", ""])
    assert [s.label for s in steps[-3:]] == ["global max pool", f"linear {widths[-1]}→10",
                                             f"÷ {widths[-1]}"]


def test_a_sequential_model_and_its_dropout_and_flatten():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Dropout(0.25),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    steps = layer_steps(net, (3, 8, 8))
    assert [s.label for s in steps] == ["conv 3×3, 3→4, stride 2, padding 1", "ReLU",
                                        "dropout 0.25", "flatten", "linear 64→10"]
    assert steps[-1].shape == (10,)


def test_the_model_keeps_its_mode_and_weights():
    net = models.FastNet(widths=(8, 8))
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    layer_steps(net)
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_the_figure_has_a_row_per_block_and_the_shapes():
    fig = block_diagram(models.FastNet(widths=(32, 128, 128)))
    texts = [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)
    assert [t for t in texts if t in ("stem", "block 0", "block 1", "block 2", "head")] == [
        "stem", "block 0", "block 1", "block 2", "head"]
    assert "input 3×32×32" in texts and "→ 128×3×3" in texts and "→ 10" in texts


@pytest.mark.parametrize("size, match", [((3, 32), "input_size"), ([3, 32, 32], "input_size"),
                                         ((3, 0, 32), r"input_size\[1\]")])
def test_bad_input_size_is_named(size, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layer_steps(models.TutorialNet(), size)


def test_a_model_that_is_not_a_module_is_refused():
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        layer_steps(lambda x: x)
