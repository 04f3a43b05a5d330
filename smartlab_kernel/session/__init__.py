"""The lab session: a non-blocking RunEngine, contextual metadata and durable storage."""

from .alarms import Alarm, AlarmLog
from .context import RESERVED_KEYS, check_user_md
from .errors import RunFailedError, SessionError, UnknownDeviceError
from .lab import DeviceRegistry, Lab
from .remote import LabUnavailableError, RemoteLab
from .room_link import RoomLink, attach_room
from .run import FINAL_STATES, Run, RunState
from .safety import InterlockEvent, InterlockSettings, InterlockSuspender, SafetyInterlocks

__all__ = [
    "FINAL_STATES",
    "RESERVED_KEYS",
    "Alarm",
    "AlarmLog",
    "DeviceRegistry",
    "InterlockEvent",
    "InterlockSettings",
    "InterlockSuspender",
    "Lab",
    "LabUnavailableError",
    "RemoteLab",
    "RoomLink",
    "Run",
    "RunFailedError",
    "RunState",
    "SafetyInterlocks",
    "SessionError",
    "UnknownDeviceError",
    "attach_room",
    "check_user_md",
]
