"""What a room monitor needs from a room, local or served.

:class:`~smartlab_kernel.management.room_link.RoomLink` (the room attached to
a lab in this process) and
:class:`~smartlab_kernel.remote.room.RemoteRoom` (the room of a lab
served by ``smartlab serve``) both provide it, so the LabMonitor widget
shows either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .alarms import Alarm

AlarmListener = Callable[[str, Alarm], None]


class AlarmsView(Protocol):
    """The alarm list: read it, acknowledge one, hear about changes."""

    def all(self) -> list[Alarm]:
        """Every alarm, oldest first."""
        ...

    def get(self, alarm_id: str) -> Alarm:
        """One alarm by id (``KeyError`` if unknown)."""
        ...

    def acknowledge(self, alarm_id: str, who: str, comment: str = "") -> Alarm:
        """Acknowledge an alarm (``ValueError`` on bad input)."""
        ...

    def subscribe(self, listener: AlarmListener) -> None:
        """Call ``listener(event, alarm)`` when an alarm changes."""
        ...

    def unsubscribe(self, listener: AlarmListener) -> None:
        """Undo :meth:`subscribe`."""
        ...


class RoomView(Protocol):
    """Live values, status, energy and alarms of a room."""

    @property
    def alarms(self) -> AlarmsView:
        """The room's alarms."""
        ...

    def readings(self) -> dict[str, float | bool | str]:
        """Live values: flows, face velocities, sensors, power."""
        ...

    def status(self) -> dict[str, Any]:
        """Summary with at least ``interlocks_tripped`` (a list of names)."""
        ...

    def energy_kwh(self) -> dict[str, float]:
        """Energy per system so far, in kWh."""
        ...
