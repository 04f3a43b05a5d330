"""First-order dynamics anchored in simulated time (no background thread)."""

from __future__ import annotations

import math
import threading


class FirstOrder:
    """A quantity that relaxes exponentially towards a target.

    ``x(t) = target + (x0 - target) * exp(-(t - t0) / tau)``. When the target
    or the time constant changes, :meth:`retarget` evaluates the old
    trajectory at that instant and starts a new one from there, so the curve
    stays continuous whatever the order of changes.

    Args:
        value: Starting value.
        t0: Simulated time of the start, in seconds.
        tau: Time constant in simulated seconds (``math.inf``: never moves).

    Raises:
        ValueError: If ``tau`` is not greater than zero.
    """

    def __init__(self, value: float, t0: float = 0.0, tau: float = math.inf) -> None:
        self._check_tau(tau)
        self._x0 = float(value)
        self._t0 = float(t0)
        self._target = float(value)
        self._tau = float(tau)
        self._lock = threading.Lock()

    @staticmethod
    def _check_tau(tau: float) -> None:
        if not tau > 0:
            raise ValueError(f"time constant must be > 0 simulated seconds, got {tau!r}")

    @property
    def target(self) -> float:
        """The value it relaxes towards."""
        return self._target

    @property
    def tau(self) -> float:
        """The time constant in simulated seconds."""
        return self._tau

    def _at(self, t: float) -> float:
        if math.isinf(self._tau) or t <= self._t0:
            return self._x0
        return self._target + (self._x0 - self._target) * math.exp(-(t - self._t0) / self._tau)

    def value_at(self, t: float) -> float:
        """Return the value at simulated time ``t``."""
        with self._lock:
            return self._at(t)

    def retarget(self, t: float, target: float, tau: float | None = None) -> None:
        """From time ``t`` on, relax towards ``target`` with time constant ``tau``."""
        if tau is not None:
            self._check_tau(tau)
        with self._lock:
            self._x0 = self._at(t)
            self._t0 = float(t)
            self._target = float(target)
            if tau is not None:
                self._tau = float(tau)

    def add(self, t: float, delta: float) -> None:
        """Step the value by ``delta`` at time ``t`` (e.g. a solvent spill)."""
        with self._lock:
            self._x0 = self._at(t) + float(delta)
            self._t0 = float(t)
