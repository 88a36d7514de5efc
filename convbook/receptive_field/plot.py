"""Draw a unit's receptive field on an image: :func:`plot_receptive_field`, the computed
rectangle over the measured input-gradient heat map.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convbook._args import check_tensor, pair
from convbook.fonts import drawn_text, use_reader_font
from convbook.receptive_field._common import show_pair
from convbook.receptive_field.gradient import unit_gradient
from convbook.receptive_field.trace import receptive_field


def plot_receptive_field(
    model: nn.Module,
    image: torch.Tensor,
    unit: tuple[int, int] | None = None,
    ax: Any = None,
) -> Any:
    """Draw on ``image`` the receptive field of one unit of ``model``'s last feature map:
    its rectangle (from the calculator) over the measured input-gradient heat map.

    Args:
        model: a CNN (see :func:`receptive_field`).
        image: ``(C, H, W)`` in [0, 1], as :func:`convbook.images.photo` returns.
        unit: ``(i, j)`` in the last feature map; default the centre unit.
        ax: a matplotlib axes (default: a new figure).

    Returns:
        The axes.
    """
    import matplotlib.axes
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    check_tensor(image, "image", [3], ["(C, H, W)"])
    if unit is not None:
        unit = pair(unit, "unit", minimum=0)  # type: ignore[assignment]
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    result = receptive_field(model, tuple(image.shape))  # type: ignore[arg-type]
    oh, ow = result.output_size
    i, j = unit if unit is not None else (oh // 2, ow // 2)
    heat = unit_gradient(result, image, (i, j)).abs().sum(0)
    heat = heat / heat.max().clamp_min(1e-30)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    shown = image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]
    ax.imshow(shown.numpy(), cmap=None if image.shape[0] == 3 else "gray")
    ax.imshow(heat.sqrt().numpy(), cmap="inferno", alpha=0.55)
    (top, bottom), (left, right) = result.box(i, j)
    ax.add_patch(patches.Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                   fill=False, edgecolor="cyan", linewidth=2))
    ax.set_xlim(-0.5, image.shape[2] - 0.5)
    ax.set_ylim(image.shape[1] - 0.5, -0.5)
    ax.set_title(drawn_text("figures.receptive_field.title", unit=(i, j),
                            size=show_pair(result.size)))
    ax.axis("off")
    use_reader_font(ax.figure)
    return ax

