"""A daemon that logs the room into the catalog continuously, beside the experiments.

:func:`~smartlab_kernel.plans.monitor_environment` records the room as a
plan, which occupies the RunEngine. :class:`EnvironmentLog` records it from
a thread of its own instead, while plans run: one run (``plan_name`` =
``"environment_log"``) whose ``environment`` stream gets a reading every
``period_s``. Its documents are made with event-model's ``compose_run`` and
go through the lab's durable capture (journal, then catalog) like a plan's,
so a crash loses none of the readings already taken, and the run is closed
as failed on the next start if the process died.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from event_model import compose_run

from ..plans.monitoring import ENVIRONMENT_STREAM

if TYPE_CHECKING:
    from ..session.lab import Lab

#: ``plan_name`` of the logging run.
ENVIRONMENT_LOG_PLAN = "environment_log"

Reader = Callable[[], Mapping[str, float | bool | str]]


def _data_key(value: float | bool | str) -> dict[str, Any]:
    if isinstance(value, bool):
        dtype = "boolean"
    elif isinstance(value, int | float):
        dtype = "number"
    else:
        dtype = "string"
    return {"dtype": dtype, "shape": [], "source": "smartlab:room"}


class EnvironmentLog:
    """Read the room every ``period_s`` and record it in the catalog until stopped.

    Args:
        lab: The lab whose storage receives the documents.
        read: Returns the readings, e.g. ``{"temperature_c": 21.3, ...}``;
            the first reading fixes the stream's keys.
        period_s: Time between readings, in simulated seconds when the lab
            has a simulated bench (its clock sets the pace), else real seconds.
        md: Extra start-document metadata.

    Raises:
        ValueError: If ``period_s`` is not a finite number > 0.
    """

    def __init__(
        self,
        lab: Lab,
        read: Reader,
        period_s: float,
        md: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(period_s, bool) or not isinstance(period_s, int | float):
            raise TypeError(f"period_s must be a number of seconds, got {period_s!r}")
        if not math.isfinite(period_s) or period_s <= 0:
            raise ValueError(f"period_s must be a finite number > 0 seconds, got {period_s!r}")
        self.lab = lab
        self.read = read
        self.period_s = float(period_s)
        clock = lab.bench.world.clock if lab.bench is not None else None
        self.real_period_s = clock.real_seconds(period_s) if clock is not None else self.period_s
        self.readings = 0
        self.error: str | None = None
        first = dict(read())
        self._bundle = compose_run(
            metadata={
                "plan_name": ENVIRONMENT_LOG_PLAN,
                "purpose": "environment monitoring",
                "operator": lab.operator,
                "lab_session": lab.session_id,
                "monitor": {"period_s": self.period_s, "stream": ENVIRONMENT_STREAM},
                **dict(md or {}),
            }
        )
        self.uid: str = self._bundle.start_doc["uid"]
        lab.storage("start", dict(self._bundle.start_doc))
        self._descriptor = self._bundle.compose_descriptor(
            name=ENVIRONMENT_STREAM,
            data_keys={key: _data_key(value) for key, value in first.items()},
        )
        lab.storage("descriptor", dict(self._descriptor.descriptor_doc))
        self._keys = list(first)
        self._record(first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="environment-log", daemon=True)
        self._thread.start()

    def _record(self, values: Mapping[str, Any]) -> None:
        data = {key: values.get(key) for key in self._keys}
        now = time.time()
        event = self._descriptor.compose_event(
            data=data, timestamps=dict.fromkeys(self._keys, now), seq_num=self.readings + 1
        )
        self.lab.storage("event", dict(event))
        self.readings += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.real_period_s):
            try:
                self._record(self.read())
            except Exception as exc:  # a failed reading ends the log, saying why
                self.error = f"{type(exc).__name__}: {exc}"
                self._close("fail", f"reading the room failed: {self.error}")
                return

    @property
    def running(self) -> bool:
        """Whether readings are still being taken."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop logging and close the run (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=10)
        if self.error is None:
            self._close("success", "")

    def status(self) -> dict[str, Any]:
        """For ``%lab``: the run, readings so far, whether it runs, and its error."""
        return {
            "run_uid": self.uid,
            "readings": self.readings,
            "running": self.running,
            "error": self.error,
        }

    def _close(self, status: Literal["success", "fail"], reason: str) -> None:
        stop = self._bundle.compose_stop(exit_status=status, reason=reason)
        self.lab.storage("stop", dict(stop))


__all__ = ["ENVIRONMENT_LOG_PLAN", "EnvironmentLog"]
