"""An HVAC zone: ventilation (air changes per hour), temperature and humidity control."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ophyd import Component as Cpt
from ophyd.status import DeviceStatus

from ..signals import ComputedSignal
from .base import ModeSignal, RoomDevice, RoomSetpoint
from .dynamics import FirstOrder

AIR_DENSITY = 1.2  # kg/m3
AIR_HEAT_CAPACITY = 1005.0  # J/(kg K)
HVAC_MODES = ("occupied", "unoccupied", "hazardous")


class HvacZone(RoomDevice):
    """Ventilation and conditioning of one lab room (a single well-mixed zone).

    The supply flow gives the mode's air changes per hour,
    ``Q = ACH * V / 3600``, unless the fume hoods exhaust more: the room is kept
    at negative pressure, so supply makes up the hood exhaust less a fixed
    offset (``exhaust = supply / (1 - offset)``). The air changes reported are
    ``ACH = supply * 3600 / V``.

    Temperature and humidity relax to their setpoints as a well-mixed room
    does: first order with time constant ``V / supply``.

    Power is the fans' (specific fan power times flow) plus conditioning the
    outdoor air to the setpoint (``rho * cp * Q * |T_set - T_out| / COP``); it
    changes only when a setting changes, so it is piecewise constant.

    Args:
        hood_exhaust: Returns the total exhaust of the room's hoods in m3/s.
        **kwargs: Passed to :class:`RoomDevice`.
    """

    mode = Cpt(ModeSignal, choices=HVAC_MODES, kind="normal")
    temperature_setpoint = Cpt(
        RoomSetpoint, value=21.0, limits=(15.0, 30.0), units="degC", kind="normal"
    )
    humidity_setpoint = Cpt(RoomSetpoint, value=45.0, limits=(20.0, 70.0), units="%", kind="normal")
    ach_occupied = Cpt(RoomSetpoint, value=6.0, limits=(0.5, 20.0), units="1/h", kind="config")
    ach_unoccupied = Cpt(RoomSetpoint, value=2.0, limits=(0.5, 20.0), units="1/h", kind="config")
    ach_hazardous = Cpt(RoomSetpoint, value=12.0, limits=(0.5, 20.0), units="1/h", kind="config")
    pressure_offset = Cpt(RoomSetpoint, value=0.1, limits=(0.0, 0.5), units="", kind="config")
    fan_power_per_flow = Cpt(
        RoomSetpoint, value=1500.0, limits=(0.0, 10_000.0), units="W/(m3/s)", kind="config"
    )
    cooling_cop = Cpt(RoomSetpoint, value=3.0, limits=(0.5, 10.0), units="", kind="config")

    supply_flow = Cpt(ComputedSignal, compute="_supply_flow", units="m3/s", kind="normal")
    exhaust_flow = Cpt(ComputedSignal, compute="_exhaust_flow", units="m3/s", kind="normal")
    air_changes = Cpt(ComputedSignal, compute="_air_changes", units="1/h", kind="hinted")
    temperature = Cpt(ComputedSignal, compute="_temperature", units="degC", kind="hinted")
    humidity = Cpt(ComputedSignal, compute="_humidity", units="%", kind="normal")
    power = Cpt(ComputedSignal, compute="_power", units="W", kind="normal")

    def __init__(
        self,
        prefix: str = "",
        *,
        hood_exhaust: Callable[[], float] | None = None,
        initial_temperature_c: float = 21.0,
        initial_humidity: float = 45.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        self._hood_exhaust = hood_exhaust or (lambda: 0.0)
        self._temperature_state = FirstOrder(initial_temperature_c, self.now())
        self._humidity_state = FirstOrder(initial_humidity, self.now())
        self.conditions.subscribe(self._retarget)
        self._retarget()

    def target_ach(self) -> float:
        """The air changes per hour the current mode asks for."""
        return float(getattr(self, f"ach_{self.mode.get()}").get())

    def _supply_flow(self) -> float:
        volume = self.conditions.volume_m3
        needed = self.target_ach() * volume / 3600.0
        makeup = self._hood_exhaust() * (1.0 - float(self.pressure_offset.get()))
        return max(needed, makeup)

    def _exhaust_flow(self) -> float:
        return self._supply_flow() / (1.0 - float(self.pressure_offset.get()))

    def _air_changes(self) -> float:
        return self._supply_flow() * 3600.0 / self.conditions.volume_m3

    def _temperature(self) -> float:
        return self._temperature_state.value_at(self.now())

    def _humidity(self) -> float:
        return self._humidity_state.value_at(self.now())

    def _power(self) -> float:
        supply = self._supply_flow()
        fans = float(self.fan_power_per_flow.get()) * (supply + self._exhaust_flow())
        lift = abs(float(self.temperature_setpoint.get()) - self.conditions.outdoor_c)
        conditioning = AIR_DENSITY * AIR_HEAT_CAPACITY * supply * lift
        return fans + conditioning / float(self.cooling_cop.get())

    def _retarget(self) -> None:
        now = self.now()
        tau = self.conditions.air_change_time_s(self._supply_flow())
        self._temperature_state.retarget(now, float(self.temperature_setpoint.get()), tau)
        self._humidity_state.retarget(now, float(self.humidity_setpoint.get()), tau)

    def time_constant(self) -> float:
        """Simulated seconds for the room to close 63 % of a setpoint step (``V / supply``)."""
        return self._temperature_state.tau

    def set(self, value: Any) -> DeviceStatus:
        """Switch the mode (``"occupied"``, ``"unoccupied"`` or ``"hazardous"``)."""
        self.check_connected()
        self.mode.put(value)
        return self.timed_status(0.0, lambda: None, f"switching to {value!r} mode")
