"""Attach the simulated room to a lab: devices, environment snapshot, interlocks, alarms."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from ..devices.room import SimulatedRoom, build_room
from ..session.errors import SessionError
from .alarms import AlarmLog
from .environment_log import EnvironmentLog
from .interlock_alarms import InterlockAlarms
from .safety import InterlockEvent, InterlockSettings, SafetyInterlocks

if TYPE_CHECKING:
    from ..session.lab import Lab


class RoomLink:
    """The room attached to a lab; made by :func:`attach_room`.

    Attributes:
        lab: The lab.
        room: The simulated room.
        alarms: The lab's alarm log (``<lab directory>/alarms.jsonl``).
        interlocks: The safety interlocks, or ``None`` when attached without them.
    """

    def __init__(
        self, lab: Lab, room: SimulatedRoom, alarms: AlarmLog, interlocks: SafetyInterlocks | None
    ) -> None:
        self.lab = lab
        self.room = room
        self.alarms = alarms
        self.interlocks = interlocks
        self._run_uid: str | None = None
        self._recorder = InterlockAlarms(alarms, lambda: self._run_uid)
        self._token = lab.subscribe(self._track_run)
        self._closed = False
        self._lock = threading.Lock()
        #: The continuous log of the room into the catalog, once started.
        self.log: EnvironmentLog | None = None

    def start_log(self, period_s: float = 60.0) -> EnvironmentLog:
        """Record the room into the catalog every ``period_s`` (simulated) seconds until closed.

        The readings go into one ``environment_log`` run's ``environment``
        stream while plans run (see :class:`EnvironmentLog`). Starting it
        again stops the earlier log first.

        Raises:
            ValueError: If ``period_s`` is not a finite number > 0.
        """
        if self.log is not None:
            self.log.stop()
        self.log = EnvironmentLog(self.lab, self.readings, period_s)
        return self.log

    def _track_run(self, name: str, doc: dict[str, Any]) -> None:
        if name == "start":
            self._run_uid = str(doc["uid"])
        elif name == "stop":
            self._run_uid = None

    # -- called by the interlocks --------------------------------------------

    def _on_interlock(self, event: InterlockEvent) -> None:
        self._recorder.record(event)

    def _on_hard_limit(self, reason: str) -> None:
        # A suspension or pause being set up is a transient state; wait it out
        # so the abort request reaches a running or paused plan.
        deadline = time.monotonic() + 2.0
        while self.lab.state in ("suspending", "pausing") and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.lab.current is not None and not self.lab.current.done:
            self.lab.abort(reason)

    # -- public ---------------------------------------------------------------

    @property
    def suspended_by(self) -> list[str]:
        """Interlocks holding the current plan suspended now (empty when none is).

        Bluesky has no "suspended" RunEngine state: while a suspender holds a
        plan, ``lab.state`` and ``run.state`` stay ``"running"``; this says why
        nothing moves.
        """
        return self._recorder.holding

    def readings(self) -> dict[str, float | bool | str]:
        """Live values of the room: flows, face velocities, sensors, power."""
        return room_readings(self.room)

    def snapshot(self) -> dict[str, Any]:
        """The environment snapshot merged into every run's start document."""
        readings = {k: (None if _is_nan(v) else v) for k, v in self.readings().items()}
        safety: dict[str, Any] = {
            "unacknowledged_alarms": [a.alarm_id for a in self.alarms.unacknowledged()],
            "active_alarms": [a.alarm_id for a in self.alarms.active()],
        }
        if self.interlocks is not None:
            safety.update(self.interlocks.describe())
        return {"room": readings, "safety": safety}

    def energy_kwh(self) -> dict[str, float]:
        """Energy per system metered so far, in kWh."""
        return self.room.energy_kwh()

    def status(self) -> dict[str, Any]:
        """A summary for ``%lab``: unacknowledged and active alarms, trips, power."""
        unacknowledged = self.alarms.unacknowledged()
        return {
            "unacknowledged_alarms": [
                f"{a.alarm_id} [{a.severity}] {a.source}: {a.message}" for a in unacknowledged
            ],
            "active_alarms": len(self.alarms.active()),
            "interlocks_tripped": self.interlocks.tripped() if self.interlocks else [],
            "suspended_by": self.suspended_by,
            "interlocks_installed": self.interlocks is not None,
            "hvac_mode": str(self.room.hvac.mode.get()),
            "power_w": sum(self.room.power_w().values()),
            "energy_kwh": self.energy_kwh(),
            "environment_log": (
                {
                    "run_uid": self.log.uid,
                    "readings": self.log.readings,
                    "running": self.log.running,
                }
                if self.log is not None
                else None
            ),
        }

    def close(self) -> None:
        """Stop the monitor thread, remove the interlocks and the snapshot (idempotent).

        The room's devices stay in the lab.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.log is not None:
            self.log.stop()
        if self.interlocks is not None:
            self.interlocks.remove()
        if self.snapshot in self.lab.snapshot_providers:
            self.lab.snapshot_providers.remove(self.snapshot)
        self.lab.unsubscribe(self._token)


def room_readings(room: SimulatedRoom) -> dict[str, float | bool | str]:
    """Live values of the room: flows, face velocities, sensors, power."""
    values: dict[str, float | bool | str] = {
        "hvac_mode": str(room.hvac.mode.get()),
        "air_changes_per_h": float(room.hvac.air_changes.get()),
        "supply_flow_m3_s": float(room.hvac.supply_flow.get()),
    }
    for name, hood in room.hoods.items():
        values[f"{name}_sash_m"] = float(hood.sash_position.get())
        values[f"{name}_face_velocity_m_s"] = float(hood.face_velocity.get())
        values[f"{name}_alarm"] = bool(hood.alarm.get())
    sensors = room.sensors
    for key, signal in (
        ("temperature_c", sensors.temperature),
        ("humidity_pct", sensors.humidity),
        ("co2_ppm", sensors.co2),
        ("vapour_ppm", sensors.vapour),
    ):
        values[key] = float(signal.get())
    values["lights_on"] = bool(room.lighting.lights_on.get())
    values["occupants"] = room.conditions.occupants
    values["estop_pressed"] = bool(room.estop.pressed.get())
    values["power_w"] = sum(room.power_w().values())
    return values


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def attach_room(
    lab: Lab,
    room: SimulatedRoom | None = None,
    *,
    interlocks: bool = True,
    settings: InterlockSettings | None = None,
    record_interruptions: bool = True,
) -> RoomLink:
    """Add the lab room to ``lab``: devices, environment snapshot, interlocks, alarm log.

    Args:
        lab: The lab (a simulated one unless ``room`` is given).
        room: The room; default: :func:`build_room` on ``lab.bench.world``.
        interlocks: Install the safety interlocks on ``lab.engine``.
        settings: Interlock thresholds and timing.
        record_interruptions: Make Bluesky record every suspension in an
            ``interruptions`` stream of the run.

    Raises:
        SessionError: If no room is given and the lab has no simulated bench.
        ValueError: If a room device's name is taken in the lab.
    """
    if room is None:
        if lab.bench is None:
            raise SessionError(
                "this lab has no simulated bench to build a room on; pass room=build_room(world)"
            )
        room = build_room(lab.bench.world)
    taken = sorted(set(room.devices) & set(lab.devices))
    if taken:
        raise ValueError(
            f"room device names {taken} are taken in the lab; devices: {sorted(lab.devices)}"
        )
    for name, device in room.devices.items():
        lab.add_device(name, device)
    alarms = AlarmLog(lab.directory / "alarms.jsonl")
    link = RoomLink(lab, room, alarms, None)
    if interlocks:
        link.interlocks = SafetyInterlocks(
            room, settings, on_event=link._on_interlock, on_hard_limit=link._on_hard_limit
        )
        if record_interruptions:
            lab.engine.record_interruptions = True
        link.interlocks.install(lab.engine)
    lab.snapshot_providers.append(link.snapshot)
    lab.attach("room", link)
    return link
