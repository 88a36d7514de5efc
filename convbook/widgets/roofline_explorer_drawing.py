"""The roofline explorer's picture and table: the roofline plot of a machine with the layer
at its roof and the FLOP/s each measured algorithm achieved (PNG bytes), and the table of
the layer's numbers and times (HTML).
"""

from __future__ import annotations

import html
import io

from matplotlib.figure import Figure

from convbook.fonts import drawn_text, use_reader_font
from convbook.language import text
from convbook.roofline import (
    attainable_flops,
    plot_roofline,
    predicted_seconds,
    ridge_point,
    why_not,
)
from convbook.widgets.roofline_explorer_state import RooflineExplorerState, bound_by

#: the colour of each algorithm's point on the plot
COLOURS = {"direct": "tab:red", "im2col": "tab:orange", "FFT": "tab:green",
           "Winograd": "tab:purple", "F.conv2d": "tab:blue"}


def plot_png(state: RooflineExplorerState, peak: float, bandwidth: float) -> bytes:
    """The roof of a machine of ``peak`` FLOP/s and ``bandwidth`` bytes/s, ``state``'s
    layer on it (at its intensity, at the roof) and the FLOP/s each algorithm achieved in
    ``state.times``, as PNG bytes (468 × 324 pixels)."""
    layer, dtype = state.layer, state.dtype
    fig = Figure(figsize=(5.2, 3.6), dpi=90)
    ax = fig.add_subplot()
    plot_roofline(ax, peak, bandwidth,
                  label=drawn_text("widgets.roofline_explorer.roof", dtype=dtype))
    intensity = layer.intensity(dtype)
    roof = attainable_flops(intensity, peak, bandwidth)
    ax.plot([intensity], [roof / 1e9], "o", mfc="none", mec="black", ms=9,
            label=drawn_text("widgets.roofline_explorer.this_layer"))
    for name, seconds in state.times or ():
        if seconds is not None:
            ax.plot([intensity], [layer.flops / seconds / 1e9], "o", color=COLOURS[name],
                    label=name)
    ax.set_title(str(layer), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    use_reader_font(fig)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def table_html(state: RooflineExplorerState, peak: float, bandwidth: float) -> str:
    """The layer's multiply-accumulates, bytes, intensity, ridge point, bound and the
    roofline's time, then each measured algorithm's time and share of the roof (or why it
    does not apply), as an HTML table."""
    layer, dtype = state.layer, state.dtype
    bound = bound_by(layer, dtype, peak, bandwidth)
    rows = [
        (text("widgets.roofline_explorer.macs"), f"{layer.macs:,}"),
        (text("widgets.roofline_explorer.bytes"), f"{layer.bytes_moved(dtype):,}"),
        (text("widgets.roofline_explorer.intensity"),
         text("widgets.roofline_explorer.flop_per_byte", value=f"{layer.intensity(dtype):.1f}")),
        (text("widgets.roofline_explorer.ridge_point"),
         text("widgets.roofline_explorer.flop_per_byte",
              value=f"{ridge_point(peak, bandwidth):.1f}")),
        (text("widgets.roofline_explorer.bound_by"),
         text("widgets.roofline_explorer.memory") if bound == "memory" else
         text("widgets.roofline_explorer.compute")),
        (text("widgets.roofline_explorer.roofline_time"),
         f"{1e3 * predicted_seconds(layer, peak, bandwidth, dtype):.3f} ms"),
    ]
    roof = attainable_flops(layer.intensity(dtype), peak, bandwidth)
    for name, seconds in state.times or ():
        if seconds is None:
            rows.append((name, html.escape(why_not(name, layer, dtype) or "")))
        else:
            share = layer.flops / seconds / roof
            rows.append((name, text("widgets.roofline_explorer.share_of_roof",
                                    time=f"{1e3 * seconds:.3f}", share=f"{share:.0%}")))
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v}</td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"
