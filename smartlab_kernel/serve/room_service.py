"""The served lab's room, in the RE worker: interlocks on the queue's RunEngine, alarms, Redis.

Started by the RE Manager's profile (:mod:`~smartlab_kernel.serve.profile`).
The room's interlocks are Bluesky suspenders on the queue's RunEngine, as in
a single-user lab, so a fume-hood alarm or the e-stop suspends whichever
student's plan is running. A hard limit pauses the plan (the queue shows it
paused; an instructor aborts or resumes it), because aborting from a thread
other than the worker's would bypass the queue's bookkeeping.

A thread publishes the room's state (readings, status, energy, alarms) to
Redis twice a second and carries out the commands the HTTP server queued
for it (see :mod:`~smartlab_kernel.serve.room_bridge` and
:mod:`~smartlab_kernel.serve.room_router`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis
from bluesky import RunEngine

from ..devices.room import SimulatedRoom
from ..management.alarms import AlarmLog
from ..management.interlock_alarms import InterlockAlarms
from ..management.room_link import room_readings
from ..management.safety import InterlockSettings, SafetyInterlocks
from .room_bridge import COMMANDS, REPLY_TTL_S, STATE_TTL_S, RoomKeys, json_safe, redis_url

logger = logging.getLogger(__name__)


class RoomService:
    """Runs the room next to the queue's RunEngine and serves it through Redis.

    Args:
        engine: The queue's RunEngine.
        room: The simulated room (on the bench's world).
        alarms: The lab's alarm log (a file in the server's state folder).
        redis_address: ``host:port`` of the lab's Redis.
        prefix: The queue's Redis prefix (the room's keys go under it).
        settings: Interlock thresholds and timing.
        publish_every_s: Real seconds between two published states.
    """

    def __init__(
        self,
        engine: RunEngine,
        room: SimulatedRoom,
        alarms: AlarmLog,
        redis_address: str,
        prefix: str,
        *,
        settings: InterlockSettings | None = None,
        publish_every_s: float = 0.5,
    ) -> None:
        self.engine = engine
        self.room = room
        self.alarms = alarms
        self.keys = RoomKeys(prefix)
        self.publish_every_s = publish_every_s
        self._redis = redis.Redis.from_url(redis_url(redis_address), socket_timeout=5)
        self._run_uid: str | None = None
        self.recorder = InterlockAlarms(alarms, lambda: self._run_uid)
        self.interlocks = SafetyInterlocks(
            room, settings, on_event=self.recorder.record, on_hard_limit=self._on_hard_limit
        )
        self._token = engine.subscribe(self._track_run)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="smartlab-room", daemon=True)

    def start(self) -> RoomService:
        """Install the interlocks and start publishing; return self."""
        self.engine.record_interruptions = True
        self.interlocks.install(self.engine)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop publishing and remove the interlocks."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.interlocks.remove()
        self.engine.unsubscribe(self._token)
        self._redis.close()

    # -- state ----------------------------------------------------------------

    def _track_run(self, name: str, doc: dict[str, Any]) -> None:
        if name == "start":
            self._run_uid = str(doc["uid"])
        elif name == "stop":
            self._run_uid = None

    def _on_hard_limit(self, reason: str) -> None:
        deadline = time.monotonic() + 2.0
        while self.engine.state in ("suspending", "pausing") and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.engine.state == "running":
            logger.error("hard limit: pausing the running plan: %s", reason)
            self.engine.request_pause(defer=False)

    def snapshot(self) -> dict[str, Any]:
        """The environment recorded in each run's start document (as in a single-user lab)."""
        return json_safe(
            {
                "time": time.time(),
                "simulated_time_s": self.room.world.clock.now(),
                "room": room_readings(self.room),
                "safety": {
                    "unacknowledged_alarms": [a.alarm_id for a in self.alarms.unacknowledged()],
                    "active_alarms": [a.alarm_id for a in self.alarms.active()],
                    **self.interlocks.describe(),
                },
            }
        )

    def state(self) -> dict[str, Any]:
        """What the HTTP server hands to users: readings, status, energy, alarms."""
        unacknowledged = self.alarms.unacknowledged()
        status = {
            "unacknowledged_alarms": [
                f"{a.alarm_id} [{a.severity}] {a.source}: {a.message}" for a in unacknowledged
            ],
            "active_alarms": len(self.alarms.active()),
            "interlocks_tripped": self.interlocks.tripped(),
            "suspended_by": self.recorder.holding,
            "interlocks_installed": True,
            "hvac_mode": str(self.room.hvac.mode.get()),
            "power_w": sum(self.room.power_w().values()),
            "run_uid": self._run_uid,
        }
        return json_safe(
            {
                "readings": room_readings(self.room),
                "status": status,
                "energy_kwh": self.room.energy_kwh(),
                "alarms": [a.to_dict() for a in self.alarms.all()],
                "published_at": time.time(),
            }
        )

    # -- commands -------------------------------------------------------------

    def execute(self, command: dict[str, Any]) -> dict[str, Any]:
        """Carry out one command.

        Returns:
            ``{"ok": True, ...}``, or ``{"ok": False, "error": <what was wrong>}``.
        """
        op = command.get("op")
        try:
            if op == "acknowledge":
                alarm = self.alarms.acknowledge(
                    str(command.get("alarm_id")),
                    str(command.get("who", "")),
                    str(command.get("comment", "")),
                )
                return {"ok": True, "alarm": alarm.to_dict()}
            if op == "press_estop":
                self.room.estop.press()
            elif op == "release_estop":
                self.room.estop.release()
            elif op == "hvac_mode":
                self.room.hvac.set(command.get("mode")).wait(timeout=5)
            elif op == "sash":
                hood = self.room.hoods.get(str(command.get("hood")))
                if hood is None:
                    raise ValueError(
                        f"no fume hood {command.get('hood')!r}; hoods: {sorted(self.room.hoods)}"
                    )
                hood.set(command.get("metres"))  # moves in simulated time; not waited for
            elif op == "occupants":
                self.room.set_occupants(command.get("count"))  # type: ignore[arg-type]
            else:
                raise ValueError(f"unknown room command {op!r}; known: {sorted(COMMANDS)}")
        except KeyError as exc:
            return {"ok": False, "error": str(exc.args[0]) if exc.args else str(exc)}
        except Exception as exc:  # a bad value: tell the caller, keep serving
            return {"ok": False, "error": str(exc)}
        return {"ok": True}

    def _loop(self) -> None:
        next_publish = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_publish:
                    self._redis.set(self.keys.state, json.dumps(self.state()), ex=STATE_TTL_S)
                    next_publish = now + self.publish_every_s
                item = self._redis.blpop([self.keys.commands], timeout=self.publish_every_s)
                if item is not None:
                    self._answer(json.loads(item[1]))
            except redis.RedisError as exc:
                logger.warning("room service: Redis unavailable (%s); retrying", exc)
                self._stop.wait(1.0)

    def _answer(self, command: dict[str, Any]) -> None:
        reply = self.execute(command)
        if reply["ok"]:  # publish the effect before the caller reads the state again
            self._redis.set(self.keys.state, json.dumps(self.state()), ex=STATE_TTL_S)
        key = self.keys.reply(str(command.get("id")))
        self._redis.rpush(key, json.dumps(reply))
        self._redis.expire(key, REPLY_TTL_S)
