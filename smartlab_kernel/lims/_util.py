"""Small helpers shared by the LIMS modules: UTC timestamps and canonical JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def utc_now() -> str:
    """Return the current time as UTC ISO 8601 text with microseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(value: Any) -> str:
    """Return ``value`` as canonical JSON: sorted keys, no spaces, UTF-8 text.

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def load_json(text: str) -> Any:
    """Parse JSON text stored by the LIMS."""
    return json.loads(text)
