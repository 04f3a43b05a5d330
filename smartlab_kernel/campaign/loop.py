"""Closed-loop campaigns: suggest -> (review) -> run the recipe -> read the result -> observe.

What the planner knows reaches the catalog as it happens, so a campaign
whose process dies at any point resumes in step with what was measured:
each experiment's start document carries the planner records made since the
previous experiment (the round's suggestions and decisions so far) and the
planner's configuration, and each round ends with a ``planner_record`` run
holding the round's records. :func:`resume_planner` rebuilds the planner
from both and from how each experiment's run ended (see
:func:`~smartlab_kernel.campaign.stored_runs.campaign_records`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import FailedPause, RunEngineControlException

from ..planner import Objective, Planner, Real, Suggestion
from ..plans import Plan, Recipe, clear_stations, measure_recipe
from ..session.wrapping import explain
from .stored_runs import MEASURE_PLAN, RECORD_PLAN, campaign_records, campaign_runs

if TYPE_CHECKING:
    from ..session.lab import Lab

#: What an ``approve`` callback returns per suggestion: ``True`` runs it as
#: suggested, a dict runs edited parameters, a string or ``False``/``None``
#: rejects it (the string is the reason).
Decision = bool | str | Mapping[str, Any] | None
Approver = Callable[[list[Suggestion]], Sequence[Decision]]
RecipeBuilder = Callable[[Mapping[str, Any]], Recipe]


def bench_parameters() -> list[Real]:
    """The search space of the simulated bench's reaction (see :func:`bench_recipe`)."""
    return [
        Real("a_fraction", 0.1, 0.9),
        Real("temperature_c", 30.0, 110.0),
        Real("hold_s", 120.0, 1800.0),
        Real("stir_rpm", 100.0, 1500.0),
    ]


def bench_recipe(params: Mapping[str, Any]) -> Recipe:
    """Turn bench parameters into a 5 mL recipe of stocks ``a`` and ``b``."""
    fraction = float(params["a_fraction"])
    return Recipe.from_fractions(
        {"a": fraction, "b": 1.0 - fraction},
        total_ml=5.0,
        temperature_c=float(params["temperature_c"]),
        hold_s=float(params["hold_s"]),
        stir_rpm=float(params["stir_rpm"]),
        params=dict(params),
    )


def bench_planner(seed: int = 0, initial_design: int | None = None) -> Planner:
    """A planner for the simulated bench's yield (maximise)."""
    return Planner(
        parameters=bench_parameters(),
        objectives=[Objective("yield", "maximize")],
        seed=seed,
        initial_design=initial_design,
    )


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


def _record_decisions(planner: Planner, first: int, campaign_id: str) -> Plan:
    records = planner.history[first:]
    md = {
        "plan_name": RECORD_PLAN,
        "campaign_id": campaign_id,
        "planner_records": records,
        "planner_config": planner.to_config(include_candidates=False),
    }
    yield from bpp.run_wrapper(bps.null(), md=md)


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


def campaign(
    lab: Lab,
    planner: Planner,
    budget: int = 10,
    batch: int = 1,
    approve: Approver | None = None,
    recipe: RecipeBuilder = bench_recipe,
    objective_field: str = "spectrometer_readout",
    campaign_id: str | None = None,
    on_result: Callable[[ExperimentResult], None] | None = None,
) -> Plan:
    """A Bluesky plan for a closed-loop campaign of ``budget`` experiments.

    Each round asks the planner for ``batch`` suggestions, lets ``approve``
    accept, edit or reject them (no callback: all accepted, decision
    ``"auto"``), runs each accepted recipe with :func:`measure_recipe`, reads
    the objective from the stored run in the catalog, and tells the planner.
    A run that fails or reads NaN is reported to the planner with
    :meth:`Planner.fail`. With a LIMS attached (``lab.lims``), a suggestion
    whose recipe needs stock the LIMS lacks is rejected with the shortfall as
    its reason before review, and the planner is asked again. After each
    round the planner's new records go into the catalog as a small
    ``planner_record`` run, and each experiment's start document carries the
    records made since the previous experiment, so :func:`resume_planner`
    can rebuild the planner after a restart, also after a crash in the
    middle of a round.

    Args:
        lab: The lab (its devices and catalog are used).
        planner: The planner (its single objective is read from ``objective_field``).
        budget: Experiments to run (rejected suggestions do not count).
        batch: Suggestions per round.
        approve: Human-in-the-loop review of each round's suggestions.
        recipe: Turns parameters into a :class:`Recipe`.
        objective_field: Event field holding the objective's value.
        campaign_id: Recorded on every run (default: the planner's).
        on_result: Called after each experiment (e.g. to advance a progress bar).

    Returns:
        The list of :class:`ExperimentResult`.
    """
    objective = check_campaign(planner, budget, batch, "campaign")
    cid = campaign_id or planner.campaign_id
    devices = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
    results: list[ExperimentResult] = []
    out_of_stock_rounds = 0
    while len(results) < budget:
        first_record = len(planner.history)
        suggestions = planner.suggest(min(batch, budget - len(results)))
        if not suggestions:
            break  # a candidate pool is used up
        suggestions = _in_stock(lab, planner, suggestions, recipe)
        if not suggestions:
            yield from _record_decisions(planner, first_record, cid)  # the rejections
            out_of_stock_rounds += 1
            if out_of_stock_rounds >= MAX_OUT_OF_STOCK_ROUNDS:
                raise RuntimeError(
                    f"the LIMS lacks stock for every suggestion of {out_of_stock_rounds} rounds "
                    f"in a row ({planner.history[-1].get('reason', '')}); restock, then resume"
                )
            continue
        out_of_stock_rounds = 0
        stored = first_record  # records before this are in the catalog already
        for item in review(suggestions, approve):
            if not admit(planner, item):
                continue
            md = experiment_md(cid, item, number=len(results) + 1, budget=budget)
            stored = _carry_records(md, planner, stored, objective_field)
            result = yield from _run_one(
                lab, planner, item, recipe, devices, objective, objective_field, md
            )
            results.append(result)
            if on_result is not None:
                on_result(result)
        yield from _record_decisions(planner, first_record, cid)
    return results


