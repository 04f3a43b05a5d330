"""The bench that simulated devices share: clock, random numbers, vials and stations."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

import numpy as np

from .clock import SimClock
from .errors import NoVialError, StationOccupiedError, UnknownStationError
from .vial import Vial

DEFAULT_STATIONS: tuple[str, ...] = (
    *(f"rack_{i}" for i in range(1, 9)),
    "dispense",
    "reactor",
    "spectrometer",
    "supply",
    "waste",
)
#: Stations that are not one place: ``supply`` hands out a fresh empty vial
#: every time, ``waste`` takes any number of vials.
SUPPLY, WASTE = "supply", "waste"


class BenchWorld:
    """State shared by the devices of one simulated bench.

    Holds the simulated clock, the one seeded random generator every device
    draws from (same seed, same data), and which vial sits at which station.

    Args:
        seed: Seed of the random generator.
        time_scale: Simulated seconds per real second (see :class:`SimClock`).
        stations: Names of the places a vial can be; ``"waste"`` accepts any
            number of vials.
        stocks: Names of the stock solutions the bench's dispenser holds.

    Raises:
        ValueError: If ``seed`` is not a non-negative integer or stations repeat.
    """

    def __init__(
        self,
        seed: int = 0,
        time_scale: float = 1.0,
        stations: Iterable[str] = DEFAULT_STATIONS,
        stocks: Iterable[str] = (),
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        self.clock = SimClock(time_scale)
        self.rng = np.random.default_rng(seed)
        self.stocks: tuple[str, ...] = tuple(stocks)
        station_list = list(stations)
        if len(set(station_list)) != len(station_list):
            raise ValueError(f"station names must be unique, got {station_list}")
        self._stations: dict[str, Vial | None] = dict.fromkeys(station_list)
        self._waste: list[Vial] = []
        self._vial_numbers = itertools.count(1)
        self.lock = threading.RLock()

    @property
    def stations(self) -> tuple[str, ...]:
        """Every station name, in order."""
        return tuple(self._stations)

    def check_station(self, station: str) -> None:
        """Raise :class:`UnknownStationError` unless ``station`` exists."""
        if station not in self._stations:
            raise UnknownStationError(
                f"unknown station {station!r}; stations on this bench: {list(self._stations)}"
            )

    def vial_at(self, station: str) -> Vial | None:
        """Return the vial at ``station``, or ``None`` when it is empty."""
        self.check_station(station)
        return self._stations[station]

    def require_vial(self, station: str, purpose: str) -> Vial:
        """Return the vial at ``station`` or raise :class:`NoVialError` saying why one is needed."""
        vial = self.vial_at(station)
        if vial is None:
            raise NoVialError(
                f"no vial at station {station!r} to {purpose}; move one there first "
                f"(occupied stations: {self.occupied()})"
            )
        return vial

    def occupied(self) -> dict[str, str]:
        """Return ``{station: vial id}`` for every occupied station."""
        return {s: v.vial_id for s, v in self._stations.items() if v is not None}

    def new_vial(self, station: str | None = None, vial_id: str | None = None) -> Vial:
        """Put a fresh, empty vial at ``station`` (default: the first free rack slot).

        Raises:
            StationOccupiedError: If the station already holds a vial, or no rack slot is free.
        """
        with self.lock:
            if station is None:
                free = [s for s, v in self._stations.items() if v is None and s.startswith("rack")]
                if not free:
                    raise StationOccupiedError(
                        f"every rack slot is occupied ({self.occupied()}); "
                        "move a vial to 'waste' first"
                    )
                station = free[0]
            self.check_station(station)
            if self._stations[station] is not None:
                raise StationOccupiedError(
                    f"station {station!r} already holds vial {self._stations[station].vial_id!r}"  # type: ignore[union-attr]
                )
            vial = Vial(vial_id or f"V{next(self._vial_numbers):04d}")
            self._stations[station] = vial
            return vial

    def check_move(self, source: str, destination: str) -> Vial:
        """Validate a move without doing it; return the vial that would move."""
        self.check_station(source)
        self.check_station(destination)
        if source == SUPPLY and SUPPLY in self._stations:
            vial = Vial("new vial")  # numbered when the move happens
        else:
            vial = self.require_vial(source, f"move to {destination!r}")
        if destination == SUPPLY:
            raise StationOccupiedError("vials cannot be moved into 'supply'; move them to 'waste'")
        if destination != WASTE and self._stations[destination] is not None:
            raise StationOccupiedError(
                f"cannot move vial {vial.vial_id!r} to {destination!r}: station holds "
                f"vial {self._stations[destination].vial_id!r}; free stations: "  # type: ignore[union-attr]
                f"{[s for s, v in self._stations.items() if v is None]}"
            )
        return vial

    def move(self, source: str, destination: str) -> Vial:
        """Move the vial at ``source`` to ``destination`` at once (the robot adds the time)."""
        with self.lock:
            vial = self.check_move(source, destination)
            if source == SUPPLY:
                vial = Vial(f"V{next(self._vial_numbers):04d}")
            self._stations[source] = None
            if destination == WASTE:
                self._waste.append(vial)
            else:
                self._stations[destination] = vial
            return vial
