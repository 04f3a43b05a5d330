"""Rebuilding a campaign's planner records from its stored runs (no lab, no processes).

The runs are built the way ``campaign()`` stores them (start documents from
``experiment_md`` with the planner records each experiment carries, and
``planner_record`` runs at the end of each round), then cut where a crash
would have cut them. The kill -9 tests in ``test_campaign_crash.py`` do the
same through real processes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from smartlab_kernel.campaign.loop import (
    Reviewed,
    _carry_records,
    admit,
    bench_planner,
    experiment_md,
    review,
)
from smartlab_kernel.campaign.stored_runs import (
    MEASURE_PLAN,
    NOT_RUN_REASON,
    RECORD_PLAN,
    campaign_records,
)
from smartlab_kernel.planner import Planner
from smartlab_kernel.planner.state import id_number
from smartlab_kernel.storage import DIED_REASON

FIELD = "spectrometer_readout"
_clock = itertools.count(1_000)


@dataclass
class StoredRun:
    """A catalog run as ``campaign_records`` reads it: metadata and a primary stream."""

    start: dict[str, Any]
    stop: dict[str, Any] | None = None
    value: float | None = None
    metadata: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.metadata = {"start": self.start, "stop": self.stop}

    def __getitem__(self, stream: str) -> Any:
        assert stream == "primary"
        return SimpleNamespace(read=lambda: {FIELD: SimpleNamespace(values=[self.value])})


class Campaign:
    """Stores a campaign's runs as ``campaign()`` does, one step at a time."""

    def __init__(self, planner: Planner, session: str = "s1") -> None:
        self.planner = planner
        self.session = session
        self.runs: list[StoredRun] = []
        self.first = len(planner.history)
        self.stored = self.first

    def round(self, n: int, approve: Any = None) -> list[Reviewed]:
        """Suggest ``n`` and review them; the round's records start here."""
        self.first = self.stored = len(self.planner.history)
        return review(self.planner.suggest(n), approve)

    def start(self, item: Reviewed) -> StoredRun:
        """An experiment's run opens (its start document is in the catalog)."""
        md = experiment_md(self.planner.campaign_id, item)
        self.stored = _carry_records(md, self.planner, self.stored, FIELD)
        run = StoredRun({**md, **self._common(MEASURE_PLAN)})
        self.runs.append(run)
        return run

    def finish(self, run: StoredRun, value: float, tell: bool = True) -> None:
        """The run ends with ``value``; ``tell``: the planner learns it (no crash in between)."""
        run.stop = run.metadata["stop"] = {"exit_status": "success", "time": next(_clock)}
        run.value = value
        if tell:
            item = run.start["suggestion"]["id"]
            if math.isfinite(value):
                self.planner.observe(item, {"yield": value}, decision="auto")
            else:
                self.planner.fail(item, reason=f"{FIELD} read {value}")

    def die(self, run: StoredRun) -> None:
        """The process dies during ``run``; recovery closes it as failed."""
        run.stop = run.metadata["stop"] = {
            "exit_status": "fail",
            "reason": DIED_REASON,
            "time": next(_clock),
        }

    def end_round(self) -> None:
        """The round's ``planner_record`` run."""
        records = self.planner.history[self.first :]
        start = {
            "planner_records": records,
            "planner_config": self.planner.to_config(include_candidates=False),
            **self._common(RECORD_PLAN),
        }
        self.runs.append(StoredRun(start, {"exit_status": "success", "time": next(_clock)}))

    def _common(self, plan_name: str) -> dict[str, Any]:
        return {
            "uid": f"run-{len(self.runs)}",
            "plan_name": plan_name,
            "campaign_id": self.planner.campaign_id,
            "lab_session": self.session,
            "time": float(next(_clock)),
        }


def _planner() -> Planner:
    planner = bench_planner(seed=0, initial_design=4)
    planner.campaign_id = "unit"
    return planner


def _resumed(runs: list[StoredRun]) -> Planner:
    history = campaign_records(runs)
    planner = Planner.restore(history.config, history.records)
    planner.campaign_id = "unit"
    return planner


def _closes(planner: Planner) -> dict[str, tuple[str, Any]]:
    """Suggestion id -> (event, outcome or reason) of every decision, checking each is once."""
    found: dict[str, tuple[str, Any]] = {}
    for record in planner.history:
        if record["event"] == "suggest":
            continue
        assert record["suggestion_id"] not in found, f"closed twice: {record}"
        detail = record.get("outcomes", {}).get("yield") or record.get("reason")
        found[record["suggestion_id"]] = (record["event"], detail)
    return found


def test_a_clean_campaign_rebuilds_exactly_from_its_records() -> None:
    stored = Campaign(_planner())
    for _ in range(2):
        for item in stored.round(2):
            stored.finish(stored.start(item), 0.5)
        stored.end_round()
    resumed = _resumed(stored.runs)
    assert resumed.history == stored.planner.history
    assert campaign_records(stored.runs).recovered == []


