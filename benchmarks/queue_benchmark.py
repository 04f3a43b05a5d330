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
request. Writes ``benchmarks/results/queue.json``. Needs PostgreSQL on
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
from pathlib import Path

from smartlab_kernel.serve.load import run_load
from smartlab_kernel.serve.sandbox import Sandbox

RESULTS = Path(__file__).parent / "results" / "queue.json"


def print_shipping_failures(logs: Path) -> None:
    """Print the lines of the server's logs that tell why runs were not shipped."""
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        wanted = [line for line in lines if "shipping" in line or "Error" in line]
        if wanted:
            print(f"--- {log.name}: {len(wanted)} lines about shipping or errors, the last 20:")
            print("\n".join(wanted[-20:]))


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
            report = run_load(sandbox, args.students, args.plans, timeout=args.timeout)
            if report.not_stored:  # say why before the sandbox and its logs go
                print_shipping_failures(Path(tmp) / "server" / "logs")
        finally:
            sandbox.close()
    result = {
        "benchmark": "queue",
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0]},
        "cpus": os.cpu_count(),
        "server_startup_s": round(startup_s, 2),
        **report.as_dict(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = not (report.lost or report.duplicated or report.failed)
    return 0 if ok and report.completed == args.students * args.plans else 1


if __name__ == "__main__":
    sys.exit(main())
