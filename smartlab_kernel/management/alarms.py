"""Alarms: raised, acknowledged by an operator, cleared; kept as JSON lines on disk."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["warning", "critical"]
SEVERITIES: tuple[str, ...] = ("warning", "critical")


@dataclass
class Alarm:
    """One alarm and what happened to it.

    Attributes:
        alarm_id: ``"A0001"``, ``"A0002"``, ... unique within a log.
        source: What raised it (e.g. ``"hood_1"``, ``"interlock:vapour"``).
        message: What is wrong, in words.
        severity: ``"warning"`` or ``"critical"``.
        raised_at: When it was raised (``time.time()``).
        context: Extra facts (value, limits, run uids).
        acknowledged_by, acknowledged_at, comment: Who acknowledged it, when, and why.
        cleared_at: When the condition returned to normal (``None`` while active).
    """

    alarm_id: str
    source: str
    message: str
    severity: str = "warning"
    raised_at: float = field(default_factory=time.time)
    context: dict[str, Any] = field(default_factory=dict)
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    comment: str = ""
    cleared_at: float | None = None

    @property
    def active(self) -> bool:
        """True until the alarm is cleared."""
        return self.cleared_at is None

    @property
    def acknowledged(self) -> bool:
        """True once an operator has acknowledged it."""
        return self.acknowledged_by is not None

    def to_dict(self) -> dict[str, Any]:
        """The alarm as a JSON-ready dict."""
        return dataclasses.asdict(self)


class AlarmLog:
    """Thread-safe list of alarms, appended to ``path`` as JSON lines.

    Each line is ``{"event": "raised" | "acknowledged" | "cleared" | <note>, "alarm": {...}}``
    with the alarm's state after the event; opening an existing file replays
    it, so alarms survive a restart and unacknowledged ones stay visible.

    Args:
        path: The JSON-lines file (created if missing); ``None`` keeps alarms in memory.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._alarms: dict[str, Alarm] = {}
        self._lock = threading.RLock()
        self._listeners: list[Callable[[str, Alarm], None]] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self._replay(self.path)

    def _replay(self, path: Path) -> None:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                alarm = Alarm(**record["alarm"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"alarm log {path} line {number} is not an alarm record: {exc}"
                ) from exc
            self._alarms[alarm.alarm_id] = alarm

    def _record(self, event: str, alarm: Alarm) -> None:
        if self.path is not None:
            line = json.dumps({"event": event, "alarm": alarm.to_dict()}, default=str)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        for listener in list(self._listeners):
            listener(event, alarm)

    def subscribe(self, listener: Callable[[str, Alarm], None]) -> None:
        """Call ``listener(event, alarm)`` after every raise, acknowledge and clear."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str, Alarm], None]) -> None:
        """Undo :meth:`subscribe` (unknown listeners are ignored)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def raise_alarm(
        self,
        source: str,
        message: str,
        *,
        severity: Severity = "warning",
        context: dict[str, Any] | None = None,
    ) -> Alarm:
        """Raise a new alarm and return it.

        Raises:
            ValueError: If ``source`` or ``message`` is empty or ``severity`` is unknown.
        """
        if not str(source).strip() or not str(message).strip():
            raise ValueError(
                f"an alarm needs a source and a message, got {source!r} and {message!r}"
            )
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {list(SEVERITIES)}, got {severity!r}")
        with self._lock:
            alarm_id = f"A{len(self._alarms) + 1:04d}"
            alarm = Alarm(alarm_id, str(source), str(message), severity, context=context or {})
            self._alarms[alarm_id] = alarm
            self._record("raised", alarm)
        return alarm

    def get(self, alarm_id: str) -> Alarm:
        """Return the alarm ``alarm_id``.

        Raises:
            KeyError: If there is none, naming the ids there are.
        """
        with self._lock:
            if alarm_id not in self._alarms:
                raise KeyError(f"no alarm {alarm_id!r}; alarms: {sorted(self._alarms)}")
            return self._alarms[alarm_id]

    def acknowledge(self, alarm_id: str, who: str, comment: str = "") -> Alarm:
        """Record that operator ``who`` has seen the alarm (with an optional comment).

        Raises:
            KeyError: If there is no such alarm.
            ValueError: If ``who`` is empty or the alarm is acknowledged already.
        """
        if not isinstance(who, str) or not who.strip():
            raise ValueError(f"say who acknowledges the alarm (an operator name), got {who!r}")
        with self._lock:
            alarm = self.get(alarm_id)
            if alarm.acknowledged:
                raise ValueError(
                    f"alarm {alarm_id} was acknowledged already by {alarm.acknowledged_by!r} "
                    f"at {time.ctime(alarm.acknowledged_at)}"
                )
            alarm.acknowledged_by = who.strip()
            alarm.acknowledged_at = time.time()
            alarm.comment = str(comment)
            self._record("acknowledged", alarm)
        return alarm

    def clear(self, alarm_id: str) -> Alarm:
        """Mark the alarm's condition as back to normal (clearing twice is harmless).

        Raises:
            KeyError: If there is no such alarm.
        """
        with self._lock:
            alarm = self.get(alarm_id)
            if alarm.active:
                alarm.cleared_at = time.time()
                self._record("cleared", alarm)
        return alarm

    def annotate(self, alarm_id: str, event: str, **facts: Any) -> Alarm:
        """Record something that happened because of the alarm (e.g. a plan suspended).

        The note is appended to ``alarm.context["events"]`` and to the file.

        Raises:
            KeyError: If there is no such alarm.
        """
        with self._lock:
            alarm = self.get(alarm_id)
            note = {"event": str(event), "time": time.time(), **facts}
            alarm.context.setdefault("events", []).append(note)
            self._record(str(event), alarm)
        return alarm

    def latest(self, source: str) -> Alarm | None:
        """The newest alarm from ``source`` (active or not), if any."""
        matches = [a for a in self.all() if a.source == source]
        return matches[-1] if matches else None

    def all(self) -> list[Alarm]:
        """Every alarm, oldest first."""
        with self._lock:
            return list(self._alarms.values())

    def active(self) -> list[Alarm]:
        """Alarms whose condition has not cleared."""
        return [a for a in self.all() if a.active]

    def unacknowledged(self) -> list[Alarm]:
        """Alarms no operator has acknowledged yet (cleared or not)."""
        return [a for a in self.all() if not a.acknowledged]

    def find_active(self, source: str) -> Alarm | None:
        """The newest active alarm from ``source``, if any."""
        matches = [a for a in self.active() if a.source == source]
        return matches[-1] if matches else None
