"""A suggested experiment, with the planner's prediction and its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smartlab_kernel.planner.parameters import Choice


@dataclass(frozen=True)
class Suggestion:
    """One experiment the planner proposes.

    Attributes:
        id: Unique id, used by ``observe``/``reject``/``fail`` and stored with runs.
        params: Parameter values, all legal and satisfying every constraint.
        predicted: ``{objective: (mean, std)}`` from the model, or ``None``
            during the initial design.
        reason: Why this point was chosen (design step or acquisition value).
        model_state: Summary of the model that chose it (observations,
            model kind, acquisition value, hyperparameters); JSON-safe.
    """

    id: str
    params: dict[str, Choice]
    predicted: dict[str, tuple[float, float]] | None
    reason: str
    model_state: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


__all__ = ["Suggestion"]
