"""A bounded load test: simulated students submit plans and poll the queue, on loopback.

Used by ``tests/serve/test_load.py`` (small) and ``benchmarks/queue_benchmark.py``
(30 students x 5 plans).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..remote.lab import RemoteLab, RemoteRun
from ..session.errors import SessionError
from .sandbox import Sandbox


@dataclass
class LoadReport:
    """What a load run measured.

    Attributes:
        students: Simulated students.
        plans_per_student: Plans each submitted.
        submitted: Items accepted by the queue.
        completed: Of those, items in the history as completed.
        lost: Item uids submitted but never in the history.
        duplicated: Item uids in the history more than once.
        failed: Item uids that ended other than completed.
        wall_s: From the first submission to the last item's end.
        throughput_per_s: Completed items per second over ``wall_s``.
        status_calls: Status requests made while polling (refused ones too).
        status_latency_p50_s, status_latency_p95_s, status_latency_max_s: Their latency.
        errors: Errors students met (message -> count); a student keeps polling
            after a refused poll, as a person would.
        runs: Bluesky runs the completed items recorded.
        not_stored: Of those, runs whose stop document did not reach the
            catalog before the timeout (the server ships in the background).
        stored_after_s: From the first submission until every run was in the catalog.
        queue_done_s: From the first submission until every student had seen
            all their plans end (within one poll interval).
        catalog_lag_s: ``stored_after_s - queue_done_s``: how far the catalog
            was behind the queue (within the one-second check interval).
    """

    students: int
    plans_per_student: int
    submitted: int = 0
    completed: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    throughput_per_s: float = 0.0
    status_calls: int = 0
    status_latency_p50_s: float = 0.0
    status_latency_p95_s: float = 0.0
    status_latency_max_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    not_stored: list[str] = field(default_factory=list)
    stored_after_s: float = 0.0
    queue_done_s: float = 0.0
    catalog_lag_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return asdict(self)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait_stored(lab: RemoteLab, uids: set[str], deadline: float) -> list[str]:
    """Wait until every run's stop document is in the catalog; return those that are not.

    Asks once a second with one paged search of the runs (see :func:`stopped_runs`):
    a request per run took longer than the catalog's own lag (150 runs one after
    the other on a busy 2-core machine: 15-20 s) and was what the figure measured.
    """
    pending = set(uids)
    while pending and time.monotonic() < deadline:
        stopped = stopped_runs(lab)
        if stopped is None:  # a catalog that cannot search: one request per run
            pending = {uid for uid in pending if not lab._has_stop_document(uid)}
        else:
            pending -= stopped
        if pending:
            time.sleep(1.0)
    return sorted(pending)


def stopped_runs(lab: RemoteLab, page: int = 300) -> set[str] | None:
    """Uids of the runs visible to ``lab``'s user whose stop document the catalog holds.

    Pages through a search of the runs, asking each only for its stop's uid
    (tiled's ``select_metadata``): a request per ``page`` runs, and one more
    that comes back empty. ``None`` if the catalog refuses the search.
    """
    found: set[str] = set()
    offset = 0
    while True:
        body = lab._catalog_get(
            "search/runs",
            {
                "fields": "metadata",
                "select_metadata": "{stop: stop.uid}",
                "omit_links": "true",
                "page[offset]": offset,
                "page[limit]": page,
            },
            timeout=30,
        )
        if body is None:
            return None
        entries = body.get("data") or []
        if not entries:
            return found
        for entry in entries:
            selected = (entry.get("attributes", {}).get("metadata") or {}).get("selected") or {}
            if selected.get("stop"):
                found.add(entry["id"])
        offset += len(entries)


def run_load(
    sandbox: Sandbox,
    students: int,
    plans_per_student: int,
    timeout: float = 300.0,
    poll_interval: float = 0.5,
    stored_grace: float = 0.0,
    wait_stored: bool = True,
) -> LoadReport:
    """Have ``students`` students (``student01``...) each submit plans, then poll until done.

    Afterwards, with ``wait_stored``, waits (until ``timeout``, plus
    ``stored_grace`` seconds) for every run to be complete in the catalog,
    and reports those that are not.

    Raises:
        TimeoutError: If the plans have not all ended within ``timeout`` seconds.
    """
    report = LoadReport(students=students, plans_per_student=plans_per_student)
    latencies: list[float] = []
    runs: list[RemoteRun] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + timeout

    def student(index: int) -> None:
        lab = RemoteLab(sandbox.url, api_key=sandbox.keys[f"student{index:02d}"])
        mine = []
        try:
            for number in range(plans_per_student):
                temperature = 30.0 + (index * plans_per_student + number) % 90
                mine.append(
                    lab.submit("measure", a_ml=0.5, b_ml=0.5, temperature_c=temperature, hold_s=5.0)
                )
            with lock:
                runs.extend(mine)
            remaining = {r.item_uid for r in mine}
            while remaining and time.monotonic() < deadline:
                time.sleep(poll_interval)
                began = time.perf_counter()
                try:
                    lab._call("status", reload=True)
                except SessionError as exc:  # a refused poll counts, with its latency
                    with lock:
                        latencies.append(time.perf_counter() - began)
                        errors[f"status: {str(exc)[:80]}"] += 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - began)
                try:
                    done = {h["item_uid"] for h in lab.history() if h["mine"]}
                except SessionError as exc:  # the student polls again, as a person would
                    with lock:
                        errors[f"history: {str(exc)[:80]}"] += 1
                    continue
                remaining -= done
        except Exception as exc:
            with lock:
                errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
        finally:
            lab.close()

    threads = [
        threading.Thread(target=student, args=(i,), daemon=True) for i in range(1, students + 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic()) + 30)
    report.queue_done_s = round(time.monotonic() - start, 3)

    ta = RemoteLab(sandbox.url, api_key=sandbox.keys["ta"])
    submitted = {r.item_uid for r in runs}
    try:
        history = ta._call("history_get")["items"]
        run_uids = {
            uid
            for item in history
            if item["item_uid"] in submitted
            for uid in item.get("result", {}).get("run_uids", [])
        }
        report.runs = len(run_uids)
        if wait_stored:
            report.not_stored = _wait_stored(ta, run_uids, deadline + stored_grace)
            report.stored_after_s = round(time.monotonic() - start, 3)
            report.catalog_lag_s = round(report.stored_after_s - report.queue_done_s, 3)
    finally:
        ta.close()
    counts = Counter(item["item_uid"] for item in history if item["item_uid"] in submitted)
    ours = [item for item in history if item["item_uid"] in submitted]
    report.submitted = len(submitted)
    report.completed = sum(item["result"]["exit_status"] == "completed" for item in ours)
    report.lost = sorted(submitted - set(counts))
    report.duplicated = sorted(uid for uid, n in counts.items() if n > 1)
    report.failed = sorted(
        item["item_uid"] for item in ours if item["result"]["exit_status"] != "completed"
    )
    if ours:
        first = min(item["result"]["time_start"] for item in ours)
        last = max(item["result"]["time_stop"] for item in ours)
        report.wall_s = round(last - first, 3)
        report.throughput_per_s = round(report.completed / max(last - first, 1e-9), 3)
    report.status_calls = len(latencies)
    report.status_latency_p50_s = round(_percentile(latencies, 0.50), 4)
    report.status_latency_p95_s = round(_percentile(latencies, 0.95), 4)
    report.status_latency_max_s = round(max(latencies, default=0.0), 4)
    report.errors = dict(errors)
    if report.lost and time.monotonic() > deadline:
        raise TimeoutError(f"{len(report.lost)} plans not done after {timeout} s: {report}")
    return report
