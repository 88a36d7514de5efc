"""Counting a widget's renders in the tests: each render calls a module's function once (the
explorer's ``png_bytes``, the kernel editor's ``display``, the layer explorer's
``input_gradient``, the roofline explorer's ``plot_png``), so wrapping that function counts
them."""

from __future__ import annotations

from types import ModuleType


def count_calls(monkeypatch, module: ModuleType, name: str) -> list:
    """A list that gets one entry per call of ``module.name`` from now on (the function
    still runs)."""
    calls: list = []
    real = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls
