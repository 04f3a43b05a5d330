"""The loop every campaign shares: suggest -> review -> run a round -> tell the planner.

A campaign on this process's lab is a Bluesky plan
(:func:`~smartlab_kernel.campaign.loop.campaign`); one on a served lab runs
in the notebook and queues its experiments on the server
(:func:`~smartlab_kernel.remote.campaign.remote_campaign`). Both are
:func:`campaign_rounds` with a different :class:`ExperimentRunner`, the
part that knows the lab: how an experiment runs, how its value is read
back, what the stock allows, and what is recorded after each round. The
review (accept, edit, reject), the budget, the numbering and metadata of
experiments and what the planner is told are the same for both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bluesky.utils import Msg

from ..planner import Planner, Suggestion
from ..plans import Recipe

#: What an ``approve`` callback returns per suggestion: ``True`` runs it as
#: suggested, a dict runs edited parameters, a string or ``False``/``None``
#: rejects it (the string is the reason).
Decision = bool | str | Mapping[str, Any] | None
Approver = Callable[[list[Suggestion]], Sequence[Decision]]
RecipeBuilder = Callable[[Mapping[str, Any]], Recipe]


@dataclass
class ExperimentResult:
    """One executed (or failed) experiment of a campaign."""

    suggestion: Suggestion
    params: dict[str, Any]
    outcomes: dict[str, float] | None
    run_uid: str | None
    decision: str
    error: str | None = None


def _normalise(decision: Decision, suggestion: Suggestion) -> tuple[str, dict[str, Any] | str]:
    if decision is True:
        return "accept", dict(suggestion.params)
    if isinstance(decision, Mapping):
        return "edit", {**suggestion.params, **dict(decision)}
    if isinstance(decision, str):
        return "reject", decision
    if decision is None or decision is False:
        return "reject", "rejected by the reviewer"
    raise TypeError(
        f"approve() returned {decision!r} for suggestion {suggestion.id}; allowed: True "
        "(accept), a dict of parameters (edit), a string or False/None (reject)"
    )


#: Rounds in a row whose every suggestion lacked stock before a campaign gives up.
MAX_OUT_OF_STOCK_ROUNDS = 3


@dataclass(frozen=True)
class Reviewed:
    """A suggestion after review: what to do with it and with which parameters."""

    suggestion: Suggestion
    kind: str  # "accept", "edit" or "reject"
    params: dict[str, Any]  # what to execute (empty for a rejection)
    decision: str  # "auto" (no reviewer), "accept", "edit" or "reject"
    reason: str = ""  # why it was rejected


def check_campaign(planner: Planner, budget: int, batch: int, name: str) -> str:
    """Validate a campaign's settings; return the objective's name.

    Raises:
        ValueError: If ``budget``/``batch`` are not integers >= 1, or the
            planner has several objectives.
    """
    for what, value in (("budget", budget), ("batch", batch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    if len(planner.objectives) != 1:
        raise ValueError(f"{name}() reads one objective; this planner has several")
    return planner.objectives[0].name


def review(suggestions: list[Suggestion], approve: Approver | None) -> list[Reviewed]:
    """Ask ``approve`` (none: accept all, decision ``"auto"``) about ``suggestions``.

    Raises:
        ValueError: If ``approve`` returns the wrong number of decisions.
    """
    decisions: Sequence[Decision] = approve(suggestions) if approve else [True] * len(suggestions)
    if len(decisions) != len(suggestions):
        raise ValueError(
            f"approve() returned {len(decisions)} decisions for {len(suggestions)} suggestions"
        )
    reviewed = []
    for suggestion, raw in zip(suggestions, decisions, strict=True):
        kind, value = _normalise(raw, suggestion)
        if kind == "reject":
            reviewed.append(Reviewed(suggestion, kind, {}, kind, str(value)))
        else:
            decision = "auto" if approve is None and kind == "accept" else kind
            reviewed.append(Reviewed(suggestion, kind, dict(value), decision))  # type: ignore[arg-type]
    return reviewed


def admit(planner: Planner, item: Reviewed) -> bool:
    """Record a rejection (``False``), or check an edit is a legal point before it runs.

    Raises:
        PlannerError: If an edited point is not legal (nothing has run).
    """
    if item.kind == "reject":
        planner.reject(item.suggestion, reason=item.reason)
        return False
    if item.kind == "edit":
        planner.space.validate(item.params)
    return True


def experiment_md(
    campaign_id: str, item: Reviewed, number: int | None = None, budget: int | None = None
) -> dict[str, Any]:
    """Start-document metadata of an experiment: the suggestion and what was executed.

    Args:
        campaign_id: The campaign.
        item: The reviewed suggestion.
        number: Which experiment of the campaign this is (from 1).
        budget: How many experiments the campaign runs; a :class:`Run` uses it
            to know the campaign's total.
    """
    suggestion = item.suggestion
    progress = {} if number is None else {"campaign_experiment": number}
    if budget is not None:
        progress["campaign_budget"] = budget
    return {
        "campaign_id": campaign_id,
        **progress,
        "suggestion": {
            "id": suggestion.id,
            "params": dict(suggestion.params),
            "predicted": {k: list(v) for k, v in (suggestion.predicted or {}).items()},
            "reason": suggestion.reason,
            "decision": item.decision,
        },
        "executed": dict(item.params),
    }


def record_failure(
    planner: Planner, item: Reviewed, reason: str, uid: str | None = None, error: str = ""
) -> ExperimentResult:
    """Tell the planner the experiment failed; return its result."""
    target: Any = item.suggestion if item.kind == "accept" else item.params
    edited_from = None if item.kind == "accept" else item.suggestion
    planner.fail(target, reason=reason, suggestion=edited_from)
    return ExperimentResult(item.suggestion, item.params, None, uid, item.kind, error or reason)


def record_value(
    planner: Planner, item: Reviewed, objective: str, field_name: str, uid: str, value: float
) -> ExperimentResult:
    """Tell the planner the measured ``value`` (a failure when it is not finite)."""
    if not math.isfinite(value):
        return record_failure(
            planner, item, f"{field_name} read {value}", uid, f"reading was {value}"
        )
    if item.decision == "auto":
        planner.observe(item.suggestion, {objective: value}, decision="auto")
    elif item.kind == "accept":
        planner.observe(item.suggestion, {objective: value})
    else:
        planner.observe(item.params, {objective: value}, suggestion=item.suggestion)
    return ExperimentResult(item.suggestion, item.params, {objective: value}, uid, item.kind)


@dataclass(frozen=True)
class Experiment:
    """An admitted experiment of a round: the reviewed suggestion and its start metadata."""

    item: Reviewed
    md: dict[str, Any]


#: What a runner yields: Bluesky messages (none for a served lab's queue).
Messages = Generator[Msg, Any, None]


class ExperimentRunner(Protocol):
    """The part of a campaign that knows its lab (see :func:`campaign_rounds`)."""

    def in_stock(self, planner: Planner, suggestions: list[Suggestion]) -> list[Suggestion]:
        """The suggestions the lab has stock for; each other one is rejected in the planner."""
        ...

    def run_round(
        self,
        planner: Planner,
        experiments: list[Experiment],
        first_record: int,
        finished: Callable[[ExperimentResult], None],
    ) -> Messages:
        """Run a round's experiments; tell the planner and ``finished`` each result.

        ``first_record`` is the index of the round's first record in
        ``planner.history``.
        """
        ...

    def end_round(self, planner: Planner, first_record: int) -> Messages:
        """Store the round's planner records (``first_record`` on) where the lab keeps them."""
        ...


