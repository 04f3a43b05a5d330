from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import pytest

from smartlab_kernel.management.room_link import attach_room
from smartlab_kernel.management.safety import InterlockSettings
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.session import Lab
from smartlab_kernel.session.interruptions import Interruption
from smartlab_kernel.widgets.run_control import (
    STATE_COLOURS,
    RunControl,
    describe_interruption,
    estimate_time_left,
)


def _state(control: RunControl) -> str:
    control.refresh()
    return control.run.state if control.run is not None else "idle"


def test_shows_idle_or_last_run_and_refuses_pause_when_idle(
    idle_lab: Lab, messages: list[dict[str, Any]]
) -> None:
    control = RunControl(idle_lab)
    assert control.pause_button.disabled and control.resume_button.disabled
    assert control.abort_button.disabled
    control.pause_button.click()
    assert "nothing to pause" in control.error.value
    control.resume_button.click()
    assert "cannot resume" in control.error.value
    control.ask_abort()
    assert "nothing to abort" in control.error.value
    assert control.confirm_box.layout.display == "none"
    assert any(m["msg_type"] == "comm_open" for m in messages)
    control.close()


def test_pause_resume_and_abort_with_confirmation(
    idle_lab: Lab,
    slow_plan: Callable[..., Any],
    messages: list[dict[str, Any]],
    wait_for: Callable[..., None],
) -> None:
    control = RunControl(idle_lab)
    run = idle_lab.submit(slow_plan())
    wait_for(lambda: _state(control) == "running", what="running")
    assert control.run is run
    assert "measure_recipe" in control.plan.value
    assert "running" in control.state.value
    assert not control.pause_button.disabled and control.resume_button.disabled
    wait_for(lambda: _state(control) == "running" and "0 / 1 points" in control.counts.value)

    wait_for(slow_plan.holding, what="reactor hold")  # type: ignore[attr-defined]
    sent_before = len(messages)
    control.pause_button.click()
    wait_for(lambda: _state(control) == "paused", what="paused")
    assert "paused" in control.state.value
    assert control.pause_button.disabled and not control.resume_button.disabled
    assert control.error.value == ""
    updates = [m for m in messages[sent_before:] if m["msg_type"] == "comm_msg"]
    assert any("paused" in str(m["data"]) for m in updates), "state change sent to the front end"

    control.resume_button.click()
    wait_for(lambda: _state(control) == "running", what="running again")

    control.abort_button.click()
    assert control.confirm_box.layout.display == "flex"
    assert "Abort run" in control.confirm_text.value
    control.cancel_button.click()
    assert control.confirm_box.layout.display == "none"
    assert run.state == "running", "cancel does not abort"

    control.abort_button.click()
    control.reason.value = "wrong vial"
    control.confirm_button.click()
    wait_for(lambda: _state(control) == "aborted", what="aborted")
    assert "aborted: wrong vial" in control.error.value
    assert control.abort_button.disabled
    assert run.reason == "wrong vial"
    control.close()


def _failing_plan() -> Generator[Any, Any, Any]:
    @bpp.run_decorator(md={"plan_name": "failing"})
    def inner() -> Generator[Any, Any, Any]:
        yield from bps.null()
        raise RuntimeError("the stirrer jammed at 300 rpm")

    return (yield from inner())


def test_failed_run_error_in_plain_words(idle_lab: Lab, wait_for: Callable[..., None]) -> None:
    control = RunControl(idle_lab)
    run = idle_lab.submit(_failing_plan())
    wait_for(lambda: run.done, what="failure")
    control.refresh()
    assert control.state.value.count("failed")
    assert f"Run #{run.number} failed: the stirrer jammed at 300 rpm" in control.error.value
    assert control.progress.bar_style == "danger"
    control.close()


def test_queued_run_is_shown_and_abort_drops_it(
    idle_lab: Lab, slow_plan: Callable[..., Any], wait_for: Callable[..., None]
) -> None:
    control = RunControl(idle_lab)
    first = idle_lab.submit(slow_plan())
    second = idle_lab.submit(slow_plan())
    wait_for(lambda: _state(control) == "running", what="running")
    assert control.run is first
    control.ask_abort()
    control.confirm_abort()
    assert "could not abort" not in control.error.value, control.error.value
    wait_for(lambda: first.done and second.done, what="both ended")
    assert second.state == "aborted"
    control.refresh()
    assert control.run is second and "aborted" in control.state.value
    control.close()


def _clock(control: RunControl) -> str:
    """The elapsed clock as shown ("3 s" of "elapsed 3 s (+ 1 s held), ...")."""
    control.refresh()
    match = re.match(r"elapsed ([^(,]+)", control.timing.value)
    assert match, control.timing.value
    return match.group(1).strip()


