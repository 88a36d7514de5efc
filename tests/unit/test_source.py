"""convbook.source.show_source: what a chapter shows of the package's code."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from IPython.core.formatters import DisplayFormatter

from convbook import kernels
from convbook.ops import conv_transpose2d, transposed
from convbook.source import CHECKS_LEFT_OUT, show_source


def _bundle(obj) -> dict:
    data, _ = DisplayFormatter().format(obj)  # what IPython writes into the notebook
    return data


def test_a_listing_is_markdown_and_plain_text_only():
    listing = show_source(kernels.gaussian_blur)
    source = inspect.getsource(kernels.gaussian_blur)
    assert listing.source == source
    data = _bundle(listing)
    assert set(data) == {"text/plain", "text/markdown"}  # no HTML, no LaTeX
    assert data["text/plain"] == source.rstrip()
    assert data["text/markdown"] == "```python\n" + source.rstrip() + "\n```"
    assert len(data["text/markdown"]) + len(data["text/plain"]) < 2.1 * len(source)


def _with_fence():
    """Usage::

    ```
    x = 1
    ````
    """


def test_the_fence_is_longer_than_any_backticks_in_the_code():
    markdown = _bundle(show_source(_with_fence))["text/markdown"]
    assert markdown.startswith("`````python\n") and markdown.endswith("\n`````")


def _checked(x: int, k: int = 3) -> int:
    """Doubles x."""
    check_something(x)
    if x < 0:
        raise ValueError("x must be >= 0")
    if k < 1:
        # a comment inside the check goes too
        raise ValueError("k must be >= 1")
    y = 2 * x
    if y > 100:
        y = 100  # not a check: kept
    _check_other(y)
    return y


def check_something(x):
    pass


def _check_other(y):
    pass


def test_argument_checks_can_be_left_out():
    expected = f'''def _checked(x: int, k: int = 3) -> int:
    """Doubles x."""
    {CHECKS_LEFT_OUT}
    y = 2 * x
    if y > 100:
        y = 100  # not a check: kept
    {CHECKS_LEFT_OUT}
    return y
'''
    assert show_source(_checked, argument_checks=False).source == expected
    assert show_source(_checked).source == inspect.getsource(_checked)


def test_conv_transpose2d_without_checks_is_short_and_still_computes_the_same():
    full = show_source(conv_transpose2d).source
    short = show_source(conv_transpose2d, argument_checks=False).source
    assert "raise ValueError" in full and "raise ValueError" not in short
    assert "check_tensor(" not in short and "F.fold(" in short
    assert short.count(CHECKS_LEFT_OUT) >= 1
    assert len(short) < len(full)
    # the listing is code that runs: executed in the module's namespace, it gives the
    # same results as the real function for valid arguments
    namespace = dict(vars(transposed))
    exec(compile(short, "<listing>", "exec"), namespace)
    _check_listing(namespace["conv_transpose2d"])


def _check_listing(function) -> None:
    """``function`` agrees with F.conv_transpose2d and convbook's own, over a few cases."""
    gen = torch.Generator().manual_seed(0)
    for k, s, groups, p, d in [(1, 1, 1, 0, 1), (3, 2, 1, 1, 1), (2, 3, 2, 0, 2), (3, 1, 2, 1, 2)]:
        x = torch.randn(2, 2 * groups, 4, 5, generator=gen, dtype=torch.float64)
        w = torch.randn(2 * groups, 3, k, k, generator=gen, dtype=torch.float64)
        b = torch.randn(3 * groups, generator=gen, dtype=torch.float64)
        args = dict(stride=s, padding=p, groups=groups, dilation=d)
        torch.testing.assert_close(function(x, w, b, **args), F.conv_transpose2d(x, w, b, **args))
        torch.testing.assert_close(function(x, w, b, **args), conv_transpose2d(x, w, b, **args))


@pytest.mark.parametrize(
    "obj, kwargs, error, message",
    [
        (42, {}, TypeError, "obj must be a function, class or module whose source file exists"),
        (len, {}, TypeError, "obj must be a function, class or module"),
        (_checked, {"argument_checks": "no"}, TypeError, "argument_checks must be True or False"),
    ],
)
def test_bad_arguments(obj, kwargs, error, message):
    with pytest.raises(error, match=message):
        show_source(obj, **kwargs)
