"""The room of a lab served by ``smartlab serve``, seen from a notebook.

:class:`RemoteRoom` has the :class:`~smartlab_kernel.management.room_view.RoomView`
API, so ``LabMonitor(lab.room)`` works the same on a served lab as on a
local one. Everyone with a key sees the room; only instructors control it
(e-stop, HVAC mode, sashes, occupancy) or acknowledge alarms, and an
acknowledgement is recorded under the key's user name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ..management.alarms import Alarm
from ..management.room_view import AlarmListener
from ..session.errors import SessionError


class HttpLab(Protocol):
    """What the room needs of a served lab (a :class:`~smartlab_kernel.remote.RemoteLab`)."""

    url: str

    def _http(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any: ...


class RoomNotAllowedError(SessionError, PermissionError):
    """The key's user may not do this to the room (instructors only)."""


class RemoteAlarms:
    """The served room's alarm list (read from the room's latest state)."""

    def __init__(self, room: RemoteRoom) -> None:
        self._room = room
        self._listeners: list[AlarmListener] = []
        self._seen: dict[str, dict[str, Any]] = {}

    def all(self) -> list[Alarm]:
        """Every alarm, oldest first."""
        return [Alarm(**entry) for entry in self._room.state()["alarms"]]

    def get(self, alarm_id: str) -> Alarm:
        """One alarm by id.

        Raises:
            KeyError: If the room has no such alarm.
        """
        for alarm in self.all():
            if alarm.alarm_id == alarm_id:
                return alarm
        raise KeyError(f"no alarm {alarm_id!r} in the lab's alarm log")

    def acknowledge(self, alarm_id: str, who: str = "", comment: str = "") -> Alarm:
        """Acknowledge an alarm (instructors only).

        The server records the key's user name as who acknowledged it; ``who``
        is accepted for the same call shape as a local alarm log and ignored.

        Raises:
            RoomNotAllowedError: If the key is a student's.
            ValueError: If the alarm is unknown or acknowledged already.
        """
        del who
        reply = self._room.command("acknowledge", alarm_id=alarm_id, comment=comment)
        return Alarm(**reply["alarm"])

    def subscribe(self, listener: AlarmListener) -> None:
        """Call ``listener("changed", alarm)`` when a refresh of the room finds an alarm changed."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: AlarmListener) -> None:
        """Undo :meth:`subscribe`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _update(self, entries: list[dict[str, Any]]) -> None:
        changed = [e for e in entries if self._seen.get(e["alarm_id"]) != e]
        self._seen = {e["alarm_id"]: e for e in entries}
        for entry in changed:
            for listener in list(self._listeners):
                listener("changed", Alarm(**entry))


class RemoteRoom:
    """The room of a served lab: live values, alarms, energy, and (instructors) control.

    The state is what the server's RE worker last published (twice a
    second); it is fetched at most every ``max_age_s`` seconds.

    Args:
        lab: The connected lab.
        max_age_s: Seconds a fetched state is reused.
    """

    def __init__(self, lab: HttpLab, max_age_s: float = 0.5) -> None:
        self._lab = lab
        self.max_age_s = max_age_s
        self.alarms = RemoteAlarms(self)
        self._state: dict[str, Any] | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RemoteRoom of {self._lab.url}>"

    # -- reading --------------------------------------------------------------

    def state(self, refresh: bool = False) -> dict[str, Any]:
        """The room's latest state: ``readings``, ``status``, ``energy_kwh``, ``alarms``.

        Raises:
            LabUnavailableError: If the room is not reporting (no RE environment open).
        """
        with self._lock:
            fresh = time.monotonic() - self._fetched < self.max_age_s
            if self._state is not None and fresh and not refresh:
                return self._state
            state = self._lab._http("GET", "/api/smartlab/room")
            self._state, self._fetched = state, time.monotonic()
        self.alarms._update(list(state["alarms"]))
        return state

    def readings(self) -> dict[str, float | bool | str]:
        """Live values: flows, face velocities, sensors, power (unreadable: NaN)."""
        return {k: float("nan") if v is None else v for k, v in self.state()["readings"].items()}

    def status(self) -> dict[str, Any]:
        """Alarms, tripped interlocks, what holds the running plan, HVAC mode, power, energy."""
        state = self.state()
        return {**state["status"], "energy_kwh": state["energy_kwh"]}

    def energy_kwh(self) -> dict[str, float]:
        """Energy per system since the server started, in kWh."""
        return dict(self.state()["energy_kwh"])

    # -- control (instructors) -------------------------------------------------

    def command(self, op: str, **arguments: Any) -> dict[str, Any]:
        """Send a room command (see ``smartlab_kernel.serve.room_bridge.COMMANDS``).

        Raises:
            RoomNotAllowedError: If the key is a student's.
            ValueError: If the command or a value is refused.
            LabUnavailableError: If the room did not answer.
        """
        reply = self._lab._http("POST", "/api/smartlab/room/command", {"op": op, **arguments})
        self.state(refresh=True)
        return reply

    def press_estop(self) -> None:
        """Press the emergency stop: the running plan is suspended until it is released."""
        self.command("press_estop")

    def release_estop(self) -> None:
        """Release the emergency stop (the plan resumes after the settle time)."""
        self.command("release_estop")

    def set_hvac_mode(self, mode: str) -> None:
        """Switch the HVAC to ``"occupied"``, ``"unoccupied"`` or ``"hazardous"``."""
        self.command("hvac_mode", mode=mode)

    def set_sash(self, hood: str, metres: float) -> None:
        """Move a fume hood's sash (it travels in simulated time)."""
        self.command("sash", hood=hood, metres=metres)

    def set_occupants(self, count: int) -> None:
        """Say how many people are in the room (drives lighting and HVAC)."""
        self.command("occupants", count=count)
