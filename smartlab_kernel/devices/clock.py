"""Simulated time: a clock that can run faster than the wall clock."""

from __future__ import annotations

import math
import threading
import time


class SimClock:
    """A monotonic clock whose seconds pass ``time_scale`` times faster than real ones.

    Every simulated device asks this clock what time it is and how long (in
    real seconds) to wait for a simulated duration, so a whole bench can be
    sped up for tests and demos while keeping realistic dynamics.

    Args:
        time_scale: Simulated seconds per real second; ``1.0`` is real time.

    Raises:
        ValueError: If ``time_scale`` is not a finite number greater than zero.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if (
            isinstance(time_scale, bool)
            or not isinstance(time_scale, int | float)
            or not math.isfinite(time_scale)
            or time_scale <= 0
        ):
            raise ValueError(
                f"time_scale must be a finite number > 0 (simulated seconds per real second), "
                f"got {time_scale!r}"
            )
        self.time_scale = float(time_scale)
        self._real_start = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the simulated time in seconds since the clock was created."""
        return (time.monotonic() - self._real_start) * self.time_scale

    def real_seconds(self, simulated_seconds: float) -> float:
        """Convert a simulated duration to the real seconds it takes."""
        return max(0.0, simulated_seconds) / self.time_scale

    def sleep(self, simulated_seconds: float) -> None:
        """Block the calling thread for a simulated duration."""
        time.sleep(self.real_seconds(simulated_seconds))
