"""A setpoint's text field and its Set button, whose request carries the text typed.

A stock ``ipywidgets.Text`` beside a ``Button`` sends what was typed and the
click as two messages, and ipywidgets holds a value update back while an
earlier update of the same field is still being handled, but sends a click
at once. On a busy kernel a quick "type, then Set" could therefore apply the
value typed *before* (a browser test saw a reactor's time constant set again
to 3600 s after 60 was typed). This widget sends the text inside the
request, so the value applied is always the one on screen when Set or Enter
was pressed. It is written here because ipywidgets has no field whose submit
carries its text.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets as t

#: How a refused entry is marked: a red border round the field, a pale red inside.
INVALID_BORDER = "2px solid #b00020"
INVALID_BACKGROUND = "#fdecee"

_CSS = """
.smartlab-setpoint-entry { display: flex; gap: 4px; align-items: center; }
.smartlab-setpoint-entry .smartlab-setpoint-input {
  width: 11em; box-sizing: border-box; height: var(--jp-widgets-inline-height, 28px);
  padding: 0 6px; border: var(--jp-widgets-input-border-width, 1px) solid
    var(--jp-widgets-input-border-color, #9e9e9e);
  background: var(--jp-widgets-input-background-color, white);
  color: var(--jp-widgets-input-color, black); font-size: var(--jp-widgets-font-size, 13px);
}
.smartlab-setpoint-entry .smartlab-setpoint-set { width: 5em; }
.smartlab-setpoint-entry .smartlab-setpoint-input.smartlab-setpoint-invalid {
  border: BORDER; background: BACKGROUND;
}
""".replace("BORDER", INVALID_BORDER).replace("BACKGROUND", INVALID_BACKGROUND)


class SetpointEntry(anywidget.AnyWidget):
    """A text field and a Set button; Enter or Set requests the text shown.

    Args:
        on_set: Called with the text to apply, on the kernel's thread, each
            time Set or Enter is pressed (or :meth:`submit` is called).
        placeholder: Shown in the empty field, e.g. ``"15 to 150 degC"``.
    """

    _esm = pathlib.Path(__file__).parent / "setpoint_entry.js"
    _css = _CSS

    #: The text in the field (kept in step as the user types).
    value = t.Unicode("").tag(sync=True)
    placeholder = t.Unicode("").tag(sync=True)
    #: Marks the field as refused: a red border and a pale red inside.
    invalid = t.Bool(False).tag(sync=True)

    def __init__(self, on_set: Callable[[str], Any], *, placeholder: str = "", **kwargs: Any):
        super().__init__(placeholder=placeholder, **kwargs)
        self._on_set = on_set
        self.on_msg(self._on_msg)

    def submit(self, text: str | None = None) -> None:
        """Request ``text`` (default: the field's :attr:`value`), as pressing Set does."""
        if text is not None:
            self.value = text
        self._on_set(self.value)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "set":
            return
        text = content.get("text")
        self.submit(text if isinstance(text, str) else None)


__all__ = ["INVALID_BACKGROUND", "INVALID_BORDER", "SetpointEntry"]
