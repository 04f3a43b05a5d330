"""Read-side helpers: outcome validation, the observations table, best and Pareto points."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from smartlab_kernel.planner.errors import InvalidOutcomeError, PlannerStateError
from smartlab_kernel.planner.objectives import Objective


def validate_outcomes(objectives: Sequence[Objective], outcomes: object) -> dict[str, float]:
    """Return outcomes as finite floats keyed by every objective name.

    Raises:
        InvalidOutcomeError: Not a mapping, missing or unknown names, non-numbers, NaN or inf.
    """
    names = [o.name for o in objectives]
    if not isinstance(outcomes, Mapping):
        raise InvalidOutcomeError(
            f"outcomes must be a dict with keys {names}, got {type(outcomes).__name__}"
        )
    unknown = sorted(set(outcomes) - set(names))
    missing = [n for n in names if n not in outcomes]
    if unknown or missing:
        raise InvalidOutcomeError(
            f"unknown objectives {unknown}, missing objectives {missing}; expected {names}"
        )
    clean: dict[str, float] = {}
    for name in names:
        value = outcomes[name]
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidOutcomeError(f"outcome {name!r} must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise InvalidOutcomeError(
                f"outcome {name!r} = {value!r} is not finite; record a failed experiment "
                "with planner.fail(...) instead"
            )
        clean[name] = float(value)
    return clean


def observations_frame(
    records: Sequence[dict[str, Any]], parameter_names: list[str], objective_names: list[str]
) -> pd.DataFrame:
    """One row per executed experiment (observed or failed), in order.

    Columns: parameters, objectives (NaN for failures), ``decision``, ``suggestion_id``.
    """
    rows = []
    for record in records:
        if record["event"] not in ("observe", "fail"):
            continue
        outcomes = record.get("outcomes") or {}
        row = {name: record["executed"][name] for name in parameter_names}
        row.update({name: outcomes.get(name, math.nan) for name in objective_names})
        row["decision"] = record["decision"]
        row["suggestion_id"] = record.get("suggestion_id")
        rows.append(row)
    columns = [*parameter_names, *objective_names, "decision", "suggestion_id"]
    return pd.DataFrame(rows, columns=columns)


def decisions_frame(
    records: Sequence[dict[str, Any]], parameter_names: list[str], objective_names: list[str]
) -> pd.DataFrame:
    """One row per decision (observe, reject, fail), in order; see ``Planner.decisions``."""
    predicted: dict[str, dict[str, Any]] = {}
    rows = []
    for record in records:
        if record["event"] == "suggest":
            predicted[record["id"]] = record.get("predicted") or {}
            continue
        suggested = record.get("suggested") or {}
        executed = record.get("executed") or {}
        outcomes = record.get("outcomes") or {}
        guess = predicted.get(record.get("suggestion_id") or "", {})
        row: dict[str, Any] = {
            "time": record.get("time"),
            "suggestion_id": record.get("suggestion_id"),
            "decision": record["decision"],
            "by": record.get("by"),
            "reason": record.get("reason", ""),
        }
        for name in parameter_names:
            row[f"suggested.{name}"] = suggested.get(name)
            row[f"executed.{name}"] = executed.get(name)
        for name in objective_names:
            mean_std = guess.get(name) or (math.nan, math.nan)
            row[f"predicted.{name}"] = mean_std[0]
            row[f"predicted_std.{name}"] = mean_std[1]
            row[name] = outcomes.get(name, math.nan)
        rows.append(row)
    columns = ["time", "suggestion_id", "decision", "by", "reason"]
    columns += [f"{kind}.{n}" for n in parameter_names for kind in ("suggested", "executed")]
    for name in objective_names:
        columns += [f"predicted.{name}", f"predicted_std.{name}", name]
    frame = pd.DataFrame(rows, columns=columns)
    frame["time"] = pd.to_datetime(frame["time"])
    frame["by"] = frame["by"].astype(object).where(frame["by"].notna(), None)
    return frame


def pareto_mask(Y: np.ndarray) -> np.ndarray:
    """Non-dominated rows of ``Y`` (``n x m``, larger is better)."""
    keep = np.ones(len(Y), dtype=bool)
    for i in range(len(Y)):
        dominated = np.all(Y[i] <= Y, axis=1) & np.any(Y[i] < Y, axis=1)
        keep[i] = not dominated.any()
    return keep


def best_rows(
    records: Sequence[dict[str, Any]], objectives: Sequence[Objective]
) -> list[dict[str, Any]]:
    """The best observation (one objective) or the Pareto-optimal ones (several).

    Several objectives: sorted by the sum of objective values scaled to ``[0, 1]``.

    Raises:
        PlannerStateError: Nothing has been observed yet.
    """
    observed = [r for r in records if r["event"] == "observe"]
    if not observed:
        raise PlannerStateError("no successful observation yet: call observe(...) first")
    signs = np.array([o.sign for o in objectives])
    Y = np.array([[r["outcomes"][o.name] for o in objectives] for r in observed]) * signs
    span = np.ptp(Y, axis=0)
    score = ((Y - Y.min(axis=0)) / np.where(span > 0, span, 1.0)).sum(axis=1)
    indices = [int(i) for i in np.flatnonzero(pareto_mask(Y))]
    indices.sort(key=lambda i: (-score[i], i))
    return [
        {
            "params": observed[i]["executed"],
            "outcomes": observed[i]["outcomes"],
            "decision": observed[i]["decision"],
            "suggestion_id": observed[i].get("suggestion_id"),
        }
        for i in indices
    ]


__all__ = [
    "best_rows",
    "decisions_frame",
    "observations_frame",
    "pareto_mask",
    "validate_outcomes",
]
