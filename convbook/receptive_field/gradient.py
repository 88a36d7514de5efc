"""Measure a unit's receptive field instead of computing it: :func:`unit_gradient`, the
gradient of one unit of the last feature map with respect to the input image, which is
nonzero only inside the field that :func:`~convbook.receptive_field.receptive_field` reports.
"""

from __future__ import annotations

import torch

from convbook._args import check_tensor, pair
from convbook.receptive_field.table import ReceptiveField


def unit_gradient(
    result: ReceptiveField, x: torch.Tensor, unit: tuple[int, int] | None = None
) -> torch.Tensor:
    """Gradient of one unit of the last feature map (summed over its channels) with respect
    to the input image.

    Args:
        result: :func:`receptive_field`'s result for the model.
        x: one image ``(C, H, W)``.
        unit: ``(i, j)`` in the last feature map; default the centre unit.

    Returns:
        ``(C, H, W)``: nonzero only inside the unit's receptive field.  The model runs in
        eval mode (its modes are restored afterwards); nothing is written into its
        parameters' ``.grad`` or its batch-norm statistics.
    """
    if not isinstance(result, ReceptiveField):
        raise TypeError(f"result must be a ReceptiveField, got {type(result).__name__}")
    check_tensor(x, "x", [3], ["(C, H, W)"])
    if tuple(x.shape) != result.input_size:
        raise ValueError(f"x must have the shape {result.input_size} the receptive field was "
                         f"computed for, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if unit is not None:
        unit = pair(unit, "unit", minimum=0)  # type: ignore[assignment]
    features = result._features
    assert features is not None  # always set by receptive_field
    # Eval mode (BatchNorm keeps its running statistics, dropout is off), then every
    # module's own mode back; autograd.grad leaves the parameters' .grad alone.
    modes = [(m, m.training) for m in features.modules()]
    features.eval()
    try:
        x = x.detach().clone().unsqueeze(0).requires_grad_(True)
        fmap = features(x)
        i, j = unit if unit is not None else (fmap.shape[-2] // 2, fmap.shape[-1] // 2)
        if not (i < fmap.shape[-2] and j < fmap.shape[-1]):
            raise ValueError(f"unit must lie inside the {tuple(fmap.shape[-2:])} feature map, "
                             f"got {(i, j)}")
        (grad,) = torch.autograd.grad(fmap[0, :, i, j].sum(), x)
    finally:
        for module, mode in modes:
            module.training = mode
    return grad[0]