def campaign_rounds(
    runner: ExperimentRunner,
    planner: Planner,
    budget: int,
    batch: int,
    campaign_id: str,
    approve: Approver | None = None,
    on_result: Callable[[ExperimentResult], None] | None = None,
) -> Generator[Msg, Any, list[ExperimentResult]]:
    """Run rounds of suggestions on ``runner`` until ``budget`` experiments have run.

    Each round asks the planner for up to ``batch`` suggestions, drops (and
    rejects in the planner) those the lab lacks stock for, lets ``approve``
    accept, edit or reject the rest, numbers the admitted ones and gives
    them to the runner, then lets it record the round. Rejected suggestions
    do not count against the budget. The loop ends early when a candidate
    pool is used up.

    Args:
        runner: How experiments run on this lab.
        planner: The planner (validated by :func:`check_campaign` beforehand).
        budget: Experiments to run.
        batch: Suggestions per round.
        campaign_id: Recorded on every experiment.
        approve: Review of each round's suggestions (none: accept all, decision ``"auto"``).
        on_result: Called after each experiment.

    Returns:
        The experiments, in the order they ran (yielding the runner's messages on the way).

    Raises:
        RuntimeError: If the stock lacks every suggestion of
            :data:`MAX_OUT_OF_STOCK_ROUNDS` rounds in a row.
    """
    results: list[ExperimentResult] = []

    def finished(result: ExperimentResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    out_of_stock_rounds = 0
    while len(results) < budget:
        first_record = len(planner.history)
        suggestions = planner.suggest(min(batch, budget - len(results)))
        if not suggestions:
            break  # a candidate pool is used up
        suggestions = runner.in_stock(planner, suggestions)
        if not suggestions:
            yield from runner.end_round(planner, first_record)  # the rejections
            out_of_stock_rounds += 1
            if out_of_stock_rounds >= MAX_OUT_OF_STOCK_ROUNDS:
                raise RuntimeError(
                    f"the LIMS lacks stock for every suggestion of {out_of_stock_rounds} rounds "
                    f"in a row ({planner.history[-1].get('reason', '')}); restock, then resume"
                )
            continue
        out_of_stock_rounds = 0
        admitted = [item for item in review(suggestions, approve) if admit(planner, item)]
        experiments = [
            Experiment(item, experiment_md(campaign_id, item, len(results) + i + 1, budget))
            for i, item in enumerate(admitted)
        ]
        yield from runner.run_round(planner, experiments, first_record, finished)
        yield from runner.end_round(planner, first_record)
    return results


def without_messages(plan: Generator[Msg, Any, Any]) -> Any:
    """Drive a plan that must not yield any message (a served lab's campaign); return its value.

    Raises:
        RuntimeError: If it yields one (its runner needs a RunEngine).
    """
    try:
        msg = next(plan)
    except StopIteration as stop:
        return stop.value
    plan.close()
    raise RuntimeError(f"this campaign's runner needs a RunEngine: it yielded {msg!r}")


def no_messages() -> Messages:
    """An empty plan (for a runner that has nothing to record after a round)."""
    return
    yield  # pragma: no cover - makes this a generator


__all__ = [
    "MAX_OUT_OF_STOCK_ROUNDS",
    "Approver",
    "Decision",
    "Experiment",
    "ExperimentResult",
    "ExperimentRunner",
    "Messages",
    "RecipeBuilder",
    "Reviewed",
    "admit",
    "campaign_rounds",
    "check_campaign",
    "experiment_md",
    "no_messages",
    "record_failure",
    "record_value",
    "review",
    "without_messages",
]
