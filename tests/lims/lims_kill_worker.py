"""A process to kill -9 mid-run: a recipe run on ``Lab.simulated(lims=True)``.

Run as ``python lims_kill_worker.py DIRECTORY MODE`` (see ``test_lims_kill9.py``):

* ``hold``: the dispense succeeds, then the reactor holds for a day of
  simulated time; the test kills the process during the hold.
* ``dispense``: pump ``a`` dispenses, pump ``b`` hangs (a ``timeout`` fault
  with a long device timeout); the test kills the process while it hangs.
"""

from __future__ import annotations

import sys

from smartlab_kernel import Lab
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.testing import plan_devices

RECIPE = {"a": 2.0, "b": 1.0}


def main(directory: str, mode: str) -> int:
    """Start the lab and the run, then wait for it (the test kills the process first)."""
    lab = Lab.simulated(seed=0, directory=directory, time_scale=1000, lims=True)
    bench = lab.bench
    assert bench is not None
    if mode == "dispense":
        bench.dispenser.b.timeout = 120.0
        bench.dispenser.b.faults.inject("timeout")
    hold_s = 86400.0 if mode == "hold" else 10.0
    run = lab.submit(
        measure_recipe(Recipe(RECIPE, hold_s=hold_s), **plan_devices(lab)), campaign_id="kill9"
    )
    run.wait()
    lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
