"""What the room's devices share: its size, the weather outside, who is in it."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from ..signals import check_number


class RoomConditions:
    """Shared state of one simulated room, and the hub for change notifications.

    Every device of the room calls :meth:`changed` after anything that alters
    the physics (a setpoint, a mode, a fault, the number of people). Energy
    meters and dynamics listen: power is piecewise constant between changes,
    so integrating it at each change is exact.

    Args:
        volume_m3: Air volume of the room.
        outdoor_c: Outdoor air temperature (the supply air is conditioned from it).
        outdoor_co2_ppm: CO2 of the outdoor (supply) air.

    Raises:
        LimitError: If a value is outside its plausible range.
    """

    def __init__(
        self,
        volume_m3: float = 240.0,
        outdoor_c: float = 5.0,
        outdoor_co2_ppm: float = 420.0,
    ) -> None:
        self.volume_m3 = check_number("room volume", volume_m3, 10.0, 100_000.0, "m3")
        self.outdoor_c = check_number("outdoor temperature", outdoor_c, -40.0, 50.0, "degC")
        self.outdoor_co2_ppm = check_number("outdoor CO2", outdoor_co2_ppm, 300.0, 1000.0, "ppm")
        self._occupants = 0
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.RLock()

    @property
    def occupants(self) -> int:
        """How many people are in the room now."""
        return self._occupants

    def set_occupants(self, count: int) -> None:
        """Say how many people are in the room (what the occupancy sensor sees).

        Raises:
            ValueError: If ``count`` is not an integer from 0 to 100.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100:
            raise ValueError(f"occupants must be an integer from 0 to 100, got {count!r}")
        self._occupants = count
        self.changed()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change of the room's physics."""
        with self._lock:
            self._listeners.append(listener)

    def changed(self) -> None:
        """Tell every listener that the physics just changed."""
        with self._lock:
            for listener in list(self._listeners):
                listener()

    def air_change_time_s(self, flow_m3_s: float) -> float:
        """Return ``V / Q``: the time constant of a well-mixed room with this airflow."""
        return math.inf if flow_m3_s <= 0 else self.volume_m3 / flow_m3_s