def test_a_pause_is_said_with_its_reason_and_stops_the_clock(
    idle_lab: Lab, slow_plan: Callable[..., Any], wait_for: Callable[..., None]
) -> None:
    control = RunControl(idle_lab)
    run = idle_lab.submit(slow_plan(hold_s=3000.0))  # 1.5 s of hold at this time scale
    wait_for(slow_plan.holding, what="reactor hold")  # type: ignore[attr-defined]
    idle_lab.pause(reason="checking the stirrer")
    wait_for(lambda: _state(control) == "paused", what="paused")
    assert "<b>paused</b>" in control.state.value
    text = control.interruption.value
    assert "paused (checking the stirrer)" in text and "press Resume" in text, text
    clock = _clock(control)
    time.sleep(1.2)
    assert _clock(control) == clock, "the clock stops while paused"
    assert "held)" in control.timing.value
    assert control.counts.value == "0 / 1 points", "the pause event is not a point"

    control.resume_button.click()
    wait_for(lambda: run.done, what="the run to finish")
    control.refresh()
    assert run.state == "finished", run.reason
    assert control.counts.value == "1 / 1 points", "pause and resume events are not points"
    assert "interrupted 1 time, held" in control.interruption.value
    assert "checking the stirrer" in control.interruption.value
    control.close()


