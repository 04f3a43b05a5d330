"""A reactor / hotplate: heating with first-order dynamics, stirring, timed reactions."""

from __future__ import annotations

import math
import threading
from typing import Any

from ophyd import Component as Cpt
from ophyd.status import DeviceStatus

from .base import SimulatedDevice
from .signals import ComputedSignal, LimitedSignal

REACTOR_STATION = "reactor"


class ReactionTimer(SimulatedDevice):
    """Holds the vial in the reactor for a set time: ``bps.mv(reactor.hold, 600)``.

    The status finishes after that many simulated seconds and records the
    reaction (mean temperature, stirring, duration) in the vial.
    """

    fault_kinds = ("timeout", "disconnect")

    seconds = Cpt(LimitedSignal, value=0.0, limits=(0.0, 86400.0), units="s", kind="config")

    def set(self, value: Any) -> DeviceStatus:
        """React the vial at the reactor station for ``value`` simulated seconds."""
        self.check_connected()
        seconds = self.seconds.coerce(value, f"{self.name} seconds")
        reactor: Reactor = self.parent
        vial = self.world.require_vial(REACTOR_STATION, "react")
        self.seconds.put(seconds)
        start = self.world.clock.now()

        def finish() -> None:
            end = start + seconds
            temperature = reactor.mean_temperature(start, end)
            vial.react(temperature, seconds, float(reactor.stir_rpm.get()))

        return self.timed_status(seconds, finish, f"reacting for {seconds:g} s")


class Reactor(SimulatedDevice):
    """A stirred, heated reactor whose temperature relaxes to its setpoint.

    The temperature follows ``T(t) = T_set + (T_0 - T_set) * exp(-(t - t_0) / tau)``.
    ``reactor.set(80)`` (``bps.mv(reactor, 80)``) finishes when the temperature
    is within ``tolerance`` of the setpoint; the time that takes is
    ``tau * ln(|T_set - T_0| / tolerance)`` simulated seconds.

    Attributes:
        ambient_c: Temperature the reactor starts at.
    """

    fault_kinds = ("timeout", "stuck", "disconnect")

    temperature = Cpt(ComputedSignal, compute="_temperature_now", units="degC", kind="hinted")
    setpoint = Cpt(LimitedSignal, value=25.0, limits=(15.0, 150.0), units="degC", kind="normal")
    stir_rpm = Cpt(LimitedSignal, value=0.0, limits=(0.0, 1500.0), units="rpm", kind="normal")
    time_constant = Cpt(LimitedSignal, value=60.0, limits=(0.1, 3600.0), units="s", kind="config")
    tolerance = Cpt(LimitedSignal, value=0.5, limits=(0.01, 10.0), units="degC", kind="config")
    hold = Cpt(ReactionTimer)

    def __init__(self, prefix: str = "", *, ambient_c: float = 25.0, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.ambient_c = ambient_c
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._temp0 = ambient_c
        self._target = ambient_c
        self.setpoint.put(ambient_c)

    def _temperature_at(self, t: float) -> float:
        if self.faults.active("stuck"):
            return self._temp0
        tau = float(self.time_constant.get())
        return self._target + (self._temp0 - self._target) * math.exp(-(t - self._t0) / tau)

    def _temperature_now(self) -> float:
        with self._lock:
            return self._temperature_at(self.world.clock.now())

    def mean_temperature(self, start: float, end: float) -> float:
        """Return the mean simulated temperature between two simulated times."""
        if end <= start:
            return self._temperature_now()
        with self._lock:
            samples = [self._temperature_at(start + (end - start) * i / 20) for i in range(21)]
        return sum(samples) / len(samples)

    def stop(self, *, success: bool = False) -> None:
        """Stop: an operator's stop also holds the temperature where it is now.

        ``success=True`` (the RunEngine pausing) only holds the operation in
        progress, as for every simulated device; the heater keeps its setpoint.
        """
        super().stop(success=success)
        if not success:
            self._hold_here()

    def after_failure(self) -> None:
        """A heating step that failed leaves the heater holding the temperature it reached."""
        self._hold_here()

    def _hold_here(self) -> None:
        with self._lock:
            now = self.world.clock.now()
            current = self._temperature_at(now)
            if not self.faults.active("stuck"):
                self._temp0, self._t0, self._target = current, now, current
        self.setpoint.put(min(max(current, 15.0), 150.0))

    def set(self, value: Any) -> DeviceStatus:
        """Heat or cool to ``value`` degC; the status finishes when it is reached."""
        self.check_connected()
        target = self.setpoint.coerce(value, f"{self.name} temperature")
        with self._lock:
            now = self.world.clock.now()
            current = self._temperature_at(now)
            if not self.faults.active("stuck"):
                self._temp0, self._t0, self._target = current, now, target
        self.setpoint.put(target)
        gap = abs(target - current)
        tolerance = float(self.tolerance.get())
        tau = float(self.time_constant.get())
        seconds = tau * math.log(gap / tolerance) if gap > tolerance else 0.0
        return self.timed_status(
            seconds,
            lambda: None,
            f"heating to {target:g} degC",
            never_finishes=self.faults.active("stuck") and gap > tolerance,
        )
