"""A handle on a submitted plan: its state, progress, uids and outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from .interruptions import Interruption

RunState = Literal["queued", "running", "paused", "finished", "failed", "aborted"]
FINAL_STATES: frozenset[str] = frozenset({"finished", "failed", "aborted"})
#: The stream in which Bluesky records a run's pauses and suspensions.
INTERRUPTIONS_STREAM = "interruptions"


class Run:
    """A plan submitted to the lab; returned at once by :meth:`Lab.submit`.

    Attributes:
        plan_name: Name of the plan (from its generator).
        uids: Start-document uids of the Bluesky runs it opened so far.
        error: The exception that failed it, if any.
        reason: Why it was aborted or failed, in words.
        events: Events recorded so far.
        expected_events: Events it will record, when the plan says (``num_points``;
            for a campaign, each experiment's points times its ``campaign_budget``).
        result: What the plan returned (e.g. a campaign's results), once finished.
        submitted, started, ended: Wall-clock times (``time.time()``), or ``None``.
        interruptions: Its pauses and suspensions so far (see
            :class:`~smartlab_kernel.session.interruptions.Interruption`).
    """

    def __init__(self, plan_name: str, number: int) -> None:
        self.plan_name = plan_name
        self.number = number
        self.uids: list[str] = []
        self.error: BaseException | None = None
        self.result: Any = None
        #: Start-document metadata given at submission (user md, sample ids, campaign).
        self.md: dict[str, Any] = {}
        self.reason: str = ""
        self.events = 0
        self.expected_events: int | None = None
        self.submitted = time.time()
        self.started: float | None = None
        self.ended: float | None = None
        self.interruptions: list[Interruption] = []
        self._secondary_descriptors: set[str] = set()
        self._state: RunState = "queued"
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Run], None]] = []

    def __repr__(self) -> str:
        return f"<Run #{self.number} {self.plan_name} {self._state} uids={self.uids}>"

    @property
    def state(self) -> RunState:
        """One of queued, running, paused, finished, failed, aborted."""
        return self._state

    @property
    def done(self) -> bool:
        """True once the run has finished, failed or been aborted."""
        return self._done.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds since it started (0 while queued)."""
        if self.started is None:
            return 0.0
        return (self.ended or time.time()) - self.started

    @property
    def active(self) -> float:
        """Seconds it has been running, not counting pauses and suspensions."""
        held = sum(entry.duration for entry in list(self.interruptions))
        return max(0.0, self.elapsed - held)

    @property
    def interruption(self) -> Interruption | None:
        """The pause or suspension holding it now, if any."""
        if self.interruptions and self.interruptions[-1].ended is None and not self.done:
            return self.interruptions[-1]
        return None

    @property
    def remaining(self) -> float | None:
        """Estimated seconds left, from the event rate while running (``None`` if unknown)."""
        if not self.expected_events or not self.events or self.done:
            return None if not self.done else 0.0
        rate = self.events / max(self.active, 1e-9)
        return max(0.0, (self.expected_events - self.events) / rate)

    def on_change(self, callback: Callable[[Run], None]) -> None:
        """Call ``callback(run)`` whenever the state or progress changes.

        It is called on the thread that made the change (often the RunEngine's).
        """
        self._listeners.append(callback)

    def wait(self, timeout: float | None = None) -> list[str]:
        """Block until the run ends; return its uids.

        Raises:
            TimeoutError: If it has not ended within ``timeout`` seconds.
            Exception: The plan's own error, if it failed.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(
                f"run #{self.number} ({self.plan_name}) still {self._state} after {timeout} s"
            )
        if self._state == "failed" and self.error is not None:
            raise self.error
        return list(self.uids)

    # -- updated by the session --------------------------------------------

    def _set_state(self, state: RunState, reason: str = "") -> None:
        with self._lock:
            self._state = state
            if reason:
                self.reason = reason
            if state == "running" and self.started is None:
                self.started = time.time()
            if state in FINAL_STATES:
                self.ended = time.time()
        if state in FINAL_STATES:
            self._done.set()
        self._notify()

    def _interrupted(self, interruption: Interruption) -> None:
        if interruption not in self.interruptions:
            self.interruptions.append(interruption)
        self._notify()

    def _document(self, name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor":
            if doc.get("name") == INTERRUPTIONS_STREAM:
                self._secondary_descriptors.add(str(doc.get("uid")))
            return
        if name in ("event", "event_page") and doc.get("descriptor") in self._secondary_descriptors:
            return  # an interruption, not a measured point
        if name == "start":
            self.uids.append(str(doc["uid"]))
            points = doc.get("num_points")
            scan_length = doc.get("scan_length")
            if isinstance(points, int):
                per_run = points * (scan_length if isinstance(scan_length, int) else 1)
                budget = doc.get("campaign_budget")
                if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
                    per_run *= budget  # a campaign's experiments are runs of that size
                self.expected_events = max(self.expected_events or 0, per_run)
        elif name == "event":
            self.events += 1
        elif name == "event_page":
            self.events += len(doc.get("seq_num", ()))
        else:
            return
        self._notify()

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback(self)
