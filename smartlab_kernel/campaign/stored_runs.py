"""Reading a campaign's runs back from the catalog, and rebuilding its planner's records.

The catalog is the truth about a campaign: every experiment is a
``measure_recipe`` run whose start document names its suggestion, and whose
stop document says how it ended. The planner's records reach the catalog in
two ways: after each round in a ``planner_record`` run, and, for the round
under way, in each experiment's start document (the records made since the
previous experiment). A process killed in the middle of a round leaves no
``planner_record`` for it; :func:`campaign_records` then completes the
records from the experiments themselves (see that function).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..planner.history import make_record

MEASURE_PLAN = "measure_recipe"
RECORD_PLAN = "planner_record"
#: The event field a campaign reads its objective from unless its runs say otherwise.
OBJECTIVE_FIELD = "spectrometer_readout"
#: Why a suggestion found open when a campaign is rebuilt is closed as rejected.
NOT_RUN_REASON = "not run: the campaign stopped before this suggestion was run"


def campaign_runs(catalog: Any, campaign_id: str, plan_name: str = MEASURE_PLAN) -> list[Any]:
    """Stored runs of ``campaign_id`` made by ``plan_name``, oldest first."""
    from tiled.queries import Key

    found = catalog.search(Key("start.campaign_id") == campaign_id).search(
        Key("start.plan_name") == plan_name
    )
    return sorted((found[uid] for uid in found), key=lambda r: float(r.metadata["start"]["time"]))


def stored_readout(run: Any, field_name: str = OBJECTIVE_FIELD) -> float | None:
    """The first value of ``field_name`` in a successful run, else ``None``."""
    if (run.metadata.get("stop") or {}).get("exit_status") != "success":
        return None
    return float(run["primary"].read()[field_name].values[0])


@dataclass
class CampaignHistory:
    """A campaign's planner, as the catalog records it.

    Attributes:
        config: The planner's configuration (the latest one stored).
        records: Its records, oldest first, ready for :meth:`Planner.restore`.
        recovered: What was rebuilt from the experiments rather than read
            from stored records, one line each (empty after a clean stop).
    """

    config: dict[str, Any]
    records: list[dict[str, Any]]
    recovered: list[str] = field(default_factory=list)


def campaign_records(
    runs: Sequence[Any], objective: str | None = None, field_name: str = OBJECTIVE_FIELD
) -> CampaignHistory:
    """Rebuild a campaign's planner records from its stored runs.

    ``runs`` are the campaign's ``planner_record`` and ``measure_recipe`` runs
    (catalog nodes) in the order they started. Their stored records are taken
    in that order, each once. Then every experiment is made an observation or
    a failure of the planner exactly once, as its run ended:

    - an experiment without a stored decision (its process died before the
      round's ``planner_record``) is closed from its run: observed with the
      stored value if it succeeded and read a finite value, else failed with
      the stop document's reason, which for a run closed by recovery is
      :data:`~smartlab_kernel.storage.DIED_REASON` ("process died ...");
    - its suggestion, if no stored record made it, is rebuilt from the start
      document (runs of campaigns from before records were stored with them);
    - suggestions still open when their session ended were never run, and
      are rejected with :data:`NOT_RUN_REASON`, so a resumed campaign does
      not wait for them.

    Args:
        runs: The campaign's runs, oldest first.
        objective: The objective's name (default: the stored configuration's first).
        field_name: Event field holding the objective's value, for runs that do
            not record their ``objective_field``.

    Raises:
        LookupError: If no run holds a planner configuration.
        RuntimeError: If an experiment has no stop document yet (it still runs,
            or recovery has not shipped it yet: ``lab.wait()`` first).
    """
    starts = [dict(run.metadata["start"]) for run in runs]
    configs = [start["planner_config"] for start in starts if start.get("planner_config")]
    if not configs:
        raise LookupError("no planner configuration in these runs")
    config = dict(configs[-1])
    rebuilt = _Rebuild(objective or str(config["objectives"][0]["name"]), field_name, starts)
    for run, start in zip(runs, starts, strict=True):
        rebuilt.add(run, start)
    rebuilt.session_ended()
    return CampaignHistory(config, rebuilt.records, rebuilt.recovered)


class _Rebuild:
    """The records :func:`campaign_records` has rebuilt so far, while it walks the runs.

    Args:
        objective: The objective's name.
        field_name: Event field of the objective, for runs that do not record theirs.
        starts: Every run's start document (to know which experiments a stored
            record closes, possibly in a later run).
    """

    def __init__(
        self, objective: str, field_name: str, starts: Iterable[Mapping[str, Any]]
    ) -> None:
        self.objective = objective
        self.field_name = field_name
        self.records: list[dict[str, Any]] = []
        self.recovered: list[str] = []
        self.suggested: dict[str, dict[str, Any]] = {}  # id -> suggested params
        self.open: dict[str, None] = {}  # ids of open suggestions, in order
        self.session: Any = None
        self.last_time = 0.0
        self.n_batches = 0
        self.stored_closes = {
            str(record["suggestion_id"])
            for start in starts
            for record in start.get("planner_records") or []
            if record.get("event") != "suggest" and record.get("suggestion_id") is not None
        }

    def add(self, run: Any, start: Mapping[str, Any]) -> None:
        """Take one run's stored records, then close its experiment if no stored record does."""
        if self.session is not None and start.get("lab_session") != self.session:
            self.session_ended()
        self.session = start.get("lab_session")
        self.last_time = max(self.last_time, float(start.get("time", 0.0)))
        for record in start.get("planner_records") or []:
            self.emit(dict(record))
        if start.get("plan_name") != MEASURE_PLAN or "suggestion" not in start:
            return
        sid = str(start["suggestion"]["id"])
        if sid not in self.suggested:
            self.emit(self._rebuilt_suggestion(start))
            self.recovered.append(f"suggestion {sid}: rebuilt from run {start['uid']}")
        if sid in self.open and sid not in self.stored_closes:
            self.emit(self._close(run, start))

    def emit(self, record: dict[str, Any]) -> None:
        """Append ``record`` unless it repeats one taken already or cannot apply."""
        if record.get("event") == "suggest":
            if record["id"] in self.suggested:
                return
            self.suggested[record["id"]] = dict(record["params"])
            self.open[record["id"]] = None
            self.n_batches = max(self.n_batches, int(record["batch"]) + 1)
        else:
            sid = record.get("suggestion_id")
            if sid is not None:
                if sid not in self.open:
                    return  # closed already (or never suggested): once only
                del self.open[sid]
        self.records.append(record)

    def session_ended(self) -> None:
        """Reject the suggestions still open at the end of a session: they never ran."""
        for sid in list(self.open):
            record = make_record(
                "reject",
                decision="reject",
                suggestion_id=sid,
                suggested=self.suggested[sid],
                reason=NOT_RUN_REASON,
            )
            record["time"] = _iso(self.last_time)
            self.emit(record)
            self.recovered.append(f"suggestion {sid}: rejected, never run")

    def _rebuilt_suggestion(self, start: Mapping[str, Any]) -> dict[str, Any]:
        suggestion = start["suggestion"]
        predicted = suggestion.get("predicted") or None
        record = make_record(
            "suggest",
            id=suggestion["id"],
            batch=self.n_batches,
            params=suggestion["params"],
            predicted=predicted,
            reason=suggestion.get("reason", ""),
            model={"kind": "initial_design" if predicted is None else "rebuilt"},
        )
        record["time"] = _iso(float(start["time"]))
        return record

    def _close(self, run: Any, start: Mapping[str, Any]) -> dict[str, Any]:
        """The observation or failure of an experiment, from its stored run."""
        stop = run.metadata.get("stop")
        if not stop:
            raise RuntimeError(
                f"experiment {start['uid']} of campaign {start.get('campaign_id')!r} has no "
                "stop document: it is still running, or recovery has not shipped it yet "
                "(lab.wait() first)"
            )
        self.last_time = max(self.last_time, float(stop.get("time", 0.0)))
        suggestion = start["suggestion"]
        sid = str(suggestion["id"])
        suggested = dict(suggestion["params"])
        executed = dict(start.get("executed") or suggested)
        common = {"suggestion_id": sid, "suggested": suggested, "executed": executed}
        reason = str(
            stop.get("reason") or f"the run ended with exit status {stop.get('exit_status')!r}"
        )
        if stop.get("exit_status") == "success":
            field_name = str(start.get("objective_field") or self.field_name)
            value = float(run["primary"].read()[field_name].values[0])
            if math.isfinite(value):
                record = make_record(
                    "observe",
                    decision=_decision(suggestion.get("decision"), suggested, executed),
                    outcomes={self.objective: value},
                    **common,
                )
                self.recovered.append(f"experiment {sid}: observed from run {start['uid']}")
                record["time"] = _iso(float(stop["time"]))
                return record
            reason = f"{field_name} read {value}"
        record = make_record("fail", decision="fail", reason=reason, **common)
        record["time"] = _iso(float(stop.get("time", start["time"])))
        self.recovered.append(f"experiment {sid}: failed from run {start['uid']} ({reason})")
        return record


def _decision(recorded: Any, suggested: dict[str, Any], executed: dict[str, Any]) -> str:
    """The decision of an observation, as :meth:`Planner.observe` names it."""
    if recorded == "auto":
        return "auto"
    return "accept" if executed == suggested else "edit"


def _iso(unix_time: float) -> str:
    """A record timestamp (ISO 8601, UTC) for a document's ``time``."""
    return datetime.datetime.fromtimestamp(unix_time, datetime.UTC).isoformat()
