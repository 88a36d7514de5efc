"""``BookWidget``: what every widget of the book has in common.

A book widget *is* an ``ipywidgets.VBox`` (display it, put it in another box, link its
parts) and follows one pattern, so that a reader, a test and the next widget's author find
the same things in the same places:

* **Public sub-widgets.** The controls and views are attributes named by what they are
  and end in their kind: ``stride_slider``, ``preset_dropdown``, ``absolute_checkbox``,
  ``mode_toggle``, ``input_view`` (an ``ipywidgets.Image``), and ``message`` (an
  ``ipywidgets.HTML`` under the pictures).  Tests and chapters use these, never
  underscored names.
* **One way to show an error.** ``error`` is ``None`` or the text shown, in red, at the
  top of ``message``.  A reader's input that cannot be used (a cell that is not a number,
  an impossible combination of sizes) sets it; the widget keeps its last good state and
  the error goes away as soon as the input is good again.
* **A callback never raises into the kernel.** Observers are decorated with
  :func:`callback`: an unexpected exception becomes the error message instead of a
  traceback in the notebook, and the widget stays alive.
* **A headless API.** Everything a reader can do with the mouse can be done from code
  (``set(...)`` or ``set_<what>(...)`` methods, or assigning to a sub-widget's ``value``),
  through the same code path.  Code gets Python's answer to bad arguments: every value is
  checked before anything changes, and a ``TypeError``/``ValueError`` names the argument
  and the rule (``step must be in 0..8, got 9``).
* **A still image.** ``png`` is a picture of what the widget shows;
  ``_repr_mimebundle_`` puts it beside the widget view as ``image/png``, for viewers that
  cannot run widget JavaScript (the static book, GitHub), and a short ``__repr__`` as
  ``text/plain`` (nbval compares it).
* **CSS classes.** The widget carries ``CSS_CLASS`` (``convbook-kernel-editor``, ...),
  its message ``convbook-message``; subclasses name their other parts ``convbook-...``
  for readers' styles and the browser tests.

A subclass sets ``CSS_CLASS``, builds its sub-widgets, calls
``super().__init__(children)`` (the message is added below them) and defines ``png``,
``__repr__`` and, if it has more to say than the error, ``_info_html``.
"""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

import ipywidgets as widgets

_P = ParamSpec("_P")
_W = TypeVar("_W", bound="BookWidget")

ERROR_COLOUR = "#b42318"


class BookWidget(widgets.VBox):
    """Base class of the book's widgets (see the module docstring for the pattern).

    Attributes:
        message: ``ipywidgets.HTML`` under the widget's other parts: the error, if any,
            then whatever ``_info_html`` returns.
        error: the error shown, or ``None``.
    """

    #: CSS class of the whole widget, e.g. ``"convbook-kernel-editor"``
    CSS_CLASS: ClassVar[str] = ""
    #: said after every error, e.g. ``"showing the last good output"``
    ERROR_NOTE: ClassVar[str] = ""

    def __init__(self, children: Sequence[widgets.Widget], **kwargs: Any) -> None:
        if not self.CSS_CLASS.startswith("convbook-"):
            raise TypeError(f"{type(self).__name__}.CSS_CLASS must start with 'convbook-'")
        self.error: str | None = None
        self.message = widgets.HTML()
        self.message.add_class("convbook-message")
        super().__init__([*children, self.message], **kwargs)
        self.add_class(self.CSS_CLASS)

    # ----------------------------------------------------------------- the message
    def _show_error(self, text: str | None) -> None:
        """Show ``text`` as the error (``None``: no error) and redraw the message."""
        self.error = text
        self._render_message()

    def _info_html(self) -> str:
        """HTML shown in ``message`` after the error; none by default."""
        return ""

    def _render_message(self) -> None:
        parts = []
        if self.error is not None:
            note = f"; {self.ERROR_NOTE}" if self.ERROR_NOTE else ""
            parts.append(
                f'<b class="convbook-error" style="color:{ERROR_COLOUR}">'
                f"⚠ {html.escape(self.error)}{html.escape(note)}</b>"
            )
        info = self._info_html()
        if info:
            parts.append(info)
        self.message.value = "<br>".join(parts)

    # ----------------------------------------------------------------- display
    @property
    def png(self) -> bytes:
        """A still of what the widget shows, as PNG bytes."""
        raise NotImplementedError(f"{type(self).__name__} must define png")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        # ipywidgets cuts text/plain at 110 characters; nbval compares all of it
        bundle["text/plain"] = repr(self)
        # JupyterLab prefers the widget view; the still is for viewers without widgets
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle


def callback(
    method: Callable[Concatenate[_W, _P], None],
) -> Callable[Concatenate[_W, _P], None]:
    """Decorate an observer so that it never raises into the notebook.

    An exception inside it becomes the widget's error (``could not update: ...``); the
    widget keeps running, and its next good update clears the message.
    """

    @functools.wraps(method)
    def run(self: _W, *args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as error:  # a callback never raises into the kernel
            self._show_error(f"could not update: {type(error).__name__}: {error}")

    return run
