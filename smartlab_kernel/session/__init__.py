"""The Lab core: a non-blocking RunEngine, contextual metadata, durable storage, interruptions.

What used to live here and moved up a layer (campaigns, the room and safety,
the LIMS link, the served-lab client) is still found under its old name,
with a ``DeprecationWarning`` (see :mod:`smartlab_kernel.session._moved`).
"""

from ._moved import forward
from .attachments import Attachment, register_attachment
from .context import RESERVED_KEYS, check_user_md
from .errors import RunFailedError, SessionError, UnknownDeviceError
from .interruptions import Interruption, InterruptionLog
from .lab import DeviceRegistry, Lab
from .run import FINAL_STATES, Run, RunState
from .step_resume import StepInterruptedError, resume_interrupted_steps

_MOVED = {
    "Alarm": "smartlab_kernel.management",
    "AlarmLog": "smartlab_kernel.management",
    "InterlockEvent": "smartlab_kernel.management",
    "InterlockSettings": "smartlab_kernel.management",
    "InterlockSuspender": "smartlab_kernel.management",
    "RoomLink": "smartlab_kernel.management",
    "SafetyInterlocks": "smartlab_kernel.management",
    "attach_room": "smartlab_kernel.management",
    "LabUnavailableError": "smartlab_kernel.remote",
    "RemoteLab": "smartlab_kernel.remote",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        return forward(__name__, _MOVED[name])(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FINAL_STATES",
    "RESERVED_KEYS",
    "Attachment",
    "DeviceRegistry",
    "Interruption",
    "InterruptionLog",
    "Lab",
    "Run",
    "RunFailedError",
    "RunState",
    "SessionError",
    "StepInterruptedError",
    "UnknownDeviceError",
    "check_user_md",
    "register_attachment",
    "resume_interrupted_steps",
]
