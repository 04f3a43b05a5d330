"""The lab session: a non-blocking RunEngine, contextual metadata and durable storage."""

from .context import RESERVED_KEYS, check_user_md
from .errors import RunFailedError, SessionError, UnknownDeviceError
from .lab import DeviceRegistry, Lab
from .run import FINAL_STATES, Run, RunState

__all__ = [
    "FINAL_STATES",
    "RESERVED_KEYS",
    "DeviceRegistry",
    "Lab",
    "Run",
    "RunFailedError",
    "RunState",
    "SessionError",
    "UnknownDeviceError",
    "check_user_md",
]
