"""Lighting switched by an occupancy sensor."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd.status import DeviceStatus

from ..signals import ComputedSignal
from .base import ModeSignal, RoomDevice, RoomSetpoint

LIGHTING_MODES = ("auto", "on", "off")


class Lighting(RoomDevice):
    """The room's lights: on while someone is there (``auto``), or forced on or off.

    The occupancy sensor sees :attr:`RoomConditions.occupants`. Power is the
    installed power when the lights are on and the standby power otherwise.
    ``bps.mv(lighting, "off")`` switches the mode.
    """

    mode = Cpt(ModeSignal, choices=LIGHTING_MODES, kind="normal")
    installed_power = Cpt(
        RoomSetpoint, value=800.0, limits=(0.0, 50_000.0), units="W", kind="config"
    )
    standby_power = Cpt(RoomSetpoint, value=10.0, limits=(0.0, 1000.0), units="W", kind="config")
    occupied = Cpt(ComputedSignal, compute="_occupied", kind="normal")
    lights_on = Cpt(ComputedSignal, compute="_lights_on", kind="normal")
    power = Cpt(ComputedSignal, compute="_power", units="W", kind="normal")

    def _occupied(self) -> bool:
        return self.conditions.occupants > 0

    def _lights_on(self) -> bool:
        mode = self.mode.get()
        return mode == "on" or (mode == "auto" and self._occupied())

    def _power(self) -> float:
        if self._lights_on():
            return float(self.installed_power.get())
        return float(self.standby_power.get())

    def set(self, value: Any) -> DeviceStatus:
        """Switch the mode: ``"auto"`` (follow occupancy), ``"on"`` or ``"off"``."""
        self.check_connected()
        self.mode.put(value)
        return self.timed_status(0.0, lambda: None, f"switching lights to {value!r}")
