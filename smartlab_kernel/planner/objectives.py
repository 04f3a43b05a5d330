"""Objectives: named outcomes to maximise or minimise."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

from smartlab_kernel.planner.errors import InvalidConfigError

Goal = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Objective:
    """One measured outcome the campaign optimises.

    Args:
        name: Outcome name, the key of the ``outcomes`` mapping passed to ``observe``.
        goal: ``"maximize"`` or ``"minimize"``.
        threshold: For several objectives, the worst acceptable value (the
            hypervolume reference point). ``None`` lets the planner infer it
            from the observed range.
    """

    name: str
    goal: Goal = "maximize"
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidConfigError(f"an objective name must be a non-empty string: {self.name!r}")
        if self.goal not in ("maximize", "minimize"):
            raise InvalidConfigError(
                f"objective {self.name!r}: goal must be 'maximize' or 'minimize', got {self.goal!r}"
            )
        threshold = self.threshold
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Real)
            or not math.isfinite(threshold)
        ):
            raise InvalidConfigError(
                f"objective {self.name!r}: threshold must be a finite number or None, "
                f"got {threshold!r} of type {type(threshold).__name__}"
            )

    @property
    def sign(self) -> float:
        """``+1.0`` to maximise, ``-1.0`` to minimise (the model always maximises)."""
        return 1.0 if self.goal == "maximize" else -1.0


__all__ = ["Goal", "Objective"]
