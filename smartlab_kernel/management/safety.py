"""Safety interlocks: Bluesky suspenders on the room's hoods, vapour sensor and e-stop.

The room's readings are computed from simulated time, so nothing pushes
them. One monitor thread polls the room every ``poll_interval_s`` real
seconds and ``put``s each reading into a plain :class:`ophyd.Signal`; the
suspenders subscribe to those signals as they would to EPICS PVs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from bluesky import RunEngine
from bluesky.suspenders import SuspenderBase
from ophyd import Signal

from ..devices.room import FumeHood, SimulatedRoom

log = logging.getLogger(__name__)

#: Seconds a trip waits for a busy RunEngine loop to make its suspension event
#: (bluesky's own wait is 0.1 s, after which the trip is dropped).
EVENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class InterlockSettings:
    """Thresholds and timing of the interlocks.

    Attributes:
        vapour_threshold_ppm: Solvent vapour above which plans are suspended.
        vapour_hard_limit_ppm: Vapour above which the running plan is aborted.
        settle_s: Simulated seconds a condition must have cleared before a
            suspended plan resumes (converted with the room's clock).
        poll_interval_s: Real seconds between two polls of the room.
        face_velocity_band: ``(low, high)`` m/s; ``None`` uses each hood's own band.
    """

    vapour_threshold_ppm: float = 25.0
    vapour_hard_limit_ppm: float = 100.0
    settle_s: float = 60.0
    poll_interval_s: float = 0.05
    face_velocity_band: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.vapour_threshold_ppm < self.vapour_hard_limit_ppm:
            raise ValueError(
                "need 0 < vapour_threshold_ppm < vapour_hard_limit_ppm, got "
                f"{self.vapour_threshold_ppm!r} and {self.vapour_hard_limit_ppm!r}"
            )
        if not 0 <= self.settle_s < math.inf:
            raise ValueError(f"settle_s must be a finite number >= 0, got {self.settle_s!r}")
        if not 0.001 <= self.poll_interval_s <= 10:
            raise ValueError(
                "poll_interval_s must be from 0.001 to 10 real seconds, "
                f"got {self.poll_interval_s!r}"
            )
        band = self.face_velocity_band
        if band is not None and not 0 < band[0] < band[1]:
            raise ValueError(
                f"face_velocity_band must be (low, high) with 0 < low < high, got {band}"
            )


@dataclass
class InterlockEvent:
    """A change of an interlock, as recorded in the alarm log.

    ``event`` is ``tripped``, ``suspended`` (the plan stopped), ``cleared``,
    ``resumed`` (the plan went on), ``hard_limit`` or ``hard_limit_cleared``.
    """

    interlock: str
    event: str
    message: str
    value: Any = None
    time: float = field(default_factory=time.time)
    simulated_time_s: float | None = None


class InterlockSuspender(SuspenderBase):
    """A suspender that reports its trips and resumes.

    Args:
        signal: The signal the monitor thread updates.
        name: Name of the interlock, e.g. ``"hood_1_face_velocity"``.
        unsafe: ``unsafe(value)`` is true when plans must stop (NaN counts as unsafe).
        describe: Says in words why a value is unsafe.
        report: Called with ``(suspender, event, value)`` on each change.
        sleep: Real seconds to wait after the condition clears before resuming.
    """

    def __init__(
        self,
        signal: Signal,
        *,
        name: str,
        unsafe: Callable[[Any], bool],
        describe: Callable[[Any], str],
        report: Callable[[InterlockSuspender, str, Any], None],
        sleep: float = 0.0,
    ) -> None:
        super().__init__(signal, sleep=sleep, pre_plan=self._on_suspend, post_plan=self._on_resume)
        self.name = name
        self._unsafe = unsafe
        self._describe = describe
        self._report = report
        self.condition = False

    def __call__(self, value: Any, **kwargs: Any) -> None:
        """Take a new value of the signal (ophyd's subscription callback).

        This is bluesky's ``SuspenderBase.__call__`` with one change. The
        base class gives the RunEngine's event loop 0.1 s to make the event
        a suspension waits on; when the loop is busy longer (a slow device
        call, a loaded machine) it raises "Could not create the suspender
        event" and drops the trip: the running plan goes on although the
        interlock tripped. Here the event is made first, waiting for the loop
        up to :data:`EVENT_TIMEOUT`, outside the suspender's lock (the loop
        takes that lock when a plan starts, so waiting inside it could
        deadlock); the suspension is then requested as bluesky does.

        Raises:
            RuntimeError: The loop did not answer within :data:`EVENT_TIMEOUT`
                (logged as an error too: the trip could not suspend the plan).
        """
        engine = self.RE
        if engine is None:
            return
        made = self._new_event(engine) if self._ev is None and self._unsafe(value) else None
        with self._lock:
            loop = engine._loop
            if self._should_suspend(value):
                self._tripped = True
                if self._ev is None:
                    if made is None:
                        log.error(
                            "interlock %s: no suspension event; plan not suspended", self.name
                        )
                        raise RuntimeError("Could not create the suspender event")
                    self._ev = made
                    request = partial(
                        engine.request_suspend,
                        made.wait,
                        pre_plan=self._pre_plan,
                        post_plan=self._post_plan,
                        justification=self._get_justification(),
                    )
                    if engine.state.is_running:
                        loop.call_soon_threadsafe(request)
            elif self._should_resume(value):
                self._SuspenderBase__set_event(loop)  # type: ignore[attr-defined]
                self._tripped = False

    def _new_event(self, engine: RunEngine) -> asyncio.Event | None:
        """An ``asyncio.Event`` made on ``engine``'s loop (``None`` if it did not answer)."""
        loop = engine._loop
        if threading.get_ident() == getattr(loop, "_thread_id", None):
            return asyncio.Event()
        made = threading.Event()
        box: list[asyncio.Event] = []

        def make() -> None:
            box.append(asyncio.Event())
            made.set()

        handle = loop.call_soon_threadsafe(make)
        if not made.wait(EVENT_TIMEOUT):
            handle.cancel()
            return None
        return box[0]

    def __repr__(self) -> str:
        # The base class's repr shows pre_plan/post_plan, which are bound
        # methods of this object: that would recurse.
        return f"{type(self).__name__}({self.name!r}, sleep={self._sleep:g})"

    def _should_suspend(self, value: Any) -> bool:
        unsafe = bool(self._unsafe(value))
        if unsafe != self.condition:
            self.condition = unsafe
            self._report(self, "tripped" if unsafe else "cleared", value)
        return unsafe

    def _should_resume(self, value: Any) -> bool:
        return not self._unsafe(value)

    def _get_justification(self) -> str:
        return f"interlock {self.name} tripped: {self._describe(self._sig.get())}"

    def _on_suspend(self) -> Generator[Any, Any, None]:
        self._report(self, "suspended", self._sig.get())
        yield from ()

    def _on_resume(self) -> Generator[Any, Any, None]:
        self._report(self, "resumed", self._sig.get())
        yield from ()


def _band_check(
    hood: FumeHood, low: float, high: float
) -> tuple[Callable[[], float], Callable[[Any], bool], Callable[[Any], str]]:
    """Return (read, unsafe, describe) for one hood's face velocity."""

    def read() -> float:
        return float(hood.face_velocity.get())

    def unsafe(value: Any) -> bool:
        return not low <= value <= high

    def describe(value: Any) -> str:
        return f"face velocity {value:.3g} m/s (safe band {low:g} to {high:g} m/s)"

    return read, unsafe, describe


class SafetyInterlocks:
    """Suspenders for every hood's face velocity, the vapour sensor and the e-stop.

    A hood outside its face-velocity band, vapour above the threshold or a
    pressed e-stop suspends the running plan (Bluesky stops at the current
    message and holds); when the condition clears, the plan resumes after the
    settle time. Vapour above the hard limit calls ``on_hard_limit(reason)``
    once per excursion (the lab aborts the run).

    Args:
        room: The room to watch.
        settings: Thresholds and timing.
        on_event: Called with every :class:`InterlockEvent` (from the monitor
            thread or the RunEngine's thread).
        on_hard_limit: Called with the reason when a hard limit is crossed.
    """

    def __init__(
        self,
        room: SimulatedRoom,
        settings: InterlockSettings | None = None,
        *,
        on_event: Callable[[InterlockEvent], None] | None = None,
        on_hard_limit: Callable[[str], None] | None = None,
    ) -> None:
        self.room = room
        self.settings = settings or InterlockSettings()
        self.events: list[InterlockEvent] = []
        self._on_event = on_event
        self._on_hard_limit = on_hard_limit
        self._hard_tripped = False
        self._channels: list[tuple[Callable[[], Any], Signal]] = []
        self._signals: dict[str, Signal] = {}
        self.suspenders: list[InterlockSuspender] = []
        self.engine: RunEngine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        sleep = room.world.clock.real_seconds(self.settings.settle_s)
        for name, hood in room.hoods.items():
            low, high = self.settings.face_velocity_band or (
                float(hood.band_low.get()),
                float(hood.band_high.get()),
            )
            self._add(f"{name}_face_velocity", *_band_check(hood, low, high), sleep)
        threshold = self.settings.vapour_threshold_ppm
        self._add(
            "vapour",
            lambda: float(room.sensors.vapour.get()),
            lambda v: not v <= threshold,
            lambda v: f"solvent vapour {v:.3g} ppm (threshold {threshold:g} ppm)",
            sleep,
        )
        self._add(
            "estop",
            lambda: bool(room.estop.pressed.get()),
            bool,
            lambda v: "emergency stop pressed" if v else "emergency stop released",
            sleep,
        )

    def _add(
        self,
        name: str,
        read: Callable[[], Any],
        unsafe: Callable[[Any], bool],
        describe: Callable[[Any], str],
        sleep: float,
    ) -> None:
        signal = Signal(name=f"interlock_{name}", value=read())
        self._channels.append((read, signal))
        self._signals[name] = signal
        self.suspenders.append(
            InterlockSuspender(
                signal,
                name=name,
                unsafe=unsafe,
                describe=describe,
                report=self._report,
                sleep=sleep,
            )
        )

    def _report(self, suspender: InterlockSuspender, event: str, value: Any) -> None:
        self._emit(suspender.name, event, suspender._describe(value), value)

    def _emit(self, name: str, event: str, message: str, value: Any) -> None:
        record = InterlockEvent(
            name, event, message, value, simulated_time_s=self.room.world.clock.now()
        )
        self.events.append(record)
        if self._on_event is not None:
            self._on_event(record)

    def install(self, engine: RunEngine) -> None:
        """Install the suspenders on ``engine`` and start the monitor thread."""
        self.engine = engine
        self.poll()
        for suspender in self.suspenders:
            engine.install_suspender(suspender)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="smartlab-room-monitor", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Stop the monitor thread and remove the suspenders (a suspended plan resumes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.engine is not None:
            for suspender in self.suspenders:
                self.engine.remove_suspender(suspender)
            self.engine = None

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.poll_interval_s):
            self.poll()

    def poll(self) -> None:
        """Read the room once, update the watched signals and check the hard limits.

        A reading that fails (a disconnected sensor) counts as NaN, which is unsafe.
        """
        for read, signal in self._channels:
            try:
                value = read()
            except Exception:  # fail safe: an unreadable sensor suspends plans
                value = math.nan
            signal.put(value)
        vapour = float(self._signals["vapour"].get())
        limit = self.settings.vapour_hard_limit_ppm
        if not vapour <= limit and not self._hard_tripped:
            self._hard_tripped = True
            reason = f"hard limit: solvent vapour {vapour:.3g} ppm above {limit:g} ppm"
            self._emit("vapour", "hard_limit", reason, vapour)
            if self._on_hard_limit is not None:
                self._on_hard_limit(reason)
        elif vapour <= limit and self._hard_tripped:
            self._hard_tripped = False
            self._emit("vapour", "hard_limit_cleared", f"vapour {vapour:.3g} ppm", vapour)

    def tripped(self) -> list[str]:
        """Names of the interlocks whose condition is unsafe now."""
        return [s.name for s in self.suspenders if s.condition]

    def describe(self) -> dict[str, Any]:
        """Settings and present state, for run metadata and ``%lab``."""
        return {
            "settings": asdict(self.settings),
            "interlocks": [s.name for s in self.suspenders],
            "tripped": self.tripped(),
            "hard_limit_tripped": self._hard_tripped,
        }
