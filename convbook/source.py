"""Show the package's own source in a chapter, instead of copying it into the notebook."""

from __future__ import annotations

import inspect
from typing import Any

from IPython.display import Code


def show_source(obj: Any) -> Code:
    """Return ``obj``'s source code as a syntax-highlighted cell output.

    >>> from convbook.ops import corr2d
    >>> show_source(corr2d)  # doctest: +SKIP
    """
    return Code(inspect.getsource(obj), language="python")
