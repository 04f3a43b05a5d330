"""Energy of a room over simulated days: always-on operation against a setback schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..world import BenchWorld
from .room import SYSTEMS, SimulatedRoom, build_room
from .stepped_clock import SteppedClock


@dataclass(frozen=True)
class OperatingSchedule:
    """How the room is run hour by hour.

    Attributes:
        name: Label for reports.
        setback: True: outside working hours the HVAC drops to its unoccupied
            air changes, lights follow occupancy (so go off), sashes are
            closed and instruments go to standby. False: always on (occupied
            ventilation, lights on, sashes left at working height, instruments on).
        day_start_h, day_end_h: Working hours (people in the room), local time.
        workdays: Days of the week with people in, counted from Monday = 0.
        occupants: People in the room during working hours.
        sash_open_m: Sash height while the hoods are in use.
        instruments_w, standby_w: Instrument plug load in use / in standby.
    """

    name: str
    setback: bool
    day_start_h: int = 8
    day_end_h: int = 18
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    occupants: int = 6
    sash_open_m: float = 0.5
    instruments_w: float = 1500.0
    standby_w: float = 400.0

    def state(self, hour: int) -> dict[str, Any]:
        """The room's settings during hour ``hour`` counted from Monday 00:00."""
        day, hour_of_day = divmod(hour, 24)
        working = day % 7 in self.workdays and self.day_start_h <= hour_of_day < self.day_end_h
        if working or not self.setback:
            return {
                "occupants": self.occupants if working else 0,
                "mode": "occupied",
                "lights": "auto" if self.setback else "on",
                "sash": self.sash_open_m,
                "instruments": self.instruments_w,
            }
        return {
            "occupants": 0,
            "mode": "unoccupied",
            "lights": "auto",
            "sash": 0.0,
            "instruments": self.standby_w,
        }


ALWAYS_ON = OperatingSchedule("always-on", setback=False)
SETBACK = OperatingSchedule("setback", setback=True)


@dataclass
class EnergyResult:
    """kWh per system for each simulated day.

    Attributes:
        schedule: Name of the schedule simulated.
        daily_kwh: One ``{system: kWh}`` per day.
    """

    schedule: str
    daily_kwh: list[dict[str, float]] = field(default_factory=list)

    @property
    def total_kwh(self) -> dict[str, float]:
        """Energy per system over all the days, in kWh."""
        return {s: sum(d[s] for d in self.daily_kwh) for s in SYSTEMS}

    @property
    def mean_daily_kwh(self) -> dict[str, float]:
        """Mean kWh per system per day."""
        days = max(1, len(self.daily_kwh))
        return {s: v / days for s, v in self.total_kwh.items()}

    @property
    def total(self) -> float:
        """Energy of every system over all the days, in kWh."""
        return sum(self.total_kwh.values())


def apply_state(room: SimulatedRoom, state: dict[str, Any]) -> None:
    """Put the room in the settings of one schedule hour (see :meth:`OperatingSchedule.state`)."""
    room.set_occupants(int(state["occupants"]))
    room.hvac.mode.put(state["mode"])
    room.lighting.mode.put(state["lights"])
    for hood in room.hoods.values():
        hood.sash_height.put(state["sash"])
    room.instruments.power.put(state["instruments"])


def simulate_energy(
    schedule: OperatingSchedule, days: int = 7, *, seed: int = 0, hoods: int = 2
) -> EnergyResult:
    """Run a room through ``days`` days of ``schedule`` and meter every system.

    The room runs on a :class:`SteppedClock` moved hour by hour. Power is
    piecewise constant between settings, so the meters' kWh are exact.

    Args:
        schedule: How the room is operated.
        days: Days to simulate, from a Monday, 1 to 366.
        seed: Seed of the room.
        hoods: Number of fume hoods.

    Raises:
        ValueError: If ``days`` is not an integer from 1 to 366.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise ValueError(f"days must be an integer from 1 to 366, got {days!r}")
    world = BenchWorld(seed=seed)
    clock = SteppedClock()
    world.clock = clock
    room = build_room(world, hoods=hoods)
    result = EnergyResult(schedule.name)
    previous = room.energy_kwh()
    for hour in range(days * 24):
        apply_state(room, schedule.state(hour))
        clock.advance(3600.0)
        if hour % 24 == 23:
            now = room.energy_kwh()
            result.daily_kwh.append({s: now[s] - previous[s] for s in SYSTEMS})
            previous = now
    return result


def setback_saving(days: int = 7, *, seed: int = 0, hoods: int = 2) -> dict[str, Any]:
    """Compare always-on operation with the setback schedule over ``days`` days.

    Returns:
        ``{"days", "always_on", "setback"`` (mean kWh per system per day each),
        ``"saving_kwh_per_day", "saving_fraction"}``.
    """
    always = simulate_energy(ALWAYS_ON, days, seed=seed, hoods=hoods)
    setback = simulate_energy(SETBACK, days, seed=seed, hoods=hoods)
    saving = (always.total - setback.total) / days
    return {
        "days": days,
        "hoods": hoods,
        "always_on": always.mean_daily_kwh,
        "setback": setback.mean_daily_kwh,
        "always_on_daily": always.daily_kwh,
        "setback_daily": setback.daily_kwh,
        "saving_kwh_per_day": saving,
        "saving_fraction": saving * days / always.total if always.total else 0.0,
    }
