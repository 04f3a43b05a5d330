"""A simulated clock moved by hand, to simulate days of a room in milliseconds."""

from __future__ import annotations

import math
import threading

from ..clock import SimClock


class SteppedClock(SimClock):
    """A :class:`SimClock` whose time only moves when :meth:`advance` is called.

    Reports, tests and known-answer checks use it to drive a room through a
    day or a week exactly; simulated waits (device statuses) take no real time.

    Args:
        start_s: Simulated time to start at, in seconds.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        super().__init__(1.0)
        self._now = float(start_s)
        self._step_lock = threading.Lock()

    def now(self) -> float:
        """Return the simulated time in seconds."""
        return self._now

    def real_seconds(self, simulated_seconds: float) -> float:
        """Simulated durations take no real time on a stepped clock."""
        return 0.0

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` and return the new time.

        Raises:
            ValueError: If ``seconds`` is negative or not finite.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"can only advance by a finite number >= 0 seconds, got {seconds!r}")
        with self._step_lock:
            self._now += float(seconds)
            return self._now
