"""Turn interlock events into alarms, and know which interlocks hold the plan now.

Shared by the single-user lab (:class:`~smartlab_kernel.management.room_link.RoomLink`)
and the served lab's RE worker
(:class:`~smartlab_kernel.serve.room_service.RoomService`), so an interlock
trip reads the same in both alarm logs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .alarms import AlarmLog
from .safety import InterlockEvent

#: Events of an interlock that raise an alarm, and the severity.
_SEVERITY = {"tripped": "warning", "hard_limit": "critical"}
#: Events that clear an alarm, and the event that raised it.
_CLEARS = {"cleared": "tripped", "hard_limit_cleared": "hard_limit"}


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class InterlockAlarms:
    """Records interlock events in an alarm log; pass :meth:`record` as ``on_event``.

    A trip raises an alarm (``critical`` for the e-stop and for hard limits,
    ``warning`` otherwise); the condition clearing clears it; the plan being
    suspended or resumed is noted on the alarm, with the run's uid.

    Args:
        alarms: The alarm log.
        run_uid: Returns the uid of the run in progress (``None`` between runs).
    """

    def __init__(self, alarms: AlarmLog, run_uid: Callable[[], str | None]) -> None:
        self.alarms = alarms
        self._run_uid = run_uid
        self._holding: set[str] = set()

    @property
    def holding(self) -> list[str]:
        """Interlocks holding the current plan suspended now."""
        return sorted(self._holding)

    def record(self, event: InterlockEvent) -> None:
        """Record one interlock event (called on the interlocks' monitor thread)."""
        if event.event == "suspended":
            self._holding.add(event.interlock)
        elif event.event == "resumed":
            self._holding.discard(event.interlock)
        source = f"interlock:{event.interlock}"
        context = {
            "value": None if _is_nan(event.value) else event.value,
            "simulated_time_s": event.simulated_time_s,
            "run_uid": self._run_uid(),
        }
        if event.event in _SEVERITY:
            severity = "critical" if event.interlock == "estop" else _SEVERITY[event.event]
            if event.event == "hard_limit":
                source = f"hard_limit:{event.interlock}"
            self.alarms.raise_alarm(source, event.message, severity=severity, context=context)  # type: ignore[arg-type]
        elif event.event in _CLEARS:
            if event.event == "hard_limit_cleared":
                source = f"hard_limit:{event.interlock}"
            alarm = self.alarms.find_active(source)
            if alarm is not None:
                self.alarms.clear(alarm.alarm_id)
        else:  # "suspended" / "resumed": what the interlock did to the running plan
            latest = self.alarms.latest(source)
            if latest is not None:
                self.alarms.annotate(latest.alarm_id, event.event, **context)