def test_the_time_left_counts_down_between_points_and_stops_while_paused(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    bench = idle_lab.bench
    assert bench is not None
    control = RunControl(idle_lab)
    run = idle_lab.submit(bp.count([bench.reactor], num=40, delay=0.15))
    wait_for(lambda: run.events >= 2, what="two points")
    samples: list[tuple[int, float]] = []
    for _ in range(25):
        control.refresh()
        assert control.time_left is not None, control.timing.value
        shown = int(control.counts.value.split(" / ")[0])  # the count this estimate is for
        samples.append((shown, control.time_left))
        time.sleep(0.03)
    same_point = [(a, b) for (n, a), (m, b) in itertools.pairwise(samples) if n == m]
    assert same_point, samples
    assert all(later <= earlier + 1e-9 for earlier, later in same_point), (
        "between points the estimate only counts down",
        samples,
    )
    assert any(later < earlier for earlier, later in same_point), samples

    idle_lab.pause()
    wait_for(lambda: _state(control) == "paused", what="paused")
    control.refresh()
    frozen = control.time_left
    assert frozen is not None and ", about" in control.timing.value
    time.sleep(0.5)
    control.refresh()
    assert control.time_left == pytest.approx(frozen, abs=0.02), "no time passes while paused"
    control.close()


def test_a_suspension_by_an_interlock_is_shown_and_the_clock_stops(tmp_path: Path) -> None:
    lab = Lab.simulated(seed=0, directory=tmp_path / "lab", time_scale=1000.0)
    link = attach_room(lab, settings=InterlockSettings(settle_s=300.0))
    control = RunControl(lab)
    try:
        bench = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
        hold_s = 1500.0
        run = lab.submit(measure_recipe(Recipe({"a": 2.0, "b": 2.0}, hold_s=hold_s), **bench))
        reactor = lab.devices["reactor"]
        _wait(lambda: float(reactor.hold.seconds.get()) == hold_s, "the hold")
        hood = link.room.hoods["hood_1"]
        hood.faults.inject("fan_failure")
        try:
            _wait(lambda: run.interruption is not None, "the suspension")
            control.refresh()
            assert run.state == "running"  # a suspension keeps the RunEngine running
            assert "<b>suspended</b>" in control.state.value
            colour = STATE_COLOURS["suspended"]
            assert f"color:{colour}" in control.state.value
            assert colour != STATE_COLOURS["paused"], "a suspension is not shown as a pause"
            text = control.interruption.value
            assert "suspended by interlock hood_1_face_velocity" in text, text
            assert "goes on by itself" in text
            clock = _clock(control)
            time.sleep(1.0)
            assert _clock(control) == clock, "the clock stops while suspended"
            assert control.counts.value == "0 / 1 points"
        finally:
            hood.faults.clear("fan_failure")
        run.wait(60)
        control.refresh()
        assert "<b>finished</b>" in control.state.value
        assert control.counts.value == "1 / 1 points"
        assert "interrupted 1 time" in control.interruption.value
        assert "hood_1_face_velocity" in control.interruption.value
    finally:
        control.close()
        link.close()
        lab.close()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_interruptions_in_words() -> None:
    def held(kind: str, reason: str) -> Interruption:
        return Interruption(kind, reason, time.time(), None, time.monotonic())

    interlock = "interlock hood_1_face_velocity tripped: face velocity 0.025 m/s"
    assert describe_interruption(held("suspend", interlock)) == f"suspended by {interlock}"
    assert describe_interruption(held("suspend", "suspended by a Bluesky suspender")) == (
        "suspended by a Bluesky suspender"
    )
    assert describe_interruption(held("pause", "paused by the operator")) == (
        "paused by the operator"
    )
    assert describe_interruption(held("pause", "checking the stirrer")) == (
        "paused (checking the stirrer)"
    )
    assert describe_interruption(held("pause", "")) == "paused"


@pytest.fixture
def kernel_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_recovery_of_an_earlier_session_is_said_until_done(
    idle_lab: Lab,
    kernel_loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    wait_for: Callable[..., None],
) -> None:
    # Recovery of a crashed session is usually over in a moment; only the count is faked.
    left = [2]
    monkeypatch.setattr(Lab, "recovering", property(lambda self: left[0]))
    made: list[RunControl] = []
    ready = threading.Event()

    def build() -> None:  # built on the loop thread, as in a notebook cell
        made.append(RunControl(idle_lab, tick=0.05))
        ready.set()

    kernel_loop.call_soon_threadsafe(build)
    assert ready.wait(5)
    control = made[0]
    assert "recovering 2 runs of an earlier session into the catalog" in control.recovery.value
    left[0] = 1  # the tick notices (idle: nothing else would refresh the widget)
    wait_for(lambda: "recovering 1 run of" in control.recovery.value, what="1 run left")
    left[0] = 0
    wait_for(lambda: control.recovery.value == "", what="recovery done")
    kernel_loop.call_soon_threadsafe(control.close)


def test_only_the_primary_stream_events_are_points(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    bench = idle_lab.bench
    assert bench is not None
    control = RunControl(idle_lab)
    # Baseline readings (two events of a "baseline" stream) are context, not points.
    plan = bpp.baseline_wrapper(bp.count([bench.reactor], num=3), [bench.reactor])
    run = idle_lab.submit(plan)
    wait_for(lambda: run.done, what="the run")
    control.refresh()
    assert run.state == "finished", run.reason
    assert control.counts.value == "3 / 3 points"
    assert control.points(run) == 3
    assert control.progress.value == control.progress.max == 3
    control.close()


def test_an_overdue_point_does_not_say_zero_left_while_points_remain(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    bench = idle_lab.bench
    assert bench is not None
    control = RunControl(idle_lab)
    # Four quick points, then a point that takes 30 times as long, then one more.
    run = idle_lab.submit(bp.count([bench.reactor], num=6, delay=[0.05, 0.05, 0.05, 1.5, 0.05]))
    # Refreshed as the kernel would, at each point.
    wait_for(lambda: _counts(control) == "4 / 6 points", what="four points")
    time.sleep(0.8)  # well past the mean time per point
    assert _counts(control) == "4 / 6 points", "the slow point came early: machine too slow"
    assert control.time_left is not None and control.time_left > 0, control.timing.value
    assert "taking longer" not in control.timing.value
    wait_for(lambda: run.done, what="the run")
    control.close()


def _counts(control: RunControl) -> str:
    control.refresh()
    return str(control.counts.value)


def _timeline(durations: list[float], setup: float, step: float = 0.01) -> list[float]:
    """estimate_time_left sampled every ``step`` active seconds over a whole run."""
    total = len(durations)
    arrivals = list(itertools.accumulate(durations, initial=setup))[1:]
    shown: list[float] = []
    now, points = arrivals[0], 1
    while points < total:
        if now >= arrivals[points]:
            now = arrivals[points]
            points += 1
        shown.append(estimate_time_left(points, total, arrivals[points - 1], now))
        now += step
    return shown


@pytest.mark.parametrize("setup", [0.0, 0.3, 5.0])
def test_time_left_never_goes_up_in_a_steady_run(setup: float) -> None:
    shown = _timeline([0.5] * 20, setup)
    rises = [later - earlier for earlier, later in itertools.pairwise(shown)]
    assert max(rises) <= 1e-9, max(rises)
    assert shown[-1] == 0.0


def test_time_left_rises_boundedly_when_points_vary_and_waits_for_an_overdue_point() -> None:
    import random

    rng = random.Random(4)
    durations = [rng.uniform(0.8, 1.2) for _ in range(30)]
    shown = _timeline(durations, setup=0.5)
    bound = (1.2 / 0.8 - 1) / 2  # see estimate_time_left
    for earlier, later in itertools.pairwise(shown):
        assert later - earlier <= bound * earlier + 1e-9, (earlier, later)
    # While two or more points remain it never says 0 s left, however late a point is.
    assert estimate_time_left(3, 5, at_last_point=3.0, active=100.0) == pytest.approx(1.0)
    assert estimate_time_left(4, 5, at_last_point=4.0, active=100.0) == 0.0


def test_time_left_stays_while_held_and_refuses_bad_values() -> None:
    # Held: the active time does not advance, so nothing changes.
    assert estimate_time_left(2, 10, 4.0, 5.0) == estimate_time_left(2, 10, 4.0, 5.0) == 15.0
    with pytest.raises(ValueError, match=r"points must be from 1 to total \(10\), got 0"):
        estimate_time_left(0, 10, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"at_last_point=5\.0, active=4\.0"):
        estimate_time_left(2, 10, 5.0, 4.0)
