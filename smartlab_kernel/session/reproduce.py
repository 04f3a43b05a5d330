"""Re-run stored experiments on the simulator and check that the results match."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..devices import ResponseModel, response_from_settings
from ..plans import Recipe, measure_recipe
from .stored_runs import campaign_runs, stored_readout


@dataclass
class Comparison:
    """One stored run and its re-run."""

    uid: str
    recorded: float | None
    reproduced: float | None

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
        return (
            f"{verdict}: {len(self.comparisons)} experiments of {self.target} re-run with seed "
            f"{self.seed}; largest difference {self.max_difference:.3g} "
            f"(tolerance {self.tolerance:g})"
        )


def stored_experiments(catalog: Any, target: str) -> list[dict[str, Any]]:
    """Start documents of the ``measure_recipe`` runs of a campaign or of one run, in order.

    Raises:
        LookupError: If nothing matches ``target``.
    """
    campaign_id = target
    if target in catalog:
        start = dict(catalog[target].metadata["start"])
        campaign_id = start.get("campaign_id") or ""
        if not campaign_id:
            return [start]
    starts = [dict(run.metadata["start"]) for run in campaign_runs(catalog, campaign_id)]
    if not starts:
        raise LookupError(f"no run uid or campaign id {target!r} with recipe runs in the catalog")
    return starts


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
    from .lab import Lab

    starts = stored_experiments(catalog, target)
    bench = starts[0].get("bench") or {}
    seed = starts[0].get("seed")
    if response is None and bench.get("response_settings"):
        response = response_from_settings(bench["response_settings"])
    elif response is None and bench.get("response") not in (None, "AnalyticResponse"):
        raise ValueError(
            f"the runs were measured with a {bench['response']} response model that the "
            "record cannot rebuild; pass it: reproduce(..., response=model)"
        )
    report = ReproductionReport(target, seed, tolerance)
    scratch = tempfile.TemporaryDirectory() if directory is None else None
    folder = Path(scratch.name if scratch else str(directory))
    try:
        with Lab.simulated(
            seed=int(seed or 0),
            directory=folder,
            time_scale=time_scale or float(bench.get("time_scale", 1000.0)),
            stocks=bench.get("stocks"),
            response=response,
        ) as lab:
            devices = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
            for start in starts:
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
                recorded = stored_readout(catalog[start["uid"]], field_name)
                report.comparisons.append(Comparison(start["uid"], recorded, again))
    finally:
        if scratch is not None:
            scratch.cleanup()
    return report
