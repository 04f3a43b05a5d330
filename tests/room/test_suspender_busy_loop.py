"""A trip while the RunEngine's loop is busy still suspends the running plan.

Bluesky's ``SuspenderBase`` gives the loop 0.1 s to make the suspension
event and otherwise drops the trip ("Could not create the suspender
event"): the plan ran on through a hood alarm. Found in the fault campaign's
logs under load.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import bluesky.plan_stubs as bps
from bluesky import RunEngine
from ophyd import Signal

from smartlab_kernel.management import InterlockSuspender


def _suspender(signal: Signal, events: list[str]) -> InterlockSuspender:
    return InterlockSuspender(
        signal,
        name="hood_1_face_velocity",
        unsafe=lambda v: v < 0.3,
        describe=lambda v: f"face velocity {v} m/s",
        report=lambda _s, event, _v: events.append(event),
    )


def test_a_trip_while_the_loop_is_busy_suspends_the_plan_and_it_resumes() -> None:
    engine = RunEngine({}, call_returns_result=True)
    signal = Signal(name="face_velocity", value=0.5)
    events: list[str] = []
    engine.install_suspender(_suspender(signal, events))
    started = threading.Event()

    def plan() -> Any:
        started.set()
        for _ in range(20):
            yield from bps.sleep(0.05)

    def trip_while_busy() -> None:
        started.wait(5)
        time.sleep(0.2)
        engine._loop.call_soon_threadsafe(time.sleep, 0.5)  # the loop is busy for 0.5 s
        time.sleep(0.05)
        signal.put(0.1)  # hood alarm, from this (monitor-like) thread
        time.sleep(0.5)
        signal.put(0.5)

    poker = threading.Thread(target=trip_while_busy)
    poker.start()
    result = engine(plan())
    poker.join(5)
    assert result.exit_status == "success"
    assert events == ["tripped", "suspended", "cleared", "resumed"]


def test_a_trip_between_plans_holds_the_next_plan_until_cleared() -> None:
    engine = RunEngine({}, call_returns_result=True)
    signal = Signal(name="face_velocity", value=0.5)
    events: list[str] = []
    engine.install_suspender(_suspender(signal, events))
    signal.put(0.1)
    threading.Timer(0.3, signal.put, args=(0.5,)).start()
    began = time.monotonic()
    result = engine(bps.null())
    assert result.exit_status == "success"
    assert time.monotonic() - began >= 0.25
    assert events[:2] == ["tripped", "cleared"]
