"""How the served room talks between processes: Redis keys and the command format.

The room (HVAC, hoods, sensors, e-stop, alarm log) lives in the RE worker,
next to the RunEngine its interlocks suspend. The HTTP server, where users'
keys are checked, is another process. Both already use the lab's Redis (the
queue lives there), so the worker publishes the room's state under one key
and takes commands from a list; each command names a reply list that the
HTTP server waits on. Nothing here is specific to either side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Room commands (instructors only): name -> what it does and its arguments.
COMMANDS: dict[str, str] = {
    "acknowledge": "acknowledge alarm `alarm_id` with a `comment`",
    "press_estop": "press the emergency stop (suspends the running plan)",
    "release_estop": "release the emergency stop",
    "hvac_mode": "switch the HVAC to `mode` (occupied, unoccupied, hazardous)",
    "sash": "move fume hood `hood`'s sash to `metres`",
    "occupants": "say how many people (`count`) are in the room",
}
#: Seconds a published state stays valid: an older one means the worker is gone.
STATE_TTL_S = 10
#: Seconds a reply waits in Redis for the HTTP server to take it.
REPLY_TTL_S = 30


@dataclass(frozen=True)
class RoomKeys:
    """Redis keys of one served lab's room (under the queue's prefix)."""

    prefix: str

    @property
    def state(self) -> str:
        """The latest published state (JSON)."""
        return f"{self.prefix}:room:state"

    @property
    def commands(self) -> str:
        """The list of commands waiting for the worker (JSON each)."""
        return f"{self.prefix}:room:commands"

    def reply(self, command_id: str) -> str:
        """The list the worker pushes command ``command_id``'s reply to."""
        return f"{self.prefix}:room:reply:{command_id}"


def redis_url(address: str) -> str:
    """Return ``redis://host:port`` for the configuration's ``host:port``."""
    return address if "://" in address else f"redis://{address}"


def json_safe(value: Any) -> Any:
    """Replace NaN floats (unreadable sensors) by ``None``, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
