"""Small text helpers shared by the widgets (durations, values, messages as HTML)."""

from __future__ import annotations

import html
import math
from typing import Any


def duration(seconds: float | None) -> str:
    """Say a duration in words: ``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``, or ``"?"``."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def value(reading: Any) -> str:
    """Show a reading compactly: numbers to 4 significant digits, arrays by shape and max."""
    shape = getattr(reading, "shape", None)
    if shape:
        try:
            peak = float(reading.max())
        except (TypeError, ValueError):
            return f"array{list(shape)}"
        return f"array{list(shape)}, max {peak:.4g}"
    if isinstance(reading, bool):
        return str(reading)
    if isinstance(reading, int | float):
        return f"{reading:.4g}"
    return str(reading)


def error(message: str) -> str:
    """HTML for an error message the user should act on (empty for no message)."""
    if not message:
        return ""
    return f'<span class="smartlab-error" style="color:#b00020">{html.escape(message)}</span>'


def note(message: str) -> str:
    """HTML for a neutral status message."""
    return f'<span class="smartlab-note" style="color:#555">{html.escape(message)}</span>'


def exception(exc: BaseException) -> str:
    """An exception in plain words: its message, with its kind when that helps."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return text


__all__ = ["duration", "error", "exception", "note", "value"]
