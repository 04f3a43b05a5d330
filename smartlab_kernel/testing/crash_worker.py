"""A process to kill: runs a long plan on a simulated lab with an event side channel.

Run as ``python -m smartlab_kernel.testing.crash_worker DIRECTORY SIDE_CHANNEL``
(see :func:`smartlab_kernel.testing.crash_worker_command`). It opens
``Lab.simulated`` on ``DIRECTORY`` (recovering runs an earlier killed worker
left), puts a vial under the spectrometer, subscribes an
:class:`~smartlab_kernel.testing.side_channel.EventSideChannel` after the
lab's durable capture, and counts the spectrometer ``--events`` times. It is
meant to be killed half-way; if it is not, it closes the lab and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import bluesky.plans as bp

from ..session import Lab
from .side_channel import EventSideChannel


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="lab directory (journal and catalog)")
    parser.add_argument("side_channel", help="file the event side channel appends to")
    parser.add_argument("--events", type=int, default=100_000, help="events to record")
    parser.add_argument("--seed", type=int, default=0, help="bench seed")
    parser.add_argument("--delay", type=float, default=0.0, help="real seconds between events")
    args = parser.parse_args(argv)

    lab = Lab.simulated(seed=args.seed, directory=args.directory, time_scale=10_000.0)
    bench = lab.bench
    assert bench is not None
    bench.world.new_vial("spectrometer")
    bench.spectrometer.integration_time.put(0.01)
    side_channel = EventSideChannel(args.side_channel)
    lab.subscribe(side_channel)  # after the lab's journal: a line means "journaled"
    run = lab.submit(
        bp.count([bench.spectrometer], num=args.events, delay=args.delay),
        md={"purpose": "crash test"},
    )
    run.wait()
    lab.close()
    side_channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