def test_a_crash_mid_round_observes_finished_experiments_once_and_fails_the_killed_one() -> None:
    stored = Campaign(_planner())
    for item in stored.round(2):
        stored.finish(stored.start(item), 0.5)
    stored.end_round()
    finished, killed = stored.round(2)
    stored.finish(stored.start(finished), 0.7, tell=False)  # died before the planner heard
    stored.die(stored.start(killed))

    resumed = _resumed(stored.runs)
    assert _closes(resumed) == {
        "unit-0001": ("observe", 0.5),
        "unit-0002": ("observe", 0.5),
        "unit-0003": ("observe", 0.7),
        "unit-0004": ("fail", DIED_REASON),
    }
    assert DIED_REASON.startswith("process died")
    assert resumed.pending == []
    assert [s.id for s in resumed.suggest(1)] == ["unit-0005"]


def test_a_crash_in_the_first_round_resumes_from_the_experiments_alone() -> None:
    stored = Campaign(_planner())
    first, second, third = stored.round(3)
    stored.finish(stored.start(first), 0.25)
    stored.die(stored.start(second))  # the third never started

    resumed = _resumed(stored.runs)
    assert _closes(resumed) == {
        "unit-0001": ("observe", 0.25),
        "unit-0002": ("fail", DIED_REASON),
        "unit-0003": ("reject", NOT_RUN_REASON),
    }
    # the design goes on where it was: the never-run point is not proposed again
    (following,) = resumed.suggest(1)
    assert following.id == "unit-0004"
    assert following.params != third.suggestion.params


def test_a_rejection_in_the_crashed_round_is_kept() -> None:
    stored = Campaign(_planner())
    rejected, killed = stored.round(2, approve=lambda s: ["no reagent", True])
    assert not admit(stored.planner, rejected)  # recorded as the reviewer said
    stored.die(stored.start(killed))
    assert _closes(_resumed(stored.runs)) == {
        "unit-0001": ("reject", "no reagent"),
        "unit-0002": ("fail", DIED_REASON),
    }


def test_a_nan_reading_of_an_unrecorded_experiment_is_a_failure() -> None:
    stored = Campaign(_planner())
    (item,) = stored.round(1)
    stored.finish(stored.start(item), math.nan, tell=False)
    assert _closes(_resumed(stored.runs)) == {"unit-0001": ("fail", f"{FIELD} read nan")}


def test_the_next_session_starts_after_the_never_run_suggestions_are_rejected() -> None:
    stored = Campaign(_planner())
    killed, never_run = stored.round(2)
    stored.die(stored.start(killed))
    resumed = _resumed(stored.runs)
    again = Campaign(resumed, session="s2")
    for item in again.round(1):
        again.finish(again.start(item), 0.9)
    again.end_round()

    history = campaign_records(stored.runs + again.runs).records
    decisions = [(r["event"], r.get("suggestion_id") or r.get("id")) for r in history]
    assert decisions == [
        ("suggest", "unit-0001"),
        ("suggest", "unit-0002"),
        ("fail", "unit-0001"),
        ("reject", "unit-0002"),
        ("suggest", "unit-0003"),
        ("observe", "unit-0003"),
    ]
    assert never_run.suggestion.id == "unit-0002"


def test_runs_stored_before_experiments_carried_records_still_resume() -> None:
    stored = Campaign(_planner())
    for item in stored.round(2):
        stored.finish(stored.start(item), 0.5)
    stored.end_round()
    rejected, kept = stored.round(2, approve=lambda s: ["no", True])
    assert not admit(stored.planner, rejected)
    run = stored.start(kept)
    stored.die(run)
    for key in ("planner_records", "planner_config", "objective_field"):
        del run.start[key]  # as campaign() stored experiments before

    resumed = _resumed(stored.runs)
    closes = _closes(resumed)
    assert closes["unit-0004"] == ("fail", DIED_REASON)
    assert "unit-0003" not in closes  # its rejection was never stored
    # but its id is not used again
    assert [s.id for s in resumed.suggest(1)] == ["unit-0005"]


def test_an_experiment_without_a_stop_document_is_not_guessed() -> None:
    stored = Campaign(_planner())
    (item,) = stored.round(1)
    stored.start(item)
    with pytest.raises(RuntimeError, match="no stop document"):
        campaign_records(stored.runs)
    with pytest.raises(LookupError, match="no planner configuration"):
        campaign_records([])


def test_new_ids_follow_the_largest_id_replayed() -> None:
    planner = _planner()
    planner.suggest(2)
    records = [r for r in planner.history if r["id"] != "unit-0001"]  # a gap
    restored = Planner.restore(planner.to_config(), records)
    restored.campaign_id = "unit"
    assert [s.id for s in restored.suggest(1)] == ["unit-0003"]
    assert id_number("unit-0042") == 42 and id_number("manual") == 0
