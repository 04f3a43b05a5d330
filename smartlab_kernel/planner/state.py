"""Campaign state, rebuilt by applying provenance records in order.

The planner validates a request, builds its record and then calls
:meth:`CampaignState.apply`; ``replay`` applies stored records the same way,
so a restored planner is in exactly the state of the original.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from smartlab_kernel.planner.errors import DuplicateObservationError, UnknownSuggestionError
from smartlab_kernel.planner.model import RawState
from smartlab_kernel.planner.parameters import Choice
from smartlab_kernel.planner.suggestion import Suggestion


@dataclass
class CampaignState:
    """Everything the planner knows: suggestions, decisions and fitted-model warm starts.

    Attributes:
        records: Every record applied, in order (``planner.history``).
        suggestions: Every suggestion made, by id.
        open_ids: Ids suggested but not yet observed, rejected or failed (pending).
        closed: Decision taken for each closed suggestion id.
        observed: Successful observations as ``(executed params, outcomes)``.
        observed_ids: Suggestion id (or ``None``) of each observation.
        failed: Executed params of failed experiments.
        rejected: Params of rejected suggestions.
        n_batches: Number of ``suggest`` calls that produced records.
        last_number: Largest number ending a suggestion id (``<campaign>-0007``: 7),
            so new ids continue after every id made, also when some are missing
            from the records (a campaign resumed after a crash).
        n_design: Initial-design points suggested so far.
        warm_start: Raw outcome-GP hyperparameters of the last fit.
        feasibility_warm_start: Raw success-GP hyperparameters of the last fit.
        fitted_at: Observations when ``warm_start`` was last optimised (``None``:
            not recorded, by planners before ``model_fit="periodic"``).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)
    open_ids: list[str] = field(default_factory=list)
    closed: dict[str, str] = field(default_factory=dict)
    observed: list[tuple[dict[str, Choice], dict[str, float]]] = field(default_factory=list)
    observed_ids: list[str | None] = field(default_factory=list)
    failed: list[dict[str, Choice]] = field(default_factory=list)
    rejected: list[dict[str, Choice]] = field(default_factory=list)
    n_batches: int = 0
    last_number: int = 0
    n_design: int = 0
    warm_start: RawState | None = None
    feasibility_warm_start: RawState | None = None
    fitted_at: int | None = None

    def lookup(self, suggestion_id: str) -> Suggestion:
        """The open suggestion with this id.

        Raises:
            UnknownSuggestionError: No such suggestion was made.
            DuplicateObservationError: It was already observed, rejected or failed.
        """
        if suggestion_id not in self.suggestions:
            known = list(self.suggestions)[-5:]
            raise UnknownSuggestionError(
                f"suggestion {suggestion_id!r} was not made by this planner (latest ids: {known})"
            )
        if suggestion_id in self.closed:
            raise DuplicateObservationError(
                f"suggestion {suggestion_id!r} was already closed with decision "
                f"{self.closed[suggestion_id]!r}; observe a new experiment without "
                "`suggestion=` instead"
            )
        return self.suggestions[suggestion_id]

    def apply(self, record: dict[str, Any]) -> None:
        """Update the state with one record (see ``history`` for the format)."""
        record = copy.deepcopy(record)
        event = record["event"]
        if event == "suggest":
            self._apply_suggest(record)
        else:
            sid = record.get("suggestion_id")
            if sid is not None:
                self.lookup(sid)
                self.open_ids.remove(sid)
                self.closed[sid] = record["decision"]
            if event == "observe":
                outcomes = {k: float(v) for k, v in record["outcomes"].items()}
                self.observed.append((record["executed"], outcomes))
                self.observed_ids.append(sid)
            elif event == "fail":
                self.failed.append(record["executed"])
            elif event == "reject":
                self.rejected.append(record["suggested"])
            else:
                raise ValueError(f"unknown record event {event!r}")
        self.records.append(record)

    def _apply_suggest(self, record: dict[str, Any]) -> None:
        predicted = record.get("predicted")
        suggestion = Suggestion(
            id=record["id"],
            params=record["params"],
            predicted=(
                {k: (float(v[0]), float(v[1])) for k, v in predicted.items()}
                if predicted is not None
                else None
            ),
            reason=record["reason"],
            model_state=record.get("model", {}),
        )
        if suggestion.id in self.suggestions:
            raise DuplicateObservationError(f"suggestion id {suggestion.id!r} appears twice")
        self.suggestions[suggestion.id] = suggestion
        self.open_ids.append(suggestion.id)
        self.n_batches = max(self.n_batches, int(record["batch"]) + 1)
        self.last_number = max(self.last_number, id_number(suggestion.id))
        model = suggestion.model_state
        if model.get("kind") == "initial_design":
            self.n_design += 1
        if model.get("raw_state") is not None:
            self.warm_start = model["raw_state"]
            self.fitted_at = model.get("fitted_at")
        if model.get("feasibility_raw_state") is not None:
            self.feasibility_warm_start = model["feasibility_raw_state"]

    @property
    def next_number(self) -> int:
        """The number of the next suggestion id: after every id made or replayed."""
        return max(len(self.suggestions), self.last_number) + 1

    @property
    def pending(self) -> list[dict[str, Choice]]:
        """Params of open suggestions, in the order they were made."""
        return [self.suggestions[i].params for i in self.open_ids]


def id_number(suggestion_id: str) -> int:
    """The number ending a suggestion id (``"3f2a9c1d-0007"``: 7); 0 if it ends otherwise."""
    tail = suggestion_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


__all__ = ["CampaignState", "id_number"]
