"""Every pause and suspension of the RunEngine: what, when, for how long.

Bluesky itself records each interruption as an event of the run's
``interruptions`` stream (``RunEngine.record_interruptions``). The
:class:`InterruptionLog` keeps the same facts in Python for the session: it
watches the RunEngine's state, so the plan wrapper can tell that a step was
interrupted (and for how long it was held), the run's stop document can
summarise them, and widgets can say "suspended by interlock ...".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: RunEngine states of a pause (a suspension keeps the state ``running``).
PAUSED_STATES = frozenset({"pausing", "paused"})


@dataclass
class Interruption:
    """One pause or suspension of a running plan.

    Attributes:
        kind: ``"pause"`` (requested by a person or the session) or
            ``"suspend"`` (a Bluesky suspender, e.g. a safety interlock).
        reason: Why, in words (the suspender's justification for a suspension).
        started: Wall-clock time (``time.time()``) it began.
        ended: Wall-clock time the plan went on (or was stopped); ``None`` while it lasts.
        started_monotonic: ``time.monotonic()`` when it began.
        ended_monotonic: ``time.monotonic()`` when it ended, else ``None``.
    """

    kind: str
    reason: str
    started: float
    ended: float | None = None
    started_monotonic: float = 0.0
    ended_monotonic: float | None = None

    @property
    def duration(self) -> float:
        """Seconds it lasted (so far, while it lasts)."""
        end = self.ended_monotonic if self.ended_monotonic is not None else time.monotonic()
        return max(0.0, end - self.started_monotonic)

    def describe(self) -> str:
        """``"pause 1.2 s (paused by the operator)"``."""
        verb = "suspended" if self.kind == "suspend" else "paused"
        ongoing = "" if self.ended is not None else ", ongoing"
        return f"{verb} {self.duration:.1f} s{ongoing} ({self.reason})"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "started": self.started,
            "ended": self.ended,
            "duration_s": self.duration,
        }


class InterruptionLog:
    """The interruptions of one RunEngine.

    Pauses are seen through the RunEngine's ``state_hook`` (``pausing`` /
    ``paused`` until ``running`` again). A suspension leaves the RunEngine in
    the ``running`` state, so it is seen through the RunEngine's own
    ``_start_suspender`` / ``_resume_from_suspender`` commands, which
    :meth:`watch` wraps (``RunEngine.register_command``).
    """

    def __init__(self) -> None:
        self._entries: list[Interruption] = []
        self._lock = threading.Lock()
        self._pause_reason = "paused by the operator"
        self._listeners: list[Callable[[Interruption], None]] = []

    def watch(self, engine: Any) -> None:
        """Follow ``engine``'s pauses and suspensions (sets its ``state_hook``)."""
        engine.state_hook = self.on_state
        registry = engine._command_registry
        start, resume = registry["_start_suspender"], registry["_resume_from_suspender"]

        async def start_suspender(msg: Any) -> Any:
            justification = msg.args[2] if len(msg.args) > 2 else None
            self.begin("suspend", str(justification or "suspended by a Bluesky suspender"))
            return await start(msg)

        async def resume_from_suspender(msg: Any) -> Any:
            self.end()
            return await resume(msg)

        engine.register_command("_start_suspender", start_suspender)
        engine.register_command("_resume_from_suspender", resume_from_suspender)

    # -- fed by the session ------------------------------------------------------

    def set_pause_reason(self, reason: str) -> None:
        """Say why the next pause is requested (before requesting it)."""
        self._pause_reason = reason

    def on_state(self, new: str, old: str) -> None:
        """The RunEngine's ``state_hook``: open and close pauses."""
        new = str(new)
        current = self.current
        if new in PAUSED_STATES and current is None:
            reason, self._pause_reason = self._pause_reason, "paused by the operator"
            self.begin("pause", reason)
        elif current is not None and (
            new == "idle" or (new == "running" and current.kind == "pause")
        ):
            self.end()

    def begin(self, kind: str, reason: str) -> None:
        """Record that an interruption began now (unless one is in progress)."""
        with self._lock:
            if self.current is not None:
                return
            entry = Interruption(kind, reason, time.time(), None, time.monotonic())
            self._entries.append(entry)
        self._tell(entry)

    def end(self) -> None:
        """Record that the interruption in progress ended now."""
        with self._lock:
            entry = self.current
            if entry is None:
                return
            entry.ended, entry.ended_monotonic = time.time(), time.monotonic()
        self._tell(entry)

    def _tell(self, entry: Interruption) -> None:
        for listener in list(self._listeners):
            listener(entry)

    def on_change(self, callback: Callable[[Interruption], None]) -> None:
        """Call ``callback(interruption)`` when one begins or ends (on the changing thread)."""
        self._listeners.append(callback)

    # -- read by the plan wrapper and the run ------------------------------------

    @property
    def current(self) -> Interruption | None:
        """The interruption in progress, if any."""
        if self._entries and self._entries[-1].ended is None:
            return self._entries[-1]
        return None

    @property
    def count(self) -> int:
        """How many interruptions began so far (a mark for :meth:`since`)."""
        return len(self._entries)

    def since(self, mark: int) -> list[Interruption]:
        """Interruptions that began after :attr:`count` was ``mark``."""
        with self._lock:
            return list(self._entries[mark:])

    def held_seconds(self, since_monotonic: float) -> float:
        """Seconds the plan was held (interrupted) since ``time.monotonic()`` was that value."""
        now = time.monotonic()
        with self._lock:
            entries = list(self._entries)
        held = 0.0
        for entry in reversed(entries):
            end = entry.ended_monotonic if entry.ended_monotonic is not None else now
            if end <= since_monotonic:
                break
            held += end - max(entry.started_monotonic, since_monotonic)
        return held


def summarise(interruptions: Sequence[Interruption]) -> str:
    """One sentence for a stop document's ``reason``; empty when there were none."""
    if not interruptions:
        return ""
    times = "1 time" if len(interruptions) == 1 else f"{len(interruptions)} times"
    parts = "; ".join(entry.describe() for entry in interruptions)
    return f"interrupted {times}: {parts}"
