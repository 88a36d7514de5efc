"""Receptive field, effective stride and effective padding of every layer of a CNN.

Each module uses only those listed after it::

    plot           plot_receptive_field: a unit's field drawn on an image
                   -> trace, gradient, _common
    gradient       unit_gradient: a unit's field measured with autograd   -> table
    trace          receptive_field: the model traced with torch.fx and walked layer by
                   layer to build the table -> arithmetic, table, _spatial_axes, _common
    _spatial_axes  Layout, follow: where a traced map's height and width axes go
    table          Layer, ReceptiveField, unit_box: one row per layer, the final values,
                   the input box a unit sees -> _common
    arithmetic     next_field, field_size: the formulas (Araujo, Norris and Sim, Distill
                   2019), one per function, along one axis; a layer's window -> _common
    _common        show_pair: how a per-axis (h, w) value is written
"""

from convbook.receptive_field.arithmetic import field_size, next_field
from convbook.receptive_field.gradient import unit_gradient
from convbook.receptive_field.plot import plot_receptive_field
from convbook.receptive_field.table import Layer, ReceptiveField
from convbook.receptive_field.trace import receptive_field

__all__ = [
    "Layer",
    "ReceptiveField",
    "field_size",
    "next_field",
    "plot_receptive_field",
    "receptive_field",
    "unit_gradient",
]
