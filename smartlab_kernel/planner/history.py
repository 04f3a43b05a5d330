"""Provenance records: JSON-safe dicts for every suggestion and decision.

A record is one of::

    {"event": "suggest", "id", "batch", "params", "predicted", "reason", "model", "time"}
    {"event": "observe", "decision": "accept"|"edit"|"manual"|"auto", "suggestion_id",
     "suggested", "executed", "outcomes", "time"}
    {"event": "reject", "decision": "reject", "suggestion_id", "suggested", "reason", "time"}
    {"event": "fail", "decision": "fail", "suggestion_id", "suggested", "executed",
     "reason", "time"}

Every record also carries ``"schema": RECORD_SCHEMA``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

RECORD_SCHEMA = "smartlab.planner.record/1"
EVENTS = ("suggest", "observe", "reject", "fail")
DECISIONS = ("accept", "edit", "manual", "auto", "reject", "fail")


def json_safe(value: Any) -> Any:
    """Convert numpy/torch scalars, tuples and non-finite floats to plain JSON values.

    Non-finite floats become ``None`` (strict JSON has no NaN).
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def now() -> str:
    """The current UTC time in ISO 8601 form."""
    return datetime.datetime.now(datetime.UTC).isoformat()


def make_record(event: str, **fields: Any) -> dict[str, Any]:
    """Build a JSON-safe record of ``event`` with ``fields`` and a timestamp."""
    record = {"schema": RECORD_SCHEMA, "event": event, **fields, "time": now()}
    return dict(json_safe(record))


__all__ = ["DECISIONS", "EVENTS", "RECORD_SCHEMA", "json_safe", "make_record", "now"]
