"""How many torch threads a suggestion computes on.

torch runs its CPU operations on a pool of OpenMP threads, one per core by
default. A suggestion from a few dozen observations is thousands of small
operations (an L-BFGS-B fit of a 20-point GP, an acquisition scored a few
hundred times), too small to gain from several threads, and each parallel
region still wakes the pool. With ``OMP_WAIT_POLICY=PASSIVE``, which the
Smart Lab kernel and the test suite set so that idle threads sleep instead
of spinning beside other work, every wake-up is a system call: on two cores
a suggestion from 20 observations took 1.3-2.2x as long on two threads as on
one with that setting, and 0.9-1.2x as long with OpenMP's default; from 100
observations on, one thread was sometimes faster and sometimes slower
(``docs/planner/benchmarks.md``, "One thread for small models").

So a suggestion from fewer than :data:`ONE_THREAD_BELOW` observations (the
suggestions that re-optimise the model's hyperparameters every time, see
:data:`~smartlab_kernel.planner.settings.REFIT_EVERY_BELOW`) runs on one
thread, and larger ones on the threads torch already has. The count
is never raised above what the process set (``torch.set_num_threads``).
One thread also takes the machine's core count out of these suggestions'
arithmetic (how reductions are split among threads); the processor's
instruction set can still change the last digits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: Below this many observations a suggestion runs torch on one thread.
ONE_THREAD_BELOW = 100


def threads_for(n_observations: int) -> int:
    """The torch threads a suggestion from ``n_observations`` observations uses.

    Args:
        n_observations: Observations of the model the suggestion fits.

    Returns:
        1 below :data:`ONE_THREAD_BELOW` observations, else the current
        ``torch.get_num_threads()``.
    """
    return 1 if n_observations < ONE_THREAD_BELOW else torch.get_num_threads()


@contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run the block with torch on at most ``threads`` threads; restore the count after.

    The count is only lowered, never raised. torch reads it per thread (the
    calling thread's OpenMP setting; a thread started later begins from the
    last count set), so a planner computing on a worker thread leaves the
    kernel's main thread as it was.

    Args:
        threads: The most threads the block uses (at least 1).

    Yields:
        The number of threads the block runs on.

    Raises:
        ValueError: If ``threads`` is less than 1.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    before = torch.get_num_threads()
    if threads >= before:
        yield before
        return
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


__all__ = ["ONE_THREAD_BELOW", "threads_for", "torch_threads"]