def _carry_records(md: dict[str, Any], planner: Planner, stored: int, objective_field: str) -> int:
    """Put the planner records from index ``stored`` on into an experiment's metadata.

    So the catalog holds the round's suggestions and decisions as soon as an
    experiment starts, not only at the end of the round: if the process
    dies, :func:`resume_planner` still finds them. Returns the number of
    records now stored.
    """
    history = planner.history
    md["planner_records"] = history[stored:]
    md["planner_config"] = planner.to_config(include_candidates=False)
    md["objective_field"] = objective_field
    return len(history)


def _in_stock(
    lab: Lab, planner: Planner, suggestions: list[Suggestion], recipe: RecipeBuilder
) -> list[Suggestion]:
    """Reject (with the reason) suggestions whose recipe needs stock the lab's LIMS lacks."""
    if lab.lims is None:
        return suggestions
    kept = []
    for suggestion in suggestions:
        missing = lab.lims.shortfalls(recipe(dict(suggestion.params)).volumes_ml)
        if missing:
            planner.reject(suggestion, reason="not in stock: " + "; ".join(missing))
        else:
            kept.append(suggestion)
    return kept


def _run_one(
    lab: Lab,
    planner: Planner,
    item: Reviewed,
    recipe: RecipeBuilder,
    devices: Mapping[str, Any],
    objective: str,
    objective_field: str,
    md: dict[str, Any],
) -> Plan:
    try:
        uid = yield from measure_recipe(recipe(item.params), md=md, **devices)
    except (RunEngineControlException, FailedPause) as exc:
        # The operator's abort or stop (or an interlock that could not pause):
        # the campaign ends here; nothing more runs, the robot does not move.
        current = lab.current
        record_failure(planner, item, (current.reason if current else "") or explain(exc))
        raise
    except Exception as exc:
        result = record_failure(planner, item, explain(exc))
        yield from clear_stations(devices["robot"])
        return result
    lab.storage.wait_shipped(60)
    value = float(lab.catalog[uid]["primary"].read()[objective_field].values[0])
    return record_value(planner, item, objective, objective_field, uid, value)


def resume_planner(
    lab: Lab,
    campaign_id: str,
    candidates: Any = None,
    objective_field: str = "spectrometer_readout",
    timeout: float = 120.0,
) -> Planner:
    """Rebuild a campaign's planner from the catalog, in step with what was measured.

    The planner's stored records (``planner_record`` runs, and the records
    each experiment's start document carries) are replayed, and every
    experiment of the campaign in the catalog becomes an observation or a
    failure of the planner exactly once, as its run ended. After a crash
    this means: experiments that finished but whose result the planner had
    not recorded are observed with the stored value; the experiment the
    crash interrupted, which recovery closed as failed, is failed with the
    catalog's reason ("process died before the run finished ..."); and
    suggestions that never ran are rejected. New suggestion ids follow every
    id in the catalog, so none is used twice. See
    :func:`~smartlab_kernel.campaign.stored_runs.campaign_records`.

    Args:
        lab: The lab whose catalog holds the campaign.
        campaign_id: The campaign.
        candidates: The candidate pool, for a pool planner stored by hash.
        objective_field: Event field of the objective, for experiments stored
            before campaigns recorded it.
        timeout: Seconds to wait for the lab's storage to ship what it holds,
            runs recovered after a crash included.

    Raises:
        LookupError: If the catalog has no records of that campaign.
        TimeoutError: If the lab's storage has not shipped its runs within ``timeout``.
        RuntimeError: If an experiment of the campaign has no stop document
            yet (it is still running).
    """
    if not lab.storage.wait_shipped(timeout):
        raise TimeoutError(
            f"{lab.storage.backlog} documents still not in the catalog after {timeout} s; "
            "resume once lab.wait() returns"
        )
    runs = campaign_runs(lab.catalog, campaign_id, RECORD_PLAN) + campaign_runs(
        lab.catalog, campaign_id, MEASURE_PLAN
    )
    runs.sort(key=lambda run: float(run.metadata["start"]["time"]))
    try:
        stored = campaign_records(runs, field_name=objective_field)
    except LookupError:
        raise LookupError(
            f"no planner records of campaign {campaign_id!r} in the catalog"
        ) from None
    planner = Planner.restore(stored.config, stored.records, candidates)
    planner.campaign_id = campaign_id
    return planner
