"""What several parts of :mod:`convbook.receptive_field` share: :func:`show_pair`, how the
table, the error messages and the plot write a per-axis ``(h, w)`` value
(:data:`convbook._args.Pair`).
"""

from __future__ import annotations


def show_pair(value: tuple | None) -> str:
    """``(3, 3)`` as ``3``, ``(3, 5)`` as ``3x5``, ``None`` as ``-``."""
    if value is None:
        return "-"
    parts = [f"{v:g}" if isinstance(v, float) else str(v) for v in value]
    return parts[0] if parts[0] == parts[1] else "x".join(parts)
