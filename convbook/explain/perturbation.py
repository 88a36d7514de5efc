"""A map from perturbing the input instead of differentiating: Zeiler and Fergus's occlusion,
the drop of the target score when a window of the image is hidden, for every window position.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from convbook._args import check_number, check_positive_int, pair
from convbook.explain._common import Target, check_inputs, evaluating, model_logits, target_classes


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: Target = None,
    *,
    window: int | tuple[int, int] = 8,
    stride: int | tuple[int, int] = 4,
    baseline: float | torch.Tensor = 0.0,
    score: str = "logit",
    batch_size: int = 256,
) -> torch.Tensor:
    """Zeiler and Fergus's occlusion map: the drop of the target score when one window is
    replaced by ``baseline``, for every window position.

    Entry ``(n, i, j)`` is ``S_t(x_n) - S_t(x_n with rows i·s_h .. i·s_h + w_h - 1 and
    columns j·s_w .. j·s_w + w_w - 1 set to the baseline)``: positive where hiding the window
    lowers the score.

    Args:
        window, stride: ``(h, w)`` of the window and of its steps (an int for both).
        baseline: what the window shows instead: a number (0, the default, is the data set's
            mean colour for normalised images) or a tensor that broadcasts to ``(C, H, W)``.
        score: ``"logit"`` or ``"probability"`` (softmax) of the target class.
        batch_size: occluded copies per forward pass.

    Returns:
        ``(N, H', W')`` (or ``(H', W')``) with ``H' = (H - w_h) // s_h + 1``, likewise ``W'``.
    """
    xb, single = check_inputs(model, x)
    wh, ww = pair(window, "window", minimum=1)
    sh, sw = pair(stride, "stride", minimum=1)
    check_positive_int(batch_size, "batch_size")
    if score not in ("logit", "probability"):
        raise ValueError(f"score must be 'logit' or 'probability', got {score!r}")
    n, c, h, w = xb.shape
    if wh > h or ww > w:
        raise ValueError(f"window {(wh, ww)} must fit in the {h}x{w} image")
    fill = _baseline(baseline, (c, h, w), xb)
    rows, cols = range(0, h - wh + 1, sh), range(0, w - ww + 1, sw)
    masks = torch.zeros(len(rows) * len(cols), 1, h, w, dtype=torch.bool, device=xb.device)
    for p, (i, j) in enumerate(itertools.product(rows, cols)):
        masks[p, :, i:i + wh, j:j + ww] = True

    def scores(images: torch.Tensor) -> torch.Tensor:
        logits = model_logits(model, images)
        return logits.softmax(1) if score == "probability" else logits

    with evaluating(model, grad=False):
        full = scores(xb)
        t = target_classes(target, full)
        base = full[torch.arange(n), t]
        out = torch.empty(n * len(masks), dtype=full.dtype, device=xb.device)
        # every (image, window) pair, batch_size of them per forward pass
        for start in range(0, len(out), batch_size):
            pairs = torch.arange(start, min(start + batch_size, len(out)), device=xb.device)
            k, w = pairs // len(masks), pairs % len(masks)
            copies = torch.where(masks[w], fill, xb[k])
            out[pairs] = base[k] - scores(copies)[torch.arange(len(pairs)), t[k]]
    out = out.view(n, len(rows), len(cols))
    return out[0] if single else out


def _baseline(baseline: object, shape: tuple[int, int, int], x: torch.Tensor) -> torch.Tensor:
    if isinstance(baseline, torch.Tensor):
        try:
            fill = torch.broadcast_to(baseline.to(x), shape)
        except RuntimeError:
            raise ValueError(f"baseline must broadcast to (C, H, W) = {shape}, got shape "
                             f"{tuple(baseline.shape)}") from None
        if not torch.isfinite(fill).all():
            raise ValueError("baseline must hold finite numbers")
        return fill
    return torch.full(shape, check_number(baseline, "baseline"), dtype=x.dtype,
                      device=x.device)
