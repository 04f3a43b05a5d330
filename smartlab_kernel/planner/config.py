"""JSON-safe settings of a planner: parameters, objectives, constraints, seed, design size.

Candidates (pool mode) are identified by a SHA-256 of their validated rows
and, unless asked otherwise, stored inline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from smartlab_kernel.planner.constraints import LinearConstraint, SumConstraint
from smartlab_kernel.planner.errors import InvalidConfigError
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.parameters import Categorical, Choice, Integer, Parameter, Real

CONFIG_SCHEMA = "smartlab.planner.config/1"


def parameter_to_dict(parameter: Parameter) -> dict[str, Any]:
    """``{"type": "real"|"integer"|"categorical", "name", ...}``."""
    if isinstance(parameter, Categorical):
        data: dict[str, Any] = {
            "type": "categorical",
            "name": parameter.name,
            "choices": list(parameter.choices),
        }
        if parameter.encoding is not None:
            data["encoding"] = [list(vector) for vector in parameter.encoding]
            data["encoding_source"] = parameter.encoding_source
        return data
    kind = "integer" if isinstance(parameter, Integer) else "real"
    return {"type": kind, "name": parameter.name, "low": parameter.low, "high": parameter.high}


def parameter_from_dict(data: dict[str, Any]) -> Parameter:
    """Inverse of :func:`parameter_to_dict`."""
    kind = data.get("type")
    if kind == "real":
        return Real(data["name"], float(data["low"]), float(data["high"]))
    if kind == "integer":
        return Integer(data["name"], int(data["low"]), int(data["high"]))
    if kind == "categorical":
        encoding = data.get("encoding")
        return Categorical(
            data["name"],
            tuple(data["choices"]),
            encoding=None if encoding is None else tuple(tuple(v) for v in encoding),
            encoding_source=data.get("encoding_source"),
        )
    raise InvalidConfigError(
        f"parameter type must be 'real', 'integer' or 'categorical', got {kind!r}"
    )


def constraint_to_dict(constraint: LinearConstraint) -> dict[str, Any]:
    """``{"type": "sum", "names", "total"}`` or ``{"type": "linear", "coefficients", ...}``."""
    if isinstance(constraint, SumConstraint):
        return {"type": "sum", "names": list(constraint.names), "total": constraint.total}
    return {
        "type": "linear",
        "coefficients": dict(constraint.coefficients),
        "lower": constraint.lower,
        "upper": constraint.upper,
    }


def constraint_from_dict(data: dict[str, Any]) -> LinearConstraint:
    """Inverse of :func:`constraint_to_dict`."""
    if data.get("type") == "sum":
        return SumConstraint(data["names"], data["total"])
    if data.get("type") == "linear":
        return LinearConstraint(data["coefficients"], data.get("lower"), data.get("upper"))
    raise InvalidConfigError(f"constraint type must be 'sum' or 'linear', got {data.get('type')!r}")


def objective_to_dict(objective: Objective) -> dict[str, Any]:
    """``{"name", "goal", "threshold"}``."""
    return {"name": objective.name, "goal": objective.goal, "threshold": objective.threshold}


def objective_from_dict(data: dict[str, Any]) -> Objective:
    """Inverse of :func:`objective_to_dict`."""
    return Objective(data["name"], data["goal"], data.get("threshold"))


def candidates_hash(rows: Sequence[dict[str, Choice]]) -> str:
    """SHA-256 of the canonical JSON of validated candidate rows."""
    text = json.dumps([list(r.items()) for r in rows], sort_keys=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = [
    "CONFIG_SCHEMA",
    "candidates_hash",
    "constraint_from_dict",
    "constraint_to_dict",
    "objective_from_dict",
    "objective_to_dict",
    "parameter_from_dict",
    "parameter_to_dict",
]
