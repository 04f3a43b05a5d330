"""A sample-handling robot that moves vials between named stations."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Signal
from ophyd.status import DeviceStatus

from .base import SimulatedDevice
from .signals import LimitedSignal


class Robot(SimulatedDevice):
    """Moves a vial from one station to another: ``bps.mv(robot, ("rack_1", "dispense"))``.

    Stations lie along a rail, ``spacing`` metres apart, in the bench's order.
    A move takes the travel to the source, a grip, the travel to the
    destination and a release, at ``speed`` m/s. A move to an occupied
    station, an unknown station, or from an empty one is refused before the
    robot moves.
    """

    fault_kinds = ("timeout", "stuck", "disconnect")

    station = Cpt(Signal, value="home", kind="hinted")
    holding = Cpt(Signal, value="", kind="normal")
    last_vial = Cpt(Signal, value="", kind="normal")
    speed = Cpt(LimitedSignal, value=0.25, limits=(0.01, 2.0), units="m/s", kind="config")
    grip_time = Cpt(LimitedSignal, value=2.0, limits=(0.0, 60.0), units="s", kind="config")
    spacing = Cpt(LimitedSignal, value=0.15, limits=(0.01, 5.0), units="m", kind="config")

    def _coordinate(self, station: str) -> float:
        if station == "home":
            return 0.0
        return (self.world.stations.index(station) + 1) * float(self.spacing.get())

    def move_duration(self, source: str, destination: str) -> float:
        """Simulated seconds a move from ``source`` to ``destination`` takes from here."""
        here = self._coordinate(str(self.station.get()))
        travel = abs(self._coordinate(source) - here) + abs(
            self._coordinate(destination) - self._coordinate(source)
        )
        return travel / float(self.speed.get()) + 2 * float(self.grip_time.get())

    def set(self, value: Any) -> DeviceStatus:
        """Move the vial at ``value[0]`` to ``value[1]``."""
        self.check_connected()
        if not (
            isinstance(value, tuple | list)
            and len(value) == 2
            and all(isinstance(v, str) for v in value)
        ):
            raise TypeError(
                f"{self.name} expects (source_station, destination_station) as two strings, "
                f"got {value!r}"
            )
        source, destination = value
        vial = self.world.check_move(source, destination)
        seconds = self.move_duration(source, destination)

        def finish() -> None:
            moved = self.world.move(source, destination)
            self.station.put(destination)
            self.holding.put("")
            self.last_vial.put(moved.vial_id)

        self.holding.put(vial.vial_id)
        return self.timed_status(
            seconds,
            finish,
            f"moving vial {vial.vial_id} from {source!r} to {destination!r}",
            never_finishes=self.faults.active("stuck"),
        )
