"""A closed-loop campaign against a shared lab server: the planner here, the runs in its queue.

On a shared lab (``smartlab serve``) the RunEngine is the server's, so a
campaign cannot be one Bluesky plan as :func:`~smartlab_kernel.campaign.loop.campaign`
is. It runs the same rounds
(:func:`~smartlab_kernel.campaign.rounds.campaign_rounds`) in the notebook
with a :class:`QueueRunner`: the student's own planner suggests, the
reviewer accepts, edits or rejects, each accepted recipe goes into the
shared queue as a ``measure`` item (with the suggestion in its metadata),
and the objective is read back from the served catalog, which shows each
student only their own runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ..campaign.loop import bench_recipe
from ..campaign.rounds import (
    Approver,
    Experiment,
    ExperimentResult,
    Messages,
    RecipeBuilder,
    campaign_rounds,
    check_campaign,
    no_messages,
    record_failure,
    record_value,
    without_messages,
)
from ..planner import Planner, Suggestion
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


class QueueRunner:
    """Runs a campaign's experiments as ``measure`` items in a served lab's queue.

    A round's items are queued together, then waited for in order.

    Args:
        lab: The served lab.
        recipe: Turns parameters into a recipe of stocks ``a``, ``b`` and ``solvent``.
        objective: The planner's objective.
        objective_field: Event field holding its value.
        timeout: Seconds to wait for each item to run.
    """

    def __init__(
        self,
        lab: QueueLab,
        recipe: RecipeBuilder,
        objective: str,
        objective_field: str,
        timeout: float,
    ) -> None:
        self.lab = lab
        self.recipe = recipe
        self.objective = objective
        self.objective_field = objective_field
        self.timeout = timeout

    def in_stock(self, planner: Planner, suggestions: list[Suggestion]) -> list[Suggestion]:
        """All of them: the server checks stock when an item runs."""
        return suggestions

    def run_round(
        self,
        planner: Planner,
        experiments: list[Experiment],
        first_record: int,
        finished: Callable[[ExperimentResult], None],
    ) -> Messages:
        """Queue the round's items, then wait for each and tell the planner its value."""
        queued = [
            (
                self.lab.submit(
                    "measure",
                    **_measure_kwargs(self.recipe(experiment.item.params)),
                    md=experiment.md,
                ),
                experiment.item,
            )
            for experiment in experiments
        ]
        for run, item in queued:
            try:
                (uid,) = run.wait(self.timeout)
            except Exception as exc:
                result = record_failure(planner, item, explain(exc))
            else:
                value = _read_objective(self.lab, uid, self.objective_field)
                result = record_value(
                    planner, item, self.objective, self.objective_field, uid, value
                )
            finished(result)
        return no_messages()

    def end_round(self, planner: Planner, first_record: int) -> Messages:
        """Nothing: the planner's records stay with the student's planner."""
        return no_messages()


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
    runner = QueueRunner(lab, recipe, objective, objective_field, timeout)
    rounds = campaign_rounds(runner, planner, budget, batch, cid, approve, on_result)
    results: list[ExperimentResult] = without_messages(rounds)
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
