"""Show the package's own source in a chapter, instead of copying it into the notebook.

A listing is saved once as Markdown (a fenced ``python`` block, which JupyterLab, Colab,
GitHub and the static book highlight) and once as plain text (for terminals, and what
nbval compares): a few kilobytes a function, where IPython's ``Code`` saves HTML with a
full style sheet, LaTeX and plain text, about ten times the source.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

from convbook._args import check_bool

#: what stands in the listing where argument checks were left out
CHECKS_LEFT_OUT = "# (argument checks left out)"


class SourceListing:
    """Source code as a notebook output: a Markdown ``python`` block, or plain text.

    Attributes:
        source: the code shown.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def _repr_markdown_(self) -> str:
        # a fence longer than any run of backticks in the code (a docstring may hold one)
        longest = max((len(run) for run in re.findall(r"`+", self.source)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}python\n{self.source.rstrip()}\n{fence}"

    def __repr__(self) -> str:
        return self.source.rstrip()


def show_source(obj: Any, *, argument_checks: bool = True) -> SourceListing:
    """Return ``obj``'s source code (a function, class or module) for display in a notebook.

    Args:
        obj: what to show.
        argument_checks: ``False`` leaves out, in every function of the listing, the
            statements that only check arguments (``if ...: raise ...`` and calls of
            ``check_*`` helpers), each run of them replaced by :data:`CHECKS_LEFT_OUT`,
            so that a chapter shows the idea of the code.  What is left still runs and
            computes the same for valid arguments.

    >>> from convbook.shapes import effective_kernel_size
    >>> print(show_source(effective_kernel_size).source.splitlines()[0])
    def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """
    check_bool(argument_checks, "argument_checks")
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError):
        raise TypeError(
            f"obj must be a function, class or module whose source file exists, got {obj!r}"
        ) from None
    return SourceListing(source if argument_checks else _without_argument_checks(source))


def _is_argument_check(statement: ast.stmt) -> bool:
    """``if ...: raise ...`` (no else), or a bare call of a ``check_*`` / ``_check_*`` helper."""
    if isinstance(statement, ast.If):
        return not statement.orelse and all(isinstance(s, ast.Raise) for s in statement.body)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name.startswith(("check_", "_check_"))
    return False


def _without_argument_checks(source: str) -> str:
    """``source`` with each run of argument checks in a function body replaced by one
    :data:`CHECKS_LEFT_OUT` line (see :func:`show_source`)."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(textwrap.dedent(source))
    replace: dict[int, tuple[int, str]] = {}  # first line -> (last line, replacement)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        run: list[ast.stmt] = []
        for statement in [*node.body, None]:
            if statement is not None and _is_argument_check(statement):
                run.append(statement)
                continue
            if run:
                first = lines[run[0].lineno - 1]
                indent = first[: len(first) - len(first.lstrip())]
                replace[run[0].lineno] = (run[-1].end_lineno, f"{indent}{CHECKS_LEFT_OUT}\n")
                run = []
    out, number = [], 1
    while number <= len(lines):
        if number in replace:
            last, text = replace[number]
            out.append(text)
            number = last + 1
        else:
            out.append(lines[number - 1])
            number += 1
    return "".join(out)
