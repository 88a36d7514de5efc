"""``ImageUpload``: a button that sends one image file from the browser to Python, and says
so when a file is too large to send.

Jupyter carries everything between the browser and the kernel in websocket messages, and
its server drops a message over 10 MiB (tornado's ``websocket_max_message_size``) by
closing the connection.  ``ipywidgets.FileUpload`` sends the whole file as one message, so
a larger file never arrives, nothing says why, and the button's next uploads wait forever
for the answer to the lost message (they are queued behind it).  This button checks the
file's size in the browser first: a file that fits is sent as one message; for one that
does not, only its name and size are sent, and the widget that owns the button says why.

The browser side is a few lines of JavaScript run by ``anywidget``; the file's bytes are
sent as a message, never kept in a trait, so nothing of them is saved with the notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

#: The largest file the button sends: 10 MiB (Jupyter's limit for one message) less room
#: for the message's own header.
MAX_BYTES = 10 * 2**20 - 2**16

BROWSER_CODE = """
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button";
  const input = document.createElement("input");
  input.type = "file";
  input.style.display = "none";
  const update = () => {
    button.textContent = model.get("description");
    button.title = model.get("tooltip");
    input.accept = model.get("accept");
  };
  update();
  model.on("change:description change:tooltip change:accept", update);
  button.addEventListener("click", () => {
    input.value = "";
    input.click();
  });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    const head = { name: file.name, size: file.size };
    if (file.size > model.get("max_bytes")) {
      model.send({ ...head, kind: "too_large" });
      return;
    }
    const buffer = await file.arrayBuffer();
    model.send({ ...head, kind: "file" }, undefined, [buffer]);
  });
  el.append(button, input);
}
export default { render };
"""


class ImageUpload(anywidget.AnyWidget):
    """A button that sends one file from the browser to ``handler(name, content, size)``:
    ``content`` is the file's bytes, or ``None`` when the file (``size`` bytes) is over
    ``max_bytes`` and was not sent.

    :meth:`receive` is what a message from the browser calls (tests call it too).
    """

    _esm = BROWSER_CODE
    description = traitlets.Unicode("your image").tag(sync=True)
    tooltip = traitlets.Unicode("").tag(sync=True)
    accept = traitlets.Unicode("image/*").tag(sync=True)
    max_bytes = traitlets.Int(MAX_BYTES).tag(sync=True)

    def __init__(self, handler: Callable[[str, bytes | None, int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handler = handler
        self.on_msg(lambda _widget, content, buffers: self.receive(content, buffers))

    def receive(self, content: dict, buffers: list) -> None:
        """Handle a message from the browser: ``{"kind": "file", "name", "size"}`` with the
        file's bytes as the one buffer, or ``{"kind": "too_large", "name", "size"}``."""
        if not isinstance(content, dict):
            return
        name = str(content.get("name", "upload"))
        size = content.get("size")
        size = size if isinstance(size, int) and not isinstance(size, bool) else 0
        if content.get("kind") == "too_large":
            self._handler(name, None, size)
        elif content.get("kind") == "file" and buffers:
            data = bytes(buffers[0])
            self._handler(name, data, len(data))
