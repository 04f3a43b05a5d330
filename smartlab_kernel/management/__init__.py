"""Lab management above the Lab core: the room, safety interlocks, alarms, environment log.

Importing this package registers the ``"room"`` attachment, so
``Lab.simulated(room=True)`` attaches a :class:`RoomLink`.
"""

from typing import Any

from ..session.attachments import register_attachment
from .alarms import Alarm, AlarmLog
from .environment_log import ENVIRONMENT_LOG_PLAN, EnvironmentLog
from .interlock_alarms import InterlockAlarms
from .room_link import RoomLink, attach_room, room_readings
from .room_view import AlarmListener, AlarmsView, RoomView
from .safety import InterlockEvent, InterlockSettings, InterlockSuspender, SafetyInterlocks


def _attach_room(lab: Any, option: Any) -> RoomLink:
    return attach_room(lab)


register_attachment("room", _attach_room)

__all__ = [
    "ENVIRONMENT_LOG_PLAN",
    "Alarm",
    "AlarmListener",
    "AlarmLog",
    "AlarmsView",
    "EnvironmentLog",
    "InterlockAlarms",
    "InterlockEvent",
    "InterlockSettings",
    "InterlockSuspender",
    "RoomLink",
    "RoomView",
    "SafetyInterlocks",
    "attach_room",
    "room_readings",
]
