"""Re-run stored experiments on the simulator and check that the results match."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..devices import ResponseModel, response_from_settings
from ..plans import Recipe, measure_recipe
from ..storage import DIED_REASON
from .stored_runs import campaign_runs, stored_readout

#: The note of a comparison whose run was closed by recovery after its process died.
DIED_NOTE = "process died during the run: taken as its recorded failure, not re-run"


@dataclass
class Comparison:
    """One stored run and its re-run.

    Attributes:
        uid: The stored run.
        recorded: Its stored readout (``None`` if it did not succeed).
        reproduced: The re-run's readout (``None`` if it did not succeed or
            was not re-run).
        note: Why the run was not re-run, if it was not (see :data:`DIED_NOTE`).
    """

    uid: str
    recorded: float | None
    reproduced: float | None
    note: str = ""

    @property
    def difference(self) -> float:
        """Absolute difference (infinite when only one of them has a value)."""
        if self.recorded is None and self.reproduced is None:
            return 0.0
        if self.recorded is None or self.reproduced is None:
            return math.inf
        return abs(self.recorded - self.reproduced)


@dataclass
class ReproductionReport:
    """What :func:`reproduce` found."""

    target: str
    seed: int | None
    tolerance: float
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """True when every re-run is within ``tolerance`` of its stored result."""
        return bool(self.comparisons) and all(
            c.difference <= self.tolerance for c in self.comparisons
        )

    @property
    def max_difference(self) -> float:
        """The largest difference between a stored and a re-run result."""
        return max((c.difference for c in self.comparisons), default=0.0)

    def summary(self) -> str:
        """A few lines for people."""
        verdict = "MATCH" if self.matches else "MISMATCH"
        died = sum(c.note == DIED_NOTE for c in self.comparisons)
        crashed = f"; {died} not re-run (process died): taken as recorded failures" if died else ""
        return (
            f"{verdict}: {len(self.comparisons)} experiments of {self.target} re-run with seed "
            f"{self.seed}; largest difference {self.max_difference:.3g} "
            f"(tolerance {self.tolerance:g}){crashed}"
        )


def stored_experiments(catalog: Any, target: str) -> list[dict[str, Any]]:
    """Start documents of the ``measure_recipe`` runs of a campaign or of one run, in order.

    Raises:
        LookupError: If nothing matches ``target``.
    """
    campaign_id = target
    if _is_run(catalog, target):
        start = dict(catalog[target].metadata["start"])
        campaign_id = start.get("campaign_id") or ""
        if not campaign_id:
            return [start]
    starts = [dict(run.metadata["start"]) for run in campaign_runs(catalog, campaign_id)]
    if not starts:
        raise LookupError(f"no run uid or campaign id {target!r} with recipe runs in the catalog")
    return starts


def _is_run(catalog: Any, target: str) -> bool:
    """Whether ``target`` names a run of ``catalog``.

    The catalog reads ``target`` as a partial uid and raises for one shorter
    than five characters, which a campaign id may be: that is a no.
    """
    try:
        return target in catalog
    except ValueError:
        return False


def reproduce(
    catalog: Any,
    target: str,
    directory: str | Path | None = None,
    tolerance: float = 0.25,
    field_name: str = "spectrometer_readout",
    time_scale: float | None = None,
    response: ResponseModel | None = None,
) -> ReproductionReport:
    """Re-run a stored campaign (or run) on a fresh simulated lab with its recorded seed.

    The recipes that were executed are run again, in the same order, on a
    bench built from the recorded settings (seed, stocks, response model,
    e.g. a dataset-backed one); the readouts are compared with the stored ones.
    A campaign that ran in several lab sessions (resumed after a restart or
    a crash) is re-run on a fresh bench per session, as it was measured. A
    run whose process died (closed by recovery with
    :data:`~smartlab_kernel.storage.DIED_REASON`) is not re-run: a crash cannot
    be reproduced, and its recorded failure is taken as the result (see
    :data:`DIED_NOTE`).

    Args:
        catalog: The catalog holding the original runs.
        target: A campaign id, or a run uid (its campaign, if any, is re-run).
        directory: Where the re-run's data goes (default: a temporary folder).
        tolerance: Largest allowed absolute difference per readout. The noise
            draws repeat exactly (same seed, same order); what differs is the
            simulated clock, which follows the wall clock, so thread timing moves
            reaction temperatures by hundredths of a degree. The default is half
            the bench's measurement noise.
        field_name: The event field compared.
        time_scale: Speed of the re-run (default: the recorded one).
        response: The response model (default: rebuilt from the recorded
            settings; needed for a custom model the record cannot rebuild).

    Raises:
        LookupError: If the catalog has no experiments of ``target``.
        ValueError: If the recorded response model cannot be rebuilt and
            ``response`` is not given.
    """
    starts = stored_experiments(catalog, target)
    bench = starts[0].get("bench") or {}
    if response is None and bench.get("response_settings"):
        response = response_from_settings(bench["response_settings"])
    elif response is None and bench.get("response") not in (None, "AnalyticResponse"):
        raise ValueError(
            f"the runs were measured with a {bench['response']} response model that the "
            "record cannot rebuild; pass it: reproduce(..., response=model)"
        )
    report = ReproductionReport(target, starts[0].get("seed"), tolerance)
    scratch = tempfile.TemporaryDirectory() if directory is None else None
    folder = Path(scratch.name if scratch else str(directory))
    try:
        for session in _sessions(starts):
            report.comparisons += _rerun_session(
                catalog, session, folder, field_name, time_scale, response
            )
    finally:
        if scratch is not None:
            scratch.cleanup()
    return report


def _sessions(starts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``starts`` split where the lab session changes (a restart gave a fresh bench)."""
    sessions: list[list[dict[str, Any]]] = []
    for start in starts:
        if not sessions or start.get("lab_session") != sessions[-1][0].get("lab_session"):
            sessions.append([])
        sessions[-1].append(start)
    return sessions


def _rerun_session(
    catalog: Any,
    starts: list[dict[str, Any]],
    folder: Path,
    field_name: str,
    time_scale: float | None,
    response: ResponseModel | None,
) -> list[Comparison]:
    """Re-run the experiments of one lab session on a fresh bench built as that session's."""
    from ..session.lab import Lab

    bench = starts[0].get("bench") or {}
    comparisons = []
    with Lab.simulated(
        seed=int(starts[0].get("seed") or 0),
        directory=folder,
        time_scale=time_scale or float(bench.get("time_scale", 1000.0)),
        stocks=bench.get("stocks"),
        response=response,
    ) as lab:
        devices = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
        for start in starts:
            stored = catalog[start["uid"]]
            recorded = stored_readout(stored, field_name)
            if (stored.metadata.get("stop") or {}).get("reason") == DIED_REASON:
                comparisons.append(Comparison(start["uid"], recorded, None, DIED_NOTE))
                continue
            recipe = start["recipe"]
            plan = measure_recipe(
                Recipe(
                    volumes_ml=recipe["volumes_ml"],
                    temperature_c=recipe["temperature_c"],
                    hold_s=recipe["hold_s"],
                    stir_rpm=recipe["stir_rpm"],
                    params=recipe.get("params", {}),
                ),
                md={"reproduces": start["uid"]},
                **devices,
            )
            run = lab.submit(plan)
            try:
                uids = run.wait()
            except Exception:
                uids = run.uids
            lab.wait(120)
            again = stored_readout(lab.catalog[uids[0]], field_name) if uids else None
            comparisons.append(Comparison(start["uid"], recorded, again))
    return comparisons
