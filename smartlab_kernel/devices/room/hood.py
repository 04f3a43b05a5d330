"""A variable-air-volume fume hood: sash, face velocity, exhaust flow, alarm."""

from __future__ import annotations

import math
from typing import Any

from ophyd import Component as Cpt
from ophyd.status import DeviceStatus

from ..signals import ComputedSignal
from .base import RoomDevice, RoomSetpoint

#: Fraction of the commanded exhaust still drawn (by the stack) when the fan fails.
FAILED_FAN_FRACTION = 0.05
SASH_SPEED_M_S = 0.25


class FumeHood(RoomDevice):
    """A bench-top fume hood with variable-air-volume (VAV) exhaust.

    The open face is ``width * sash_position + bypass_area``. The VAV valve
    draws ``target_velocity * open_area``, held between ``min_flow`` and
    ``max_flow``, so the face velocity ``exhaust_flow / open_area`` stays at
    the target until the sash is raised past the point where the valve is
    fully open; above it the velocity falls. ``alarm`` is true whenever the
    face velocity is outside ``[band_low, band_high]`` (0.4-0.6 m/s, 80-120 fpm).

    Faults (``hood.faults.inject(kind)``): ``fan_failure`` (exhaust drops to
    5 % of the commanded flow; the face velocity collapses), ``sash_open``
    (the sash stays at ``working_height`` whatever it is told: the classic
    sash left open overnight).

    ``bps.mv(hood, 0.3)`` moves the sash to 0.3 m.
    """

    room_fault_kinds = ("fan_failure", "sash_open")

    sash_height = Cpt(RoomSetpoint, value=0.0, limits=(0.0, 0.8), units="m", kind="normal")
    sash_position = Cpt(ComputedSignal, compute="_sash_position", units="m", kind="normal")
    face_velocity = Cpt(ComputedSignal, compute="_face_velocity", units="m/s", kind="hinted")
    exhaust_flow = Cpt(ComputedSignal, compute="_exhaust_flow", units="m3/s", kind="normal")
    alarm = Cpt(ComputedSignal, compute="_alarm", kind="normal")
    power = Cpt(ComputedSignal, compute="_power", units="W", kind="normal")

    width = Cpt(RoomSetpoint, value=1.5, limits=(0.5, 3.0), units="m", kind="config")
    bypass_area = Cpt(RoomSetpoint, value=0.1, limits=(0.0, 0.5), units="m2", kind="config")
    working_height = Cpt(RoomSetpoint, value=0.5, limits=(0.1, 0.8), units="m", kind="config")
    target_velocity = Cpt(RoomSetpoint, value=0.5, limits=(0.3, 1.0), units="m/s", kind="config")
    min_flow = Cpt(RoomSetpoint, value=0.05, limits=(0.0, 2.0), units="m3/s", kind="config")
    max_flow = Cpt(RoomSetpoint, value=0.45, limits=(0.05, 2.0), units="m3/s", kind="config")
    band_low = Cpt(RoomSetpoint, value=0.4, limits=(0.1, 1.0), units="m/s", kind="config")
    band_high = Cpt(RoomSetpoint, value=0.6, limits=(0.1, 2.0), units="m/s", kind="config")
    fan_power_per_flow = Cpt(
        RoomSetpoint, value=2500.0, limits=(0.0, 10_000.0), units="W/(m3/s)", kind="config"
    )

    def _sash_position(self) -> float:
        height = float(self.sash_height.get())
        if self.faults.active("sash_open"):
            return max(height, float(self.working_height.get()))
        return height

    def open_area(self) -> float:
        """The open face (sash opening plus bypass) in m2."""
        return float(self.width.get()) * self._sash_position() + float(self.bypass_area.get())

    def commanded_flow(self) -> float:
        """The exhaust the VAV valve asks for, in m3/s."""
        demand = float(self.target_velocity.get()) * self.open_area()
        return min(max(demand, float(self.min_flow.get())), float(self.max_flow.get()))

    def _exhaust_flow(self) -> float:
        flow = self.commanded_flow()
        return flow * FAILED_FAN_FRACTION if self.faults.active("fan_failure") else flow

    def _face_velocity(self) -> float:
        if self.faults.active("nan"):
            return math.nan
        area = self.open_area()
        return self._exhaust_flow() / area if area > 0 else 0.0

    def in_band(self, velocity: float) -> bool:
        """Whether ``velocity`` (m/s) is inside the safe band (NaN is not)."""
        return float(self.band_low.get()) <= velocity <= float(self.band_high.get())

    def _alarm(self) -> bool:
        return not self.in_band(self._face_velocity())

    def _power(self) -> float:
        if self.faults.active("fan_failure"):
            return 0.0
        return float(self.fan_power_per_flow.get()) * self._exhaust_flow()

    def set(self, value: Any) -> DeviceStatus:
        """Move the sash to ``value`` metres; the status finishes when it gets there."""
        self.check_connected()
        target = self.sash_height.coerce(value, f"{self.name} sash height")
        travel = abs(target - self._sash_position())
        self.sash_height.put(target)
        return self.timed_status(
            travel / SASH_SPEED_M_S, lambda: None, f"moving sash to {target} m"
        )
