"""Pool mode: a fixed table of allowed parameter rows."""

from __future__ import annotations

import pandas as pd

from smartlab_kernel.planner.errors import InvalidConfigError, PlannerError
from smartlab_kernel.planner.parameters import Choice
from smartlab_kernel.planner.space import SearchSpace


def validate_candidates(space: SearchSpace, candidates: pd.DataFrame) -> list[dict[str, Choice]]:
    """Validate every row of ``candidates`` (extra columns are ignored).

    Returns:
        The rows as clean parameter dicts, duplicates removed (first kept).

    Raises:
        InvalidConfigError: Not a DataFrame, a missing column, or an illegal row.
    """
    if not isinstance(candidates, pd.DataFrame):
        raise InvalidConfigError(
            f"candidates must be a pandas DataFrame, got {type(candidates).__name__}"
        )
    missing = [name for name in space.names if name not in candidates.columns]
    if missing or len(candidates) == 0:
        raise InvalidConfigError(
            f"candidates need a column for every parameter and at least one row; "
            f"missing {missing}, {len(candidates)} rows"
        )
    rows: list[dict[str, Choice]] = []
    seen: set[tuple[Choice, ...]] = set()
    for index, raw in enumerate(candidates[space.names].to_dict("records")):
        try:
            row = space.validate({str(k): v for k, v in raw.items()})
        except PlannerError as error:
            raise InvalidConfigError(f"candidate row {index}: {error}") from error
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


__all__ = ["validate_candidates"]
