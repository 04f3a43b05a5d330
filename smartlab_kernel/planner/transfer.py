"""Transfer from earlier campaigns: their observations as related tasks of a multi-task GP.

A new campaign on a related system (another aryl halide, the next batch of a
material, last term's class) starts knowing nothing, though the earlier
campaigns measured how the same parameters behaved there. Given their
observations as ``history``, the planner fits BoTorch's ``MultiTaskGP``: one
task per earlier campaign plus this one, a shared covariance over the
parameters, and a learnt correlation between tasks (so an earlier campaign
that behaved differently is discounted rather than trusted). Outcomes are
standardised per task, so campaigns on different scales combine. Only this
campaign's task is predicted and optimised.

Categorical levels may differ between campaigns: a one-hot level this space
does not list gets the all-zero code (an "other" level); a row whose level
cannot be encoded (an encoded categorical, see
:class:`~smartlab_kernel.planner.parameters.Categorical`), whose numbers
fall outside this space's bounds, or whose outcomes are missing is left out
and counted in :attr:`History.dropped`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from smartlab_kernel.planner.errors import InvalidConfigError, PlannerError
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.parameters import Categorical, Choice
from smartlab_kernel.planner.space import DTYPE, SearchSpace

#: Initial-design points of a campaign that has history: the model already
#: knows the space's shape from the earlier campaigns; two points of this
#: campaign let it estimate how this task relates to them.
TRANSFER_DESIGN = 2


@dataclass(frozen=True)
class History:
    """Encoded observations of earlier campaigns.

    Attributes:
        X: A ``h x d`` tensor of encoded inputs.
        Y: A ``h x m`` tensor of outcomes, signed so larger is better.
        task: A ``h`` tensor of task numbers (0 .. number of campaigns - 1).
        n_tasks: Number of earlier campaigns.
        rows: The kept rows per campaign (JSON-safe), for the configuration.
        dropped: Rows left out per campaign, with the first reason.
    """

    X: Tensor
    Y: Tensor
    task: Tensor
    n_tasks: int
    rows: list[list[dict[str, Any]]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> list[dict[str, Any]]:
        """Per campaign: rows used, rows left out (and why), SHA-256 of the rows used."""
        return [
            {
                "n_rows": len(rows),
                "sha256": hashlib.sha256(
                    json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()
                ).hexdigest(),
                **self.dropped[k],
            }
            for k, rows in enumerate(self.rows)
        ]


def encode_history(
    space: SearchSpace, objectives: Sequence[Objective], frames: Sequence[pd.DataFrame]
) -> History | None:
    """Validate and encode earlier campaigns' observations.

    Args:
        space: This campaign's search space.
        objectives: This campaign's objectives (each frame needs their columns).
        frames: One DataFrame per earlier campaign: a column per parameter and per objective.

    Returns:
        The encoded history, or ``None`` when ``frames`` is empty.

    Raises:
        InvalidConfigError: ``frames`` is not a sequence of DataFrames, a frame
            lacks a column (named), several objectives are given (transfer is
            for one objective), or a campaign has no usable row.
    """
    if isinstance(frames, pd.DataFrame) or not isinstance(frames, Sequence):
        raise InvalidConfigError(
            f"history must be a list of DataFrames (one per earlier campaign), got "
            f"{type(frames).__name__}"
        )
    if not frames:
        return None
    if len(objectives) != 1:
        raise InvalidConfigError(
            f"history is used for one objective; this planner has {len(objectives)}"
        )
    objective = objectives[0]
    xs: list[Tensor] = []
    ys: list[float] = []
    tasks: list[int] = []
    kept_rows: list[list[dict[str, Any]]] = []
    dropped: list[dict[str, Any]] = []
    for k, frame in enumerate(frames):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidConfigError(
                f"history[{k}] must be a DataFrame, got {type(frame).__name__}"
            )
        missing = [c for c in [*space.names, objective.name] if c not in frame.columns]
        if missing:
            raise InvalidConfigError(
                f"history[{k}] lacks the columns {missing}; it needs one per parameter "
                f"{space.names} and the objective {objective.name!r}"
            )
        kept: list[dict[str, Any]] = []
        reasons: list[str] = []
        for record in frame[[*space.names, objective.name]].to_dict("records"):
            row, reason = _encode_row(space, record)
            value = record[objective.name]
            if reason is None and not _finite_number(value):
                reason = f"{objective.name} = {value!r} is not a finite number"
            if reason is not None:
                reasons.append(reason)
                continue
            assert row is not None
            xs.append(row)
            ys.append(float(value) * objective.sign)
            tasks.append(k)
            kept.append(
                {**{n: _plain(record[n]) for n in space.names}, objective.name: float(value)}
            )
        if not kept:
            first = f": {reasons[0]}" if reasons else ""
            raise InvalidConfigError(f"history[{k}] has no usable row{first}")
        kept_rows.append(kept)
        dropped.append({"n_dropped": len(reasons), "first_reason": reasons[0] if reasons else None})
    return History(
        X=torch.stack(xs),
        Y=torch.tensor(ys, dtype=DTYPE).unsqueeze(-1),
        task=torch.tensor(tasks, dtype=torch.long),
        n_tasks=len(frames),
        rows=kept_rows,
        dropped=dropped,
    )


def best_rows(space: SearchSpace, history: History) -> list[dict[str, Choice]]:
    """Each earlier campaign's best row that is a point of this space, in campaign order.

    A campaign's best row is left out when it is not a valid point here (a
    categorical level this space does not list, or a linear constraint it
    violates) or when an earlier campaign's best row is the same point.
    """
    starts: list[dict[str, Choice]] = []
    for task, rows in enumerate(history.rows):
        best = int(history.Y[history.task == task, 0].argmax())
        try:
            row = space.validate({name: rows[best][name] for name in space.names})
        except PlannerError:
            continue
        if row not in starts:
            starts.append(row)
    return starts


def _encode_row(space: SearchSpace, record: Mapping[Any, Any]) -> tuple[Tensor | None, str | None]:
    x = torch.zeros(space.dim, dtype=DTYPE)
    for parameter in space.parameters:
        cols = space.columns[parameter.name]
        value = record[parameter.name]
        if isinstance(parameter, Categorical):
            try:
                index = parameter.choices.index(parameter.validate(value))
            except PlannerError:
                if parameter.encoding is not None:
                    return None, f"{parameter.name} = {value!r} has no encoding in this space"
                continue  # one-hot: an "other" level, all zeros
            x[cols] = torch.tensor(parameter.code(index), dtype=DTYPE)
            continue
        try:
            x[cols[0]] = float(parameter.validate(value))
        except PlannerError as error:
            return None, str(error)
    return x, None


def _finite_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value)) and not isinstance(value, bool | str)
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


__all__ = ["TRANSFER_DESIGN", "History", "best_rows", "encode_history"]
