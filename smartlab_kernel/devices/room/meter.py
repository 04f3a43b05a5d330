"""Energy meters: power integrated to kWh over simulated time, and instrument plug load."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ophyd import Component as Cpt

from ..signals import ComputedSignal
from .base import RoomDevice, RoomSetpoint


class EnergyMeter(RoomDevice):
    """Meters one system's power and integrates it to kWh over simulated time.

    The room's power is piecewise constant: it only changes when a setting,
    a mode, a fault or the occupancy changes, and the room notifies the meter
    after every such change. The meter adds ``P * dt`` for the power it last
    saw over the time since then, at every change and every read, so the
    integral is exact (no sampling error).

    Args:
        power: Returns the metered system's power now, in W.
        **kwargs: Passed to :class:`RoomDevice`.
    """

    power = Cpt(ComputedSignal, compute="_power", units="W", kind="normal")
    energy = Cpt(ComputedSignal, compute="_energy", units="kWh", kind="hinted")

    def __init__(self, prefix: str = "", *, power: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self._power_source = power
        self._lock = threading.Lock()
        self._kwh = 0.0
        self._last_t = self.now()
        self._last_w = float(power())
        self.conditions.subscribe(self._on_room_change)

    def update(self) -> float:
        """Integrate up to now, sample the power again, and return the kWh so far."""
        with self._lock:
            now = self.now()
            self._kwh += self._last_w * (now - self._last_t) / 3.6e6
            self._last_t = now
            self._last_w = float(self._power_source())
            return self._kwh

    def _on_room_change(self) -> None:
        self.update()

    def _power(self) -> float:
        return float(self._power_source())

    def _energy(self) -> float:
        return self.update()

    def reset(self) -> None:
        """Start counting from zero now."""
        with self._lock:
            self._kwh = 0.0
            self._last_t = self.now()
            self._last_w = float(self._power_source())


class InstrumentLoad(RoomDevice):
    """The plug load of the lab's instruments (a setting, e.g. lowered to standby at night).

    ``bps.mv(instruments, 400)`` sets it to 400 W.
    """

    power = Cpt(RoomSetpoint, value=1500.0, limits=(0.0, 100_000.0), units="W", kind="hinted")

    def set(self, value: Any) -> Any:
        """Set the plug load in W."""
        self.check_connected()
        self.power.put(value)
        return self.timed_status(0.0, lambda: None, f"setting plug load to {value} W")
