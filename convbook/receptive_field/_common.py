"""What several parts of :mod:`convbook.receptive_field` share: ``Pair``, the type of a
per-axis ``(h, w)`` value, and :func:`_show`, how the table, the error messages and the plot
write one.
"""

from __future__ import annotations

Pair = tuple[int, int]


def _show(value: tuple | None) -> str:
    """``(3, 3)`` as ``3``, ``(3, 5)`` as ``3x5``, ``None`` as ``-``."""
    if value is None:
        return "-"
    parts = [f"{v:g}" if isinstance(v, float) else str(v) for v in value]
    return parts[0] if parts[0] == parts[1] else "x".join(parts)
