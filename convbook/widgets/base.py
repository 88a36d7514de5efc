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
* **State as data.** A widget's settings are one frozen dataclass, ``state``; nothing
  else holds them.  ``set(**changes)`` is the one way to change them: it checks every
  value (a ``TypeError``/``ValueError`` names the argument and the rule, ``step must be
  in 0..8, got 9``, before anything changes), builds the new state with
  ``dataclasses.replace`` and renders it once: computes what the new state shows (if that
  fails, nothing has changed), makes it the state, shows its pictures, and moves every
  control to it inside ``hold_sync()`` (one message per control).  Controls are views of
  the state: their observers call ``set`` (through :meth:`BookWidget.set_from_control`),
  and a control moved to the value the state already has calls ``set`` with no change,
  which does nothing, so no re-entrancy guard is needed.  Everything the mouse can do, code can do
  with ``set`` (or by assigning to a control's ``value``), through the same path.
* **A still image.** ``png`` is a picture of what the widget shows;
  ``_repr_mimebundle_`` puts it beside the widget view as ``image/png``, for viewers that
  cannot run widget JavaScript (the static book, GitHub), and a short ``__repr__`` as
  ``text/plain`` (nbval compares it).
* **The reader's language.** Every word a widget shows comes from the catalog
  ``convbook/messages/<lang>/widgets.toml`` (:func:`convbook.language.text`; the words
  of its picture through :func:`convbook.fonts.drawn_text`), so that the Chinese edition's
  widgets speak Chinese; its code and ``__repr__`` stay the same in every language.
* **CSS classes.** The widget carries ``CSS_CLASS`` (``convbook-kernel-editor``, ...),
  its message ``convbook-message``; subclasses name their other parts ``convbook-...``
  for readers' styles and the browser tests.

A subclass sets ``CSS_CLASS``, builds its sub-widgets, calls
``super().__init__(children)`` (the message is added below them), renders its first state
with ``_render``, and defines ``_checked(changes)`` (the new state, or an exception),
``_render(state)``, ``_show_controls(state)``, ``png``, ``__repr__`` and, if it has more
to say than the error, ``_info_html``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

import ipywidgets as widgets

from convbook.language import text

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
    #: the key of the words said after every error (``"showing the last good output"``),
    #: or ``""``
    ERROR_NOTE: ClassVar[str] = ""

    def __init__(self, children: Sequence[widgets.Widget], **kwargs: Any) -> None:
        if not self.CSS_CLASS.startswith("convbook-"):
            raise TypeError(f"{type(self).__name__}.CSS_CLASS must start with 'convbook-'")
        self.error: str | None = None
        self._state: Any = None
        self.message = widgets.HTML()
        self.message.add_class("convbook-message")
        super().__init__([*children, self.message], **kwargs)
        self.add_class(self.CSS_CLASS)

    # ----------------------------------------------------------------- the state
    @property
    def state(self) -> Any:
        """The current settings: a frozen dataclass (change them with :meth:`set`)."""
        return self._state

    def set(self: _W, **changes: Any) -> _W:
        """Change settings (keyword arguments named as the fields of ``state``), all
        checked before any changes, and render once; returns the widget."""
        state = self._checked(changes)
        if state != self._state:
            self._render(state)
        return self

    def set_from_control(self, **changes: Any) -> None:
        """What a control's observer does: :meth:`set`; a value that cannot be used shows
        its error in the widget and moves the controls back to the state."""
        try:
            self.set(**changes)
        except (TypeError, ValueError) as error:
            self._show_error(str(error))
            self._show_controls(self._state)

    def _bind(self, control: widgets.Widget, field: str) -> Callable[[dict], None]:
        """Make ``control`` a view of state field ``field``: a change of its ``value`` calls
        ``set(field=value)`` (:meth:`set_from_control`); returns the observer."""
        observer = functools.partial(self._on_control, field)
        control.observe(observer, names="value")
        return observer

    def _on_control(self, field: str, change: dict) -> None:
        run_callback(self, lambda: self.set_from_control(**{field: change["new"]}))

    def _checked(self, changes: dict[str, Any]) -> Any:
        """The state ``changes`` make, every value checked; raise naming a bad one."""
        raise NotImplementedError(f"{type(self).__name__} must define _checked")

    def _render(self, state: Any) -> None:
        """Show ``state``: compute its pictures (if that raises, nothing has changed), make
        it the state, show the pictures, move the controls to it (:meth:`_show_controls`),
        and write the message (the error cleared)."""
        raise NotImplementedError(f"{type(self).__name__} must define _render")

    def _show_controls(self, state: Any) -> None:
        """Move every control to ``state``, inside ``hold_sync()`` (see :func:`holding`)."""
        raise NotImplementedError(f"{type(self).__name__} must define _show_controls")

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
            note = text(self.ERROR_NOTE) if self.ERROR_NOTE else ""
            parts.append(
                f'<b class="convbook-error" style="color:{ERROR_COLOUR};'
                'overflow-wrap:anywhere">'
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


@contextlib.contextmanager
def holding(*controls: widgets.Widget) -> Iterator[None]:
    """Batch changes to ``controls``: each sends one message, with all its changes, when
    the ``with`` ends (``hold_sync`` of each)."""
    with contextlib.ExitStack() as stack:
        for control in controls:
            stack.enter_context(control.hold_sync())
        yield


def show_int(slider: widgets.IntSlider, value: int, low: int, high: int) -> None:
    """Move ``slider`` to ``value`` in ``low..high`` without passing through a clamped
    value (a slider clamps its value to its range; the range is widened, the value set,
    and then the range narrowed)."""
    slider.max = max(slider.max, high)
    slider.min = min(slider.min, low)
    slider.value = value
    slider.min, slider.max = low, high


def renewed_slider(slider: widgets.IntSlider, low: int, high: int) -> widgets.IntSlider:
    """``slider`` if its range is ``low..high``, else a new slider like it with that range.

    JupyterLab's slider keeps the range it was first drawn with for its Home and End keys
    (noUiSlider's ``updateOptions`` leaves them on the old range: after the range grows
    from 0..6 to 0..30, End stops at 6), so a slider whose range changes is replaced by a
    new one, which is drawn afresh.  The caller puts it in the old one's place, observes
    it and closes the old one.
    """
    if (slider.min, slider.max) == (low, high):
        return slider
    new = widgets.IntSlider(
        value=min(max(slider.value, low), high), min=low, max=high,
        description=slider.description, style=slider.style, layout=slider.layout,
        disabled=slider.disabled, continuous_update=slider.continuous_update,
    )
    for name in slider._dom_classes:
        new.add_class(name)
    return new


def callback(
    method: Callable[Concatenate[_W, _P], None],
) -> Callable[Concatenate[_W, _P], None]:
    """Decorate an observer so that it never raises into the notebook.

    An exception inside it becomes the widget's error (``could not update: ...``) and the
    controls move back to the state; the widget keeps running, and its next good update
    clears the message.
    """

    @functools.wraps(method)
    def run(self: _W, *args: _P.args, **kwargs: _P.kwargs) -> None:
        run_callback(self, lambda: method(self, *args, **kwargs))

    return run


def run_callback(widget: BookWidget, action: Callable[[], None]) -> None:
    """Run ``action`` as a :func:`callback` of ``widget`` runs its method."""
    try:
        action()
    except Exception as error:  # a callback never raises into the kernel
        widget._show_error(text("widgets.common.could_not_update",
                                kind=type(error).__name__, error=error))
        with contextlib.suppress(Exception):
            widget._show_controls(widget._state)


def state_field(name: str, doc: str) -> property:
    """A read-only attribute of a widget: field ``name`` of its ``state``."""
    return property(lambda widget: getattr(widget.state, name), doc=doc)


def swap_slider(box: widgets.Box, old: widgets.IntSlider, new: widgets.IntSlider,
                observer: Callable[[dict], None]) -> None:
    """Put ``new`` (from :func:`renewed_slider`) in ``old``'s place in ``box``: ``observer``
    moves from ``old`` to ``new``, and ``old`` is closed."""
    old.unobserve(observer, names="value")
    new.observe(observer, names="value")
    box.children = tuple(new if child is old else child for child in box.children)
    old.close()


def renew_sliders(owner: BookWidget, ranges: dict[str, tuple[widgets.Box, int, int]],
                  observers: dict[str, Callable[[dict], None]]) -> None:
    """Give each slider ``owner.<attribute>`` of ``ranges`` (``attribute: (box, low,
    high)``) the range ``low..high``: a new slider in its place in ``box`` when the range
    changed (:func:`renewed_slider`, :func:`swap_slider`), observed by
    ``observers[attribute]``."""
    for attribute, (box, low, high) in ranges.items():
        old = getattr(owner, attribute)
        new = renewed_slider(old, low, high)
        if new is not old:
            swap_slider(box, old, new, observers[attribute])
            setattr(owner, attribute, new)
