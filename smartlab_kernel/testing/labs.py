"""Start simulated labs for tests, and always close them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..session import Lab

#: Simulated seconds per real second used by test labs: a 10-minute hold takes 0.3 s.
TEST_TIME_SCALE = 2000.0


@contextmanager
def simulated_lab(
    directory: str | Path,
    seed: int = 0,
    *,
    time_scale: float = TEST_TIME_SCALE,
    device_timeout: float = 2.0,
    **kwargs: Any,
) -> Iterator[Lab]:
    """Run a simulated lab in ``directory`` for a ``with`` block, then close it.

    Tests usually pass pytest's ``tmp_path``::

        with simulated_lab(tmp_path) as lab:
            run = lab.submit(my_plan(**plan_devices(lab)))
            run.wait(30)

    Args:
        directory: Folder for the journal and the embedded catalog.
        seed: Seed of every random draw.
        time_scale: Simulated seconds per real second (fast by default).
        device_timeout: Real seconds before a faulty device operation fails
            (short, so fault tests are quick).
        **kwargs: Passed to :meth:`Lab.simulated` (``operator``, ``stocks``, ...).

    Yields:
        The lab; it is closed on exit, also when the block raises.
    """
    lab = Lab.simulated(
        seed=seed,
        directory=directory,
        time_scale=time_scale,
        device_timeout=device_timeout,
        **kwargs,
    )
    try:
        yield lab
    finally:
        lab.close()
