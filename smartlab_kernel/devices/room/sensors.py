"""Room sensors: temperature, humidity, CO2 and solvent vapour."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt

from ..signals import ComputedSignal, check_number
from .base import RoomDevice
from .dynamics import FirstOrder
from .hvac import HvacZone

#: CO2 breathed out by a person at lab work, m3/s (about 0.3 L/min).
CO2_PER_PERSON_M3_S = 5.0e-6
BACKGROUND_VAPOUR_PPM = 0.5


class RoomSensors(RoomDevice):
    """A room sensor head: temperature, humidity, CO2 and a solvent-vapour (PID) sensor.

    CO2 and vapour are well-mixed: each relaxes towards its steady state
    (``C_out + 1e6 * people * G / Q`` for CO2, background for vapour) with the
    room's air-change time ``V / Q``. :meth:`spill` releases solvent: the
    vapour jumps by the given ppm and is then diluted by the ventilation, so
    more air changes clear it faster.

    Args:
        hvac: The zone whose air this sensor head samples.
        **kwargs: Passed to :class:`RoomDevice`.
    """

    temperature = Cpt(ComputedSignal, compute="_temperature", units="degC", kind="hinted")
    humidity = Cpt(ComputedSignal, compute="_humidity", units="%", kind="normal")
    co2 = Cpt(ComputedSignal, compute="_co2", units="ppm", kind="normal")
    vapour = Cpt(ComputedSignal, compute="_vapour", units="ppm", kind="hinted")

    def __init__(self, prefix: str = "", *, hvac: HvacZone, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.hvac = hvac
        self._co2_state = FirstOrder(self.conditions.outdoor_co2_ppm, self.now())
        self._vapour_state = FirstOrder(BACKGROUND_VAPOUR_PPM, self.now())
        self.conditions.subscribe(self._retarget)
        self._retarget()

    def _retarget(self) -> None:
        now = self.now()
        supply = float(self.hvac.supply_flow.get())
        tau = self.conditions.air_change_time_s(supply)
        people = self.conditions.occupants
        co2 = self.conditions.outdoor_co2_ppm + 1e6 * people * CO2_PER_PERSON_M3_S / supply
        self._co2_state.retarget(now, co2, tau)
        self._vapour_state.retarget(now, BACKGROUND_VAPOUR_PPM, tau)

    def _temperature(self) -> float:
        return self.noisy(float(self.hvac.temperature.get()), 0.05)

    def _humidity(self) -> float:
        return self.noisy(float(self.hvac.humidity.get()), 0.3)

    def _co2(self) -> float:
        return self.noisy(self._co2_state.value_at(self.now()), 2.0)

    def _vapour(self) -> float:
        return max(0.0, self.noisy(self._vapour_state.value_at(self.now()), 0.02))

    def true_vapour(self) -> float:
        """The vapour concentration without sensor noise, in ppm."""
        return self._vapour_state.value_at(self.now())

    def spill(self, ppm: float) -> None:
        """Release solvent that raises the vapour reading by ``ppm`` now.

        Raises:
            LimitError: If ``ppm`` is not from 0 to 100 000.
        """
        amount = check_number("spill", ppm, 0.0, 100_000.0, "ppm")
        self._vapour_state.add(self.now(), amount)

    def clear_spill(self) -> None:
        """Clean the spill up: the vapour drops back to background at once."""
        now = self.now()
        self._vapour_state.add(now, BACKGROUND_VAPOUR_PPM - self._vapour_state.value_at(now))
