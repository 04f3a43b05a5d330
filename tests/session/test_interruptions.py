"""A pause or a suspension during a timed step holds the step; it never cuts it short.

Issue 15, case 1: on a non-rewindable RunEngine, a pause during the reactor's
hold answered the interrupted ``wait`` at once on resume, so the plan read an
unreacted vial and the run was recorded as a success.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import pytest
from ophyd import Device
from ophyd.sim import SynAxis

from smartlab_kernel import Lab
from smartlab_kernel.management.room_link import attach_room
from smartlab_kernel.management.safety import InterlockSettings
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.session.step_resume import StepInterruptedError

TIME_SCALE = 1000.0
HOLD_S = 1500.0  # 1.5 real seconds


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab.simulated(seed=0, directory=tmp_path / "lab", time_scale=TIME_SCALE)
    yield lab
    lab.close()


def bench(lab: Lab) -> dict[str, Device]:
    return {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}


class ReadWatcher:
    """Records, at the moment the primary event is emitted, how long the vial reacted."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.hold_at_read: list[float] = []
        self._primary: set[str] = set()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor" and doc["name"] == "primary":
            self._primary.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in self._primary:
            assert self.lab.bench is not None
            vial = self.lab.bench.world.vial_at("spectrometer")
            self.hold_at_read.append(vial.hold_s if vial is not None else -1.0)


def holding(lab: Lab) -> bool:
    reactor = lab.devices["reactor"]
    return bool(reactor.hold._operations) and float(reactor.hold.seconds.get()) == HOLD_S


def test_a_pause_during_the_hold_holds_it_for_its_remaining_time(lab: Lab) -> None:
    watcher = ReadWatcher(lab)
    lab.subscribe(watcher)
    recipe = Recipe({"a": 2.0, "b": 2.0}, temperature_c=30.0, hold_s=HOLD_S)
    run = lab.submit(measure_recipe(recipe, **bench(lab), dispose=False))
    wait_for(lambda: holding(lab), what="the hold to start")
    time.sleep(0.3)
    lab.pause(reason="checking the stirrer")
    wait_for(lambda: run.state == "paused", what="the pause")
    time.sleep(0.5)
    assert run.interruption is not None and run.interruption.kind == "pause"
    lab.resume()
    (uid,) = run.wait(60)
    lab.wait(60)

    assert watcher.hold_at_read == [HOLD_S]  # the vial reacted its whole hold before the read
    stop = lab.catalog[uid].metadata["stop"]
    assert stop["exit_status"] == "success"
    assert "paused" in stop["reason"] and "checking the stirrer" in stop["reason"]
    assert stop["num_events"]["interruptions"] == 2  # bluesky's own pause / resume events
    recorded = list(lab.catalog[uid]["interruptions"].read()["interruption"].values)
    assert recorded == ["pause", "resume"]
    assert len(run.interruptions) == 1 and run.interruptions[0].duration >= 0.5
    assert run.events == 1  # interruption events are not measured points
    assert run.active < run.elapsed - 0.4


def test_a_pause_during_the_robot_move_before_a_dispense_is_held(tmp_path: Path) -> None:
    with Lab.simulated(seed=0, directory=tmp_path / "lab", time_scale=100.0, lims=True) as lab:
        robot = lab.devices["robot"]
        recipe = Recipe({"a": 1.0, "b": 1.0}, temperature_c=26.0, hold_s=10.0)
        robot.grip_time.put(50.0)  # a move takes about 1 real second
        run = lab.submit(measure_recipe(recipe, **bench(lab)))
        wait_for(lambda: bool(robot._operations), what="the first robot move")
        lab.pause()
        wait_for(lambda: run.state == "paused", what="the pause")
        time.sleep(0.2)
        lab.resume()
        run.wait(60)
        lab.wait(60)
        assert run.state == "finished", run.reason
        assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "success"


def test_an_interlock_during_the_hold_suspends_it_and_the_hold_is_completed(
    tmp_path: Path,
) -> None:
    lab = Lab.simulated(seed=0, directory=tmp_path / "lab", time_scale=TIME_SCALE)
    link = attach_room(lab, settings=InterlockSettings(settle_s=300.0))
    try:
        watcher = ReadWatcher(lab)
        lab.subscribe(watcher)
        hood = link.room.hoods["hood_1"]
        recipe = Recipe({"a": 2.0, "b": 2.0}, temperature_c=30.0, hold_s=HOLD_S)
        run = lab.submit(measure_recipe(recipe, **bench(lab), dispose=False))
        wait_for(lambda: holding(lab), what="the hold to start")
        time.sleep(0.2)
        hood.faults.inject("fan_failure")
        try:
            wait_for(lambda: run.interruption is not None, what="the suspension")
            assert run.interruption is not None and run.interruption.kind == "suspend"
            assert "hood_1_face_velocity" in run.interruption.reason
            time.sleep(1.0)
        finally:
            hood.faults.clear("fan_failure")
        (uid,) = run.wait(60)
        lab.wait(60)
        assert watcher.hold_at_read == [HOLD_S]
        stop = lab.catalog[uid].metadata["stop"]
        assert stop["exit_status"] == "success"
        assert "suspended" in stop["reason"] and "hood_1_face_velocity" in stop["reason"]
    finally:
        link.close()
        lab.close()


def test_a_sleep_is_completed_after_a_pause(lab: Lab) -> None:
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run(md={"plan_name": "sleepy"})
        started = time.monotonic()
        yield from bps.sleep(1.0)
        yield from bps.close_run()
        return time.monotonic() - started

    run = lab.submit(plan())
    time.sleep(0.4)
    lab.pause()
    wait_for(lambda: run.state == "paused", what="the pause")
    time.sleep(0.6)
    lab.resume()
    run.wait(30)
    held = run.interruptions[0].duration
    assert run.result >= 1.0 + held - 0.05  # the whole second was slept, plus the pause


def test_a_device_that_cannot_hold_a_step_fails_the_run_loudly(lab: Lab) -> None:
    # ophyd's SynAxis has no pause/resume of its own: bluesky's pause stops it
    # (stop(success=True) finishes its move), so the move may have been cut short.
    axis = SynAxis(name="slow_axis", delay=1.0)
    lab.add_device("slow_axis", axis)

    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run(md={"plan_name": "move"})
        yield from bps.mv(axis, 5.0)
        yield from bps.close_run()

    run = lab.submit(plan())
    time.sleep(0.3)
    lab.pause()
    wait_for(lambda: run.state == "paused", what="the pause")
    time.sleep(1.0)  # the move's status finishes while paused
    lab.resume()
    with pytest.raises(StepInterruptedError, match="slow_axis"):
        run.wait(30)
    lab.wait(30)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert "cannot be vouched for" in stop["reason"] and "paused" in stop["reason"]


def test_a_pause_before_an_abort_is_in_the_stop_reason(lab: Lab) -> None:
    recipe = Recipe({"a": 2.0, "b": 2.0}, temperature_c=30.0, hold_s=HOLD_S)
    run = lab.submit(measure_recipe(recipe, **bench(lab)))
    wait_for(lambda: holding(lab), what="the hold to start")
    lab.pause(reason="smell of solvent")
    wait_for(lambda: run.state == "paused", what="the pause")
    lab.abort("hood checked: stop")
    run.wait(60)
    lab.wait(60)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "abort"
    assert stop["reason"].startswith("hood checked: stop; interrupted 1 time: paused")
    assert "smell of solvent" in stop["reason"] and "paused to abort" not in stop["reason"]
