"""A closed-loop campaign against a shared lab server: the planner here, the runs in its queue.

On a shared lab (``smartlab serve``) the RunEngine is the server's, so a
campaign cannot be one Bluesky plan as :func:`~smartlab_kernel.campaign.loop`
is. Instead the loop runs in the notebook: the student's own planner
suggests, the reviewer accepts, edits or rejects, each accepted recipe goes
into the shared queue as a ``measure`` item (with the suggestion in its
metadata), and the objective is read back from the served catalog, which
shows each student only their own runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ..campaign.loop import (
    Approver,
    ExperimentResult,
    RecipeBuilder,
    admit,
    bench_recipe,
    check_campaign,
    experiment_md,
    record_failure,
    record_value,
    review,
)
from ..planner import Planner
from ..session.wrapping import explain


class QueueLab(Protocol):
    """What a campaign needs of a served lab (a :class:`~smartlab_kernel.remote.RemoteLab`)."""

    @property
    def catalog(self) -> Any:
        """The served catalog's runs."""
        ...

    def submit(self, plan_name: str, *args: Any, **kwargs: Any) -> Any:
        """Queue a plan by name; return its run handle."""
        ...


def remote_campaign(
    lab: QueueLab,
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
    objective = check_campaign(planner, budget, batch, "remote_campaign")
    cid = campaign_id or planner.campaign_id
    results: list[ExperimentResult] = []
    while len(results) < budget:
        suggestions = planner.suggest(min(batch, budget - len(results)))
        if not suggestions:
            break  # a candidate pool is used up
        admitted = [item for item in review(suggestions, approve) if admit(planner, item)]
        queued = [
            (
                lab.submit(
                    "measure",
                    **_measure_kwargs(recipe(item.params)),
                    md=experiment_md(cid, item, number=len(results) + i + 1, budget=budget),
                ),
                item,
            )
            for i, item in enumerate(admitted)
        ]
        for run, item in queued:
            try:
                (uid,) = run.wait(timeout)
            except Exception as exc:
                result = record_failure(planner, item, explain(exc))
            else:
                value = _read_objective(lab, uid, objective_field)
                result = record_value(planner, item, objective, objective_field, uid, value)
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


def _read_objective(lab: QueueLab, uid: str, field: str, timeout: float = 30.0) -> float:
    """The first event's ``field`` of run ``uid``, once the server has shipped it to the catalog."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return float(lab.catalog[uid]["primary"].read()[field].values[0])
        except KeyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


__all__ = ["remote_campaign"]
