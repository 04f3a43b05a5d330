"""A part of the test suite with torch's OpenMP threads passive (as now) and spinning.

``tests/conftest.py`` sets ``OMP_WAIT_POLICY=PASSIVE`` (unless it is already
set) before anything imports torch, because the suite runs three workers on
two cores beside the kernels and servers it starts. This runs the same tests
with ``PASSIVE`` and with OpenMP's default (``OMP_WAIT_POLICY`` unset, and
``SMARTLAB_OMP_DEFAULT=1`` so that the conftest leaves it so: each thread
spins for about 3 ms after each parallel region), alternating, and reports
the wall times and their ratio.

Usage::

    python benchmarks/suite_contention.py [--tests tests/planner] [--rounds 2] \
        [--workers 3] [--out benchmarks/results/suite_contention.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Label -> environment of the test run.
POLICIES = {
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "default": {"SMARTLAB_OMP_DEFAULT": "1"},
}


def run_tests(tests: list[str], workers: int, policy: str) -> float:
    """Wall seconds of one pytest run of ``tests`` with OpenMP's ``policy``.

    Raises:
        RuntimeError: If a test fails (a timing of a failing run means nothing).
    """
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(POLICIES[policy])
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *tests], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"tests failed with OpenMP {policy}:\n{done.stdout[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", nargs="+", default=["tests/planner"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/suite_contention.json"))
    args = parser.parse_args()
    times: dict[str, list[float]] = {policy: [] for policy in POLICIES}
    for round_ in range(args.rounds):
        order = list(POLICIES) if round_ % 2 == 0 else list(POLICIES)[::-1]
        for policy in order:
            seconds = run_tests(args.tests, args.workers, policy)
            times[policy].append(round(seconds, 1))
            print(f"round {round_ + 1}: {policy}: {seconds:.1f} s", flush=True)
    best = {policy: min(values) for policy, values in times.items()}
    passive, default = best["passive"], best["default"]
    ratio = default / passive
    print(f"best of {args.rounds}: passive {passive:.1f} s, default {default:.1f} s")
    print(f"default / passive: {ratio:.2f}")
    report = {
        "tests": args.tests,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "seconds": times,
        "best_s": best,
        "default_over_passive": round(ratio, 3),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
