"""Throughput of the shared queue and latency of status polling under a class's load.

    python benchmarks/queue_benchmark.py                      # 30 students x 5 plans
    python benchmarks/queue_benchmark.py --students 10 --plans 3

Starts a throwaway lab server (``smartlab_kernel.serve.sandbox.Sandbox``: its own
PostgreSQL database and Redis key prefix, free ports on 127.0.0.1), then each
simulated student (a thread with its own key and HTTP client) submits its plans
(``measure``, 5 simulated seconds of reaction) and polls the queue status every
0.5 s until all its plans have run. Checks that every plan ran exactly once and
none was lost, and reports queue throughput (completed items per second from
the first start to the last stop) and the p50 / p95 / max latency of the status
request.

Then it waits until every run the plans recorded is complete (its stop
document stored) in the served catalog, which the server fills in the
background behind the queue, and reports ``catalog_behind_queue_s``: from
the end of the last plan to the moment the last run was complete there. The
wait asks about one run at a time, in the order the plans ended (the order
the server ships them), on one kept-alive connection, 0.2 s apart while that
run is not there yet: about one request per run. (Asking about every missing
run once a second, as ``run_load`` does for the load test, is some 150
requests a second at the start, each costing tiled's CPU as much as a
write, so it slowed the very shipping it timed.)

It also reports the CPU seconds each service used from the first submission
until the catalog held everything (``service_cpu_s``: tiled, the RE Manager,
its worker, which runs the plans and ships the runs, and the HTTP server;
``students``: this process), figures that do not move with other load on
the machine the way times do.

Writes ``benchmarks/results/queue.json``. Needs PostgreSQL on
127.0.0.1:5432 and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from smartlab_kernel.remote import RemoteLab
from smartlab_kernel.serve.load import run_load
from smartlab_kernel.serve.sandbox import Sandbox

RESULTS = Path(__file__).parent / "results" / "queue.json"

#: Seconds between two questions about a run that is not in the catalog yet.
CHECK_INTERVAL = 0.2


@dataclass
class CatalogWait:
    """How long the served catalog took to hold every run of the queue's plans.

    Attributes:
        runs: Runs the plans recorded.
        not_stored: Runs not complete in the catalog before the deadline.
        queue_end: When the last plan ended (epoch seconds, the queue's clock).
        stored_at: When the last run was complete in the catalog (epoch seconds).
        checks: Requests the wait made.
    """

    runs: list[str] = field(default_factory=list)
    not_stored: list[str] = field(default_factory=list)
    queue_end: float = 0.0
    stored_at: float = 0.0
    checks: int = 0


def _runs_in_queue_order(sandbox: Sandbox) -> tuple[list[str], float]:
    """Every run of the history's items, ordered by their item's end; and the last end."""
    ta = RemoteLab(sandbox.url, api_key=sandbox.keys["ta"])
    try:
        items = ta._call("history_get")["items"]
    finally:
        ta.close()
    ended = sorted(
        (item for item in items if item.get("result", {}).get("time_stop")),
        key=lambda item: item["result"]["time_stop"],
    )
    runs = [uid for item in ended for uid in item["result"].get("run_uids", [])]
    return runs, max((item["result"]["time_stop"] for item in ended), default=0.0)


def wait_in_catalog(sandbox: Sandbox, deadline: float) -> CatalogWait:
    """Wait (until the monotonic ``deadline``) for every run's stop document in the catalog.

    Args:
        sandbox: The lab server the plans ran on.
        deadline: ``time.monotonic()`` value to give up at.

    Returns:
        What was waited for and when it was all there.
    """
    wait = CatalogWait()
    wait.runs, wait.queue_end = _runs_in_queue_order(sandbox)
    base = f"{sandbox.config.catalog_url}/api/v1/metadata/runs"
    headers = {"Authorization": f"Apikey {sandbox.keys['ta']}", "Accept": "application/json"}
    pending = list(wait.runs)
    with httpx.Client(headers=headers, timeout=30.0) as http:
        while pending and time.monotonic() < deadline:
            wait.checks += 1
            try:
                response = http.get(
                    f"{base}/{pending[0]}", params={"fields": "metadata", "omit_links": True}
                )
                complete = response.status_code == 200 and bool(
                    response.json()["data"]["attributes"]["metadata"].get("stop")
                )
            except httpx.HTTPError:
                complete = False  # busy or restarting: ask again
            if complete:
                pending.pop(0)
                wait.stored_at = time.time()
            else:
                time.sleep(CHECK_INTERVAL)
    wait.not_stored = pending
    return wait


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_pids(sandbox: Sandbox) -> dict[str, int | None]:
    """The process of each service of the lab server."""
    pids: dict[str, int | None] = {
        name: sandbox.server.pid(name) for name in ("tiled", "re-manager", "http-server")
    }
    pids["re-worker"] = sandbox.server.worker_pid()
    return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--plans", type=int, default=5, help="plans per student")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        sandbox = Sandbox(Path(tmp) / "server", students=args.students)
        started = time.monotonic()
        try:
            sandbox.start()
            startup_s = time.monotonic() - started
            pids = service_pids(sandbox)
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            students_before = sum(os.times()[:2])
            first_submission = time.time()
            deadline = time.monotonic() + args.timeout
            report = run_load(
                sandbox, args.students, args.plans, timeout=args.timeout, wait_stored=False
            )
            catalog = wait_in_catalog(sandbox, deadline)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            cpu["students"] = sum(os.times()[:2]) - students_before
        finally:
            sandbox.close()
    stored: dict[str, Any] = {
        "runs": len(catalog.runs),
        "not_stored": catalog.not_stored,
        "stored_after_s": round(catalog.stored_at - first_submission, 3),
        "catalog_behind_queue_s": round(catalog.stored_at - catalog.queue_end, 3),
        "catalog_checks": catalog.checks,
        "service_cpu_s": {name: round(seconds, 1) for name, seconds in cpu.items()},
    }
    result = {
        "benchmark": "queue",
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0]},
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "server_startup_s": round(startup_s, 2),
        **report.as_dict(),
        **stored,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = not (report.lost or report.duplicated or report.failed or catalog.not_stored)
    return 0 if ok and report.completed == args.students * args.plans else 1


if __name__ == "__main__":
    sys.exit(main())
