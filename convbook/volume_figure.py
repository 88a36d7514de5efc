"""The volume view of a convolution layer: input, kernels and output drawn as boxes.

:func:`layer_volume_figure` draws the input as a ``C_in × H × W`` box (channels going back),
the ``C_out`` kernels as ``C_in × k × k`` boxes, one colour each, and the output as a
``C_out × H_out × W_out`` box.  One output position is followed through the layer: the
``C_in × k × k`` window of the input it reads, shaded on the input box, and the column of
``C_out`` values it produces, one from each kernel, in that kernel's colour.  Boxes are drawn
in an oblique projection (front faces true to size, depth going up and to the right), back to
front, so that nearer faces cover farther ones.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from convbook._args import check_int, pair
from convbook.fonts import drawn_text, use_reader_font
from convbook.shapes import conv_out_size

#: The most output channels drawn as separate kernels; more are summarised by a label.
MAX_KERNELS_DRAWN = 6
#: The largest number of input or output channels, and of rows or columns, the figure takes.
MAX_SIZE = 64
_COLOURS = ("#e6550d", "#3182bd", "#31a354", "#756bb1", "#d6616b", "#8c6d31")
_DEPTH = (0.55, 0.4)  # screen offset of one step back, for a box of a few channels


def _project(x: float, y: float, z: float, depth: tuple[float, float]) -> tuple[float, float]:
    """Screen coordinates of column ``x``, row ``y`` (down) and depth ``z`` (back)."""
    return x + z * depth[0], -y + z * depth[1]


def _box(ax: Axes, x: float, y: float, z: float, size: tuple[float, float, float],
         depth: tuple[float, float], *, colour: str, alpha: float = 1.0,
         edge: str = "black", lines: tuple[int, int, int] = (0, 0, 0), gid: str = "") -> None:
    """A box over columns ``x..x+dx``, rows ``y..y+dy`` and depths ``z..z+dz``: its front,
    top and right faces, with ``lines`` = (columns, rows, depth steps) drawn as a grid."""
    dx, dy, dz = size

    def p(a: float, b: float, c: float) -> tuple[float, float]:
        return _project(a, b, c, depth)

    faces = (
        [p(x, y, z), p(x + dx, y, z), p(x + dx, y, z + dz), p(x, y, z + dz)],  # top
        [p(x + dx, y, z), p(x + dx, y + dy, z), p(x + dx, y + dy, z + dz),
         p(x + dx, y, z + dz)],  # right
        [p(x, y, z), p(x + dx, y, z), p(x + dx, y + dy, z), p(x, y + dy, z)],  # front
    )
    rgb = to_rgb(colour)
    for shade, face in zip((0.85, 0.7, 1.0), faces):  # sides darker than the front
        patch = Polygon(face, closed=True, facecolor=(*(c * shade for c in rgb), alpha),
                        edgecolor=edge, linewidth=0.8, zorder=2)
        patch.set_gid(gid)
        ax.add_patch(patch)
    columns, rows, steps = lines
    style = {"color": edge, "linewidth": 0.4, "alpha": 0.6, "zorder": 3}
    for k in range(1, columns):  # front and top faces
        ax.plot(*zip(p(x + k * dx / columns, y + dy, z), p(x + k * dx / columns, y, z),
                     p(x + k * dx / columns, y, z + dz)), **style)
    for k in range(1, rows):  # front and right faces
        ax.plot(*zip(p(x, y + k * dy / rows, z), p(x + dx, y + k * dy / rows, z),
                     p(x + dx, y + k * dy / rows, z + dz)), **style)
    for k in range(1, steps):  # top and right faces
        ax.plot(*zip(p(x, y, z + k * dz / steps), p(x + dx, y, z + k * dz / steps),
                     p(x + dx, y + dy, z + k * dz / steps)), **style)


def _depth_step(channels: int) -> tuple[float, float]:
    """The screen offset of one channel: boxes of many channels are drawn thinner, so that
    no box is deeper than about eight channels of a thin one."""
    scale = min(1.0, 8 / channels)
    return _DEPTH[0] * scale, _DEPTH[1] * scale


def layer_volume_figure(c_in: int = 3, size: int | tuple[int, int] = 6, c_out: int = 4,
                        kernel_size: int = 3, position: tuple[int, int] = (1, 2)) -> Figure:
    """The volume view of ``nn.Conv2d(c_in, c_out, kernel_size)`` (stride 1, no padding) on
    a ``c_in × H × W`` input, following output ``position = (i, j)`` through the layer.

    Args:
        c_in, c_out: input and output channels, 1 to :data:`MAX_SIZE`.
        size: ``H`` or ``(H, W)``, each from ``kernel_size`` to :data:`MAX_SIZE`.
        kernel_size: ``k`` of the ``k × k`` kernels, at least 1.
        position: ``(i, j)``, a position of the ``C_out × H_out × W_out`` output.

    Returns:
        The figure: one ``Axes`` with the input, kernel and output boxes (shaded parts
        tagged with the gids ``"window"``, ``"kernel <o>"`` and ``"output <o>"``) and a
        label under each naming its shape.
    """
    c_in = check_int(c_in, "c_in", minimum=1, maximum=MAX_SIZE)
    c_out = check_int(c_out, "c_out", minimum=1, maximum=MAX_SIZE)
    h, w = pair(size, "size", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1, maximum=MAX_SIZE)
    if max(h, w) > MAX_SIZE or min(h, w) < k:
        raise ValueError(f"size must be from kernel_size ({k}) to {MAX_SIZE} in each axis, "
                         f"got {(h, w)}")
    h_out, w_out = conv_out_size((h, w), k)
    i, j = pair(position, "position", minimum=0)
    if i >= h_out or j >= w_out:
        raise ValueError(f"position must be inside the {h_out} x {w_out} output, got {(i, j)}")

    fig, ax = plt.subplots(figsize=(11, 4.2))
    d_in, d_out = _depth_step(c_in), _depth_step(c_out)
    steps_in, steps_out = (c_in if c_in <= 16 else 0), (c_out if c_out <= 16 else 0)

    # The input, and the window that output (i, j) reads, through every input channel.
    _box(ax, 0, 0, 0, (w, h, c_in), d_in, colour="#f0f0f0", lines=(w, h, steps_in),
         gid="input")
    _box(ax, j, i, 0, (k, k, c_in), d_in, colour="#fdd835", alpha=0.75, gid="window")
    # The kernels, one colour each, stacked in a column and scaled to the input's height.
    drawn = min(c_out, MAX_KERNELS_DRAWN)
    gap = 0.6
    scale = min(1.0, (h + 1) / (drawn * k + (drawn - 1) * gap))
    x_kernels = w + c_in * d_in[0] + 3.5
    for o in range(drawn):
        y = o * (k + gap) * scale
        _box(ax, x_kernels, y, 0, (k * scale, k * scale, c_in * scale), d_in,
             colour=_COLOURS[o % len(_COLOURS)], lines=(k, k, steps_in), gid=f"kernel {o}")
    if drawn < c_out:
        ax.text(x_kernels + k * scale / 2, -(drawn * (k + gap) * scale) + 0.1,
                drawn_text("figures.volume.more", count=c_out - drawn), ha="center", va="top",
                fontsize=9)
    x_out = x_kernels + k * scale + c_in * d_in[0] * scale + 3.5
    # The output, and the column of output (i, j): one value per kernel, back to front.
    _box(ax, x_out, 0, 0, (w_out, h_out, c_out), d_out, colour="#f0f0f0",
         lines=(w_out, h_out, steps_out), alpha=0.6, gid="output")
    for o in reversed(range(c_out)):
        colour = _COLOURS[o % len(_COLOURS)] if o < drawn else "#bdbdbd"
        _box(ax, x_out + j, i, o, (1, 1, 1), d_out, colour=colour, gid=f"output {o}")

    for x, symbol in ((w + c_in * d_in[0] + 1.6, "⋆"), (x_out - 1.8, "=")):
        ax.text(x, -h / 2, symbol, ha="center", va="center", fontsize=26)
    below = -max(h, drawn * (k + gap) * scale) - 0.9
    labels = (
        (w / 2, drawn_text("figures.volume.input")
         + f"\n$C_{{in}} \\times H \\times W$ = {c_in} × {h} × {w}"),
        (x_kernels + k * scale / 2, drawn_text("figures.volume.kernels", count=c_out)
         + f"\n$C_{{in}} \\times k \\times k$ = {c_in} × {k} × {k}"),
        (x_out + w_out / 2, drawn_text("figures.volume.output")
         + f"\n$C_{{out}} \\times H_{{out}} \\times W_{{out}}$ = {c_out} × {h_out} × {w_out}"),
    )
    for x, label in labels:
        ax.text(x, below, label, ha="center", va="top", fontsize=9)
    ax.set_title(drawn_text("figures.volume.title", i=i, j=j, window=f"{c_in} × {k} × {k}"),
                 fontsize=10)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    use_reader_font(fig)
    fig.tight_layout()
    return fig
