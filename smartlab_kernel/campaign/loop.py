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

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import FailedPause, RunEngineControlException

from ..planner import Objective, Planner, Real, Suggestion
from ..plans import Plan, Recipe, clear_stations, measure_recipe
from ..session.wrapping import explain
from ..storage.errors import StorageError
from .rounds import (
    Approver,
    Decision,
    Experiment,
    ExperimentResult,
    RecipeBuilder,
    Reviewed,
    admit,
    campaign_rounds,
    check_campaign,
    experiment_md,
    record_failure,
    record_value,
    review,
)
from .stored_runs import MEASURE_PLAN, RECORD_PLAN, campaign_records, campaign_runs

if TYPE_CHECKING:
    from ..session.lab import Lab


#: Seconds an experiment's run may take to reach the catalog before a campaign stops.
SHIPPED_TIMEOUT = 120.0


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


def _record_decisions(planner: Planner, first: int, campaign_id: str) -> Plan:
    records = planner.history[first:]
    md = {
        "plan_name": RECORD_PLAN,
        "campaign_id": campaign_id,
        "planner_records": records,
        "planner_config": planner.to_config(include_candidates=False),
    }
    yield from bpp.run_wrapper(bps.null(), md=md)


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
    middle of a round. The rounds are those of every campaign
    (:func:`~smartlab_kernel.campaign.rounds.campaign_rounds`), run here by
    a :class:`LabRunner`.

    Args:
        lab: The lab (its devices and catalog are used).
        planner: The planner (its single objective is read from ``objective_field``).
        budget: Experiments to run (rejected suggestions do not count).
        batch: Suggestions per round.
        approve: Human-in-the-loop review of each round's suggestions.
        recipe: Turns parameters into a :class:`Recipe`.
        objective_field: Event field holding the objective's value.
        campaign_id: Recorded on every run. Default: the one the plan was
            submitted with (``lab.submit(campaign(...), campaign_id="x")``),
            else the planner's.
        on_result: Called after each experiment (e.g. to advance a progress bar).

    Returns:
        The list of :class:`ExperimentResult`.

    Raises:
        ValueError: If ``budget``/``batch`` are not integers >= 1, the
            planner has several objectives, or ``campaign_id`` differs from
            the id the plan was submitted with.
    """
    objective = check_campaign(planner, budget, batch, "campaign")
    cid = _campaign_id(lab, campaign_id) or planner.campaign_id
    runner = LabRunner(lab, recipe, objective, objective_field, cid)
    return (yield from campaign_rounds(runner, planner, budget, batch, cid, approve, on_result))


def _campaign_id(lab: Lab, given: str | None) -> str | None:
    """The campaign's id: the one given, else the one its plan was submitted with.

    The plan's body runs on the lab's worker, so the lab's current run is
    the one this campaign was submitted as.

    Raises:
        ValueError: If both are set and differ.
    """
    current = getattr(lab, "current", None)
    submitted = current.md.get("campaign_id") if current is not None else None
    if given and submitted and str(given) != str(submitted):
        raise ValueError(
            f"campaign(campaign_id={given!r}) was submitted with campaign_id={submitted!r}; "
            "give one id (either one), or the same id to both"
        )
    return given or submitted


class LabRunner:
    """Runs a campaign's experiments as plans on this process's lab (see :func:`campaign`).

    Args:
        lab: The lab.
        recipe: Turns parameters into a :class:`Recipe`.
        objective: The planner's objective.
        objective_field: Event field holding its value.
        campaign_id: The campaign.
    """

    def __init__(
        self,
        lab: Lab,
        recipe: RecipeBuilder,
        objective: str,
        objective_field: str,
        campaign_id: str,
    ) -> None:
        self.lab = lab
        self.recipe = recipe
        self.objective = objective
        self.objective_field = objective_field
        self.campaign_id = campaign_id
        self.devices = {
            k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")
        }

    def in_stock(self, planner: Planner, suggestions: list[Suggestion]) -> list[Suggestion]:
        """Reject (with the reason) suggestions whose recipe needs stock the lab's LIMS lacks."""
        if self.lab.lims is None:
            return suggestions
        kept = []
        for suggestion in suggestions:
            missing = self.lab.lims.shortfalls(self.recipe(dict(suggestion.params)).volumes_ml)
            if missing:
                planner.reject(suggestion, reason="not in stock: " + "; ".join(missing))
            else:
                kept.append(suggestion)
        return kept

    def run_round(
        self,
        planner: Planner,
        experiments: list[Experiment],
        first_record: int,
        finished: Callable[[ExperimentResult], None],
    ) -> Plan:
        """Run each experiment in turn; each carries the planner records made since the last."""
        stored = first_record  # records before this are in the catalog already
        for experiment in experiments:
            stored = _carry_records(experiment.md, planner, stored, self.objective_field)
            finished((yield from self._run_one(planner, experiment)))

    def end_round(self, planner: Planner, first_record: int) -> Plan:
        """Store the round's planner records as a ``planner_record`` run."""
        yield from _record_decisions(planner, first_record, self.campaign_id)

    def _run_one(self, planner: Planner, experiment: Experiment) -> Plan:
        item = experiment.item
        try:
            uid = yield from measure_recipe(
                self.recipe(item.params), md=experiment.md, **self.devices
            )
        except (RunEngineControlException, FailedPause) as exc:
            # The operator's abort or stop (or an interlock that could not pause):
            # the campaign ends here; nothing more runs, the robot does not move.
            current = self.lab.current
            record_failure(planner, item, (current.reason if current else "") or explain(exc))
            raise
        except Exception as exc:
            result = record_failure(planner, item, explain(exc))
            yield from clear_stations(self.devices["robot"])
            return result
        storage = self.lab.storage
        if not storage.wait_run_shipped(uid, SHIPPED_TIMEOUT):
            raise StorageError(
                f"run {uid} is journaled but not verified in the catalog after "
                f"{SHIPPED_TIMEOUT:g} s (last catalog error: {storage.shipper.last_error}); "
                "the campaign stops here rather than read a partial run. Nothing is lost: "
                "once the catalog is back, resume it with resume_planner"
            )
        read = self.lab.catalog[uid]["primary"].read()
        value = float(read[self.objective_field].values[0])
        return record_value(planner, item, self.objective, self.objective_field, uid, value)


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


__all__ = [
    "Approver",
    "Decision",
    "ExperimentResult",
    "LabRunner",
    "RecipeBuilder",
    "Reviewed",
    "admit",
    "bench_parameters",
    "bench_planner",
    "bench_recipe",
    "campaign",
    "check_campaign",
    "experiment_md",
    "record_failure",
    "record_value",
    "resume_planner",
    "review",
]
