"""Field rules of the lab configuration schema: type, default and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: A check returns ``None`` when the value is fine, else a description of what is allowed.
Check = Callable[[Any], str | None]

_MISSING: Any = object()


@dataclass(frozen=True)
class Field:
    """One setting of a device entry.

    Attributes:
        type_name: What the value must be, in words (``"an integer"``, ...).
        accepts: Returns ``True`` if a value has the right type.
        default: Value used when the field is absent; absent means the field is required.
        check: Further rule on the value (range, choices), returning what is allowed.
        doc: One line for the reference documentation.
    """

    type_name: str
    accepts: Callable[[Any], bool]
    default: Any = _MISSING
    check: Check | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        """True if the field has no default."""
        return self.default is _MISSING


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def string(default: Any = _MISSING, check: Check | None = None, doc: str = "") -> Field:
    """A string field."""
    return Field("a string", lambda v: isinstance(v, str), default, check, doc)


def boolean(default: Any = _MISSING, doc: str = "") -> Field:
    """A ``true``/``false`` field."""
    return Field("a boolean (true or false)", lambda v: isinstance(v, bool), default, None, doc)


def integer(default: Any = _MISSING, check: Check | None = None, doc: str = "") -> Field:
    """An integer field."""
    accepts = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    return Field("an integer", accepts, default, check, doc)


def number(default: Any = _MISSING, check: Check | None = None, doc: str = "") -> Field:
    """A real-number field (integers accepted)."""
    return Field("a number", _is_number, default, check, doc)


def table(default: Any = _MISSING, check: Check | None = None, doc: str = "") -> Field:
    """A mapping (YAML mapping / TOML table) field."""
    return Field("a mapping", lambda v: isinstance(v, Mapping), default, check, doc)


def array(default: Any = _MISSING, check: Check | None = None, doc: str = "") -> Field:
    """A list field."""
    return Field("a list", lambda v: isinstance(v, list), default, check, doc)


def positive(value: Any) -> str | None:
    """Allow finite numbers greater than zero."""
    return None if math.isfinite(value) and value > 0 else "a finite number > 0"


def port_number(value: Any) -> str | None:
    """Allow TCP/UDP port numbers."""
    return None if 1 <= value <= 65535 else "a port number from 1 to 65535"


def one_of(*choices: str) -> Check:
    """Allow only the given strings."""

    def check(value: Any) -> str | None:
        return None if value in choices else f"one of {list(choices)}"

    return check


def non_empty(value: Any) -> str | None:
    """Allow non-empty strings."""
    return None if value.strip() else "a non-empty string"
