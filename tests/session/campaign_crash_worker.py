"""A campaign to kill: runs ``campaign()`` on a simulated lab and reports its progress in a file.

Run as ``python tests/session/campaign_crash_worker.py DIRECTORY PROGRESS --campaign-id=ID``.
It opens ``Lab.simulated`` on ``DIRECTORY`` and runs a closed-loop campaign
of the bench planner. One line is appended to ``PROGRESS`` (with a single
``write`` on an ``O_APPEND`` descriptor, so it is in the file once the call
returns) when a ``measure_recipe`` run's start document is journaled
(``start <suggestion id>``) and after each result (``result <suggestion id>``).
The test kills the process with ``SIGKILL`` after a chosen number of lines
(see :func:`smartlab_kernel.testing.kill_process_during_run`): after ``2k``
lines it has ``k`` results and is between experiments, after ``2k + 1`` it is
inside experiment ``k + 1``. If it is not killed it finishes the campaign,
closes the lab and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smartlab_kernel import Lab
from smartlab_kernel.campaign.loop import ExperimentResult, bench_planner, campaign


class Progress:
    """Appends one line per journaled experiment start and per result to a file.

    Args:
        path: The file (created if missing).
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def document(self, name: str, doc: dict[str, Any]) -> None:
        """Note a journaled experiment start (a RunEngine subscriber)."""
        if name == "start" and doc.get("plan_name") == "measure_recipe":
            os.write(self._fd, f"start {doc['suggestion']['id']}\n".encode())

    def result(self, result: ExperimentResult) -> None:
        """Note a result the planner was told (the campaign's ``on_result``)."""
        os.write(self._fd, f"result {result.suggestion.id}\n".encode())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the campaign; return the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", type=Path, help="lab directory (journal and catalog)")
    parser.add_argument("progress", type=Path, help="file the progress lines go to")
    parser.add_argument("--campaign-id", required=True, help="the campaign's id")
    parser.add_argument("--seed", type=int, default=0, help="bench and planner seed")
    parser.add_argument("--initial-design", type=int, default=3, help="initial-design points")
    parser.add_argument("--budget", type=int, default=10, help="experiments to run")
    parser.add_argument("--batch", type=int, default=1, help="suggestions per round")
    parser.add_argument("--time-scale", type=float, default=5000.0, help="simulated s per s")
    args = parser.parse_args(argv)

    lab = Lab.simulated(seed=args.seed, directory=args.directory, time_scale=args.time_scale)
    progress = Progress(args.progress)
    lab.subscribe(progress.document)  # after the lab's journal: a line means "journaled"
    planner = bench_planner(seed=args.seed, initial_design=args.initial_design)
    planner.campaign_id = args.campaign_id
    plan = campaign(lab, planner, budget=args.budget, batch=args.batch, on_result=progress.result)
    lab.submit(plan).wait()
    lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
