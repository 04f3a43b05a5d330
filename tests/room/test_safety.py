"""Interlocks on a running lab: faults suspend a plan and resume it; hard limits abort."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from bluesky.plans import count

from smartlab_kernel.management.room_link import RoomLink
from smartlab_kernel.management.safety import InterlockSettings
from smartlab_kernel.session import Lab


def test_hood_fault_suspends_and_resumes_with_no_lost_events(
    room_lab: tuple[Lab, RoomLink],
    wait_for: Callable[..., None],
    settle_real_s: float,
) -> None:
    lab, link = room_lab
    hood = link.room.hoods["hood_1"]
    streams: dict[str, str] = {}
    seq_nums: list[int] = []

    def collect(name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        elif name == "event" and streams.get(doc["descriptor"]) == "primary":
            seq_nums.append(doc["seq_num"])

    token = lab.subscribe(collect)
    run = lab.submit(count([lab.devices["reactor"]], num=30, delay=0.02))
    wait_for(lambda: run.events >= 5, what="the plan to start recording")
    hood.faults.inject("fan_failure")
    try:
        wait_for(lambda: link.suspended_by == ["hood_1_face_velocity"], what="suspension")
        held = run.events
        time.sleep(0.3)
        assert run.events == held, "events were recorded while the plan was suspended"
        assert not run.done and lab.state == "running"  # bluesky's state while suspended
        assert link.status()["suspended_by"] == ["hood_1_face_velocity"]
    finally:
        hood.faults.clear("fan_failure")
    cleared = time.monotonic()
    wait_for(lambda: run.events > held, what="the plan to resume")
    assert time.monotonic() - cleared >= 0.8 * settle_real_s  # the settle time
    lab.wait(60)
    lab.unsubscribe(token)
    assert run.state == "finished"
    assert seq_nums == list(range(1, 31))  # none lost, none repeated
    stored = lab.catalog[run.uids[0]]
    assert len(stored["primary"].read()["time"]) == 30
    interruptions = stored["interruptions"].read()["interruption"].values
    assert any("hood_1_face_velocity" in str(text) for text in interruptions)
    events = [e.event for e in link.interlocks.events if e.interlock == "hood_1_face_velocity"]
    assert events[-4:] == ["tripped", "suspended", "cleared", "resumed"]
    alarm = link.alarms.latest("interlock:hood_1_face_velocity")
    assert alarm is not None and not alarm.active
    assert alarm.context["run_uid"] == run.uids[0]
    assert [n["event"] for n in alarm.context["events"]] == ["suspended", "resumed"]
    environment = stored.metadata["start"]["environment"]
    assert environment["room"]["air_changes_per_h"] == pytest.approx(6.0, rel=0.2)
    assert "hood_1_face_velocity" in environment["safety"]["interlocks"]


def test_vapour_above_the_hard_limit_aborts_the_run(
    room_lab: tuple[Lab, RoomLink], wait_for: Callable[..., None]
) -> None:
    lab, link = room_lab
    run = lab.submit(count([lab.devices["reactor"]], num=500, delay=0.02))
    wait_for(lambda: run.events >= 3, what="the plan to start recording")
    link.room.sensors.spill(500.0)
    try:
        run.wait(30)
    finally:
        link.room.sensors.clear_spill()
    assert run.state == "aborted"
    assert "hard limit: solvent vapour" in run.reason
    lab.wait(60)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "abort"
    assert "hard limit: solvent vapour" in stop["reason"]
    critical = link.alarms.latest("hard_limit:vapour")
    assert critical is not None and critical.severity == "critical"
    wait_for(lambda: not link.interlocks.tripped(), what="the vapour interlock to clear")


def test_estop_suspends_until_released(
    room_lab: tuple[Lab, RoomLink], wait_for: Callable[..., None]
) -> None:
    lab, link = room_lab
    run = lab.submit(count([lab.devices["reactor"]], num=20, delay=0.02))
    wait_for(lambda: run.events >= 2, what="the plan to start recording")
    link.room.estop.press()
    try:
        wait_for(lambda: "estop" in link.suspended_by, what="e-stop suspension")
        assert link.alarms.latest("interlock:estop").severity == "critical"  # type: ignore[union-attr]
    finally:
        link.room.estop.release()
    run.wait(30)
    lab.wait(60)
    assert len(lab.catalog[run.uids[0]]["primary"].read()["time"]) == 20


def test_interlock_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="vapour_threshold_ppm < vapour_hard_limit_ppm"):
        InterlockSettings(vapour_threshold_ppm=50, vapour_hard_limit_ppm=20)
    with pytest.raises(ValueError, match="settle_s must be a finite number >= 0, got -1"):
        InterlockSettings(settle_s=-1)
    with pytest.raises(ValueError, match="face_velocity_band must be"):
        InterlockSettings(face_velocity_band=(0.6, 0.4))


def test_status_lists_unacknowledged_alarms(room_lab: tuple[Lab, RoomLink]) -> None:
    _lab, link = room_lab
    alarm = link.alarms.raise_alarm("test", "status check")
    assert any(alarm.alarm_id in line for line in link.status()["unacknowledged_alarms"])
    link.alarms.acknowledge(alarm.alarm_id, "tester")
    assert not any(alarm.alarm_id in line for line in link.status()["unacknowledged_alarms"])
