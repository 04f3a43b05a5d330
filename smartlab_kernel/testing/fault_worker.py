"""A campaign to kill for the fault campaign: ``python -m smartlab_kernel.testing.fault_worker``.

It opens ``Lab.simulated`` (with a LIMS) on ``DIRECTORY``, runs a closed-loop
campaign of the bench planner, and notes what the bench really did in
``NOTES`` (see :class:`~smartlab_kernel.testing.fault_truth.TruthRecorder`),
one line per start and per event, written after the lab's journal has the
document. :func:`~smartlab_kernel.testing.fault_campaign.kill_trial` kills
it with ``SIGKILL`` at a random point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..campaign.loop import bench_planner, campaign
from ..session import Lab
from .fault_campaign import STOCKS, TIME_SCALE
from .fault_truth import TruthRecorder


def main(argv: Sequence[str] | None = None) -> int:
    """Run the campaign; return the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", type=Path, help="lab directory")
    parser.add_argument("notes", type=Path, help="file the bench's notes go to")
    parser.add_argument("--campaign-id", required=True, help="the campaign's id")
    parser.add_argument("--seed", type=int, default=0, help="bench and planner seed")
    parser.add_argument("--budget", type=int, default=4, help="experiments to run")
    parser.add_argument("--batch", type=int, default=1, help="suggestions per round")
    args = parser.parse_args(argv)

    lab = Lab.simulated(
        seed=args.seed,
        directory=args.directory,
        time_scale=TIME_SCALE,
        stocks=STOCKS,
        lims=True,
        device_timeout=5.0,
    )
    assert lab.bench is not None
    notes = TruthRecorder(lab.bench.world, args.notes)
    lab.subscribe(notes)
    planner = bench_planner(seed=args.seed, initial_design=args.budget)
    planner.campaign_id = args.campaign_id
    lab.submit(campaign(lab, planner, budget=args.budget, batch=args.batch)).wait()
    lab.close()
    notes.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
