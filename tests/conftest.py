"""Fixtures shared by the whole test suite (they ship in ``smartlab_kernel.testing``)."""

import os

# Before anything imports torch (the plugin below does): torch's OpenMP threads
# sleep between parallel regions instead of spinning. The suite runs three
# workers on two cores, beside kernels and servers it starts (which inherit
# this), and spinning threads slowed all of them; see docs/how-to/use-the-kernel.md.
# SMARTLAB_OMP_DEFAULT=1 leaves OpenMP as it is (benchmarks/suite_contention.py).
if os.environ.get("SMARTLAB_OMP_DEFAULT") != "1":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

pytest_plugins = ["smartlab_kernel.testing.pytest_plugin"]
