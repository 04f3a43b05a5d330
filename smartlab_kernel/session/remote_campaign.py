"""A closed-loop campaign against a shared lab server: the planner here, the runs in its queue.

On a shared lab (``smartlab serve``) the RunEngine is the server's, so a
campaign cannot be one Bluesky plan as :func:`~smartlab_kernel.session.campaign`
is. Instead the loop runs in the notebook: the student's own planner
suggests, the reviewer accepts, edits or rejects, each accepted recipe goes
into the shared queue as a ``measure`` item (with the suggestion in its
metadata), and the objective is read back from the served catalog, which
shows each student only their own runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..planner import Planner, Suggestion
from .campaign import Approver, Decision, ExperimentResult, RecipeBuilder, _normalise, bench_recipe

if TYPE_CHECKING:
    from .remote import RemoteLab


def remote_campaign(
    lab: RemoteLab,
    planner: Planner,
    budget: int = 10,
    batch: int = 1,
    approve: Approver | None = None,
    recipe: RecipeBuilder = bench_recipe,
    objective_field: str = "spectrometer_readout",
    campaign_id: str | None = None,
    on_result: Callable[[ExperimentResult], None] | None = None,
    timeout: float = 600.0,
) -> list[ExperimentResult]:
    """Run a closed-loop campaign of ``budget`` experiments on a shared lab; blocks until done.

    Args:
        lab: The shared lab (``Lab.connect(url, api_key=...)``).
        planner: Your planner (its single objective is read from ``objective_field``).
        budget: Experiments to run (rejected suggestions do not count).
        batch: Suggestions per round; their items queue together.
        approve: Review of each round's suggestions, as for ``campaign``
            (``True`` accept, a dict of parameters edit, a string reject).
        recipe: Turns parameters into a :class:`~smartlab_kernel.plans.Recipe`
            of stocks ``a``, ``b`` and ``solvent``.
        objective_field: Event field holding the objective's value.
        campaign_id: Recorded on every run (default: the planner's).
        on_result: Called after each experiment.
        timeout: Seconds to wait for each round's items to run.

    Returns:
        The experiments, in the order they were queued.

    Raises:
        ValueError: If ``budget``/``batch`` are not integers >= 1, or the
            planner has several objectives.
    """
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1, got {budget!r}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
    if len(planner.objectives) != 1:
        raise ValueError("remote_campaign() reads one objective; this planner has several")
    objective = planner.objectives[0].name
    cid = campaign_id or planner.campaign_id
    results: list[ExperimentResult] = []
    while len(results) < budget:
        suggestions = planner.suggest(min(batch, budget - len(results)))
        if not suggestions:
            break  # a candidate pool is used up
        decisions: Sequence[Decision] = (
            approve(suggestions) if approve else [True] * len(suggestions)
        )
        if len(decisions) != len(suggestions):
            raise ValueError(
                f"approve() returned {len(decisions)} decisions for {len(suggestions)} suggestions"
            )
        queued = []
        for suggestion, raw in zip(suggestions, decisions, strict=True):
            kind, value = _normalise(raw, suggestion)
            if kind == "reject":
                planner.reject(suggestion, reason=str(value))
                continue
            params: dict[str, Any] = value  # type: ignore[assignment]
            if kind == "edit":
                planner.space.validate(params)  # a bad edit fails before anything is queued
            decision = "auto" if approve is None and kind == "accept" else kind
            run = lab.submit(
                "measure",
                **_measure_kwargs(recipe(params)),
                md=_md(cid, suggestion, params, decision),
            )
            queued.append((run, suggestion, params, kind, decision))
        for run, suggestion, params, kind, decision in queued:
            result = _observe(
                lab,
                planner,
                run,
                suggestion,
                params,
                kind,
                decision,
                objective,
                objective_field,
                timeout,
            )
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _measure_kwargs(recipe: Any) -> dict[str, float]:
    volumes = dict(recipe.volumes_ml)
    unknown = sorted(set(volumes) - {"a", "b", "solvent"})
    if unknown:
        raise ValueError(
            f"the shared lab's measure plan takes stocks a, b and solvent; recipe uses {unknown}"
        )
    return {
        "a_ml": float(volumes.get("a", 0.0)),
        "b_ml": float(volumes.get("b", 0.0)),
        "solvent_ml": float(volumes.get("solvent", 0.0)),
        "temperature_c": float(recipe.temperature_c),
        "hold_s": float(recipe.hold_s),
        "stir_rpm": float(recipe.stir_rpm),
    }


def _md(
    campaign_id: str, suggestion: Suggestion, params: dict[str, Any], decision: str
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "suggestion": {
            "id": suggestion.id,
            "params": dict(suggestion.params),
            "predicted": {k: list(v) for k, v in (suggestion.predicted or {}).items()},
            "reason": suggestion.reason,
            "decision": decision,
        },
        "executed": dict(params),
    }


def _read_objective(lab: RemoteLab, uid: str, field: str, timeout: float = 30.0) -> float:
    """The first event's ``field`` of run ``uid``, once the server has shipped it to the catalog."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return float(lab.catalog[uid]["primary"].read()[field].values[0])
        except KeyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _observe(
    lab: RemoteLab,
    planner: Planner,
    run: Any,
    suggestion: Suggestion,
    params: dict[str, Any],
    kind: str,
    decision: str,
    objective: str,
    objective_field: str,
    timeout: float,
) -> ExperimentResult:
    target: Any = suggestion if kind == "accept" else params
    edited_from = None if kind == "accept" else suggestion
    try:
        (uid,) = run.wait(timeout)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        planner.fail(target, reason=reason, suggestion=edited_from)
        return ExperimentResult(suggestion, params, None, None, kind, reason)
    value = _read_objective(lab, uid, objective_field)
    if not math.isfinite(value):
        planner.fail(target, reason=f"{objective_field} read {value}", suggestion=edited_from)
        return ExperimentResult(suggestion, params, None, uid, kind, f"reading was {value}")
    if decision == "auto":
        planner.observe(suggestion, {objective: value}, decision="auto")
    else:
        planner.observe(target, {objective: value}, suggestion=edited_from)
    return ExperimentResult(suggestion, params, {objective: value}, uid, kind)


__all__ = ["remote_campaign"]
