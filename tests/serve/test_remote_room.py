"""The served lab's room from notebooks: live view for everyone, control for instructors.

An instructor presses the e-stop from their notebook while a student's plan
runs on the shared queue: the plan is suspended by the interlock in the RE
worker, the alarm reaches every user's LabMonitor, a student may not
acknowledge it, the instructor does, and after the release the plan
finishes with nothing lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from smartlab_kernel.remote.lab import RemoteLab
from smartlab_kernel.remote.room import RoomNotAllowedError
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets import LabMonitor

pytestmark = pytest.mark.slow


def connect(sandbox: Sandbox, user: str) -> RemoteLab:
    return Lab.connect(sandbox.url, api_key=sandbox.keys[user])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_everyone_sees_the_room_and_only_instructors_control_it(sandbox: Sandbox) -> None:
    student, ta = connect(sandbox, "student09"), connect(sandbox, "ta")
    wait_for(lambda: _reporting(student), "the room to report")
    readings = student.room.readings()
    assert {"hvac_mode", "hood_1_face_velocity_m_s", "vapour_ppm", "power_w"} <= set(readings)
    assert set(student.room.energy_kwh()) >= {"hvac", "hoods", "lighting", "instruments"}
    monitor = LabMonitor(student.room, refresh_s=None)
    assert "hood_1_face_velocity_m_s" in monitor.values.value
    monitor.close()

    with pytest.raises(RoomNotAllowedError, match="only an instructor"):
        student.room.press_estop()
    with pytest.raises(ValueError, match="occupants must be an integer"):
        ta.room.set_occupants(-3)
    with pytest.raises(ValueError, match="no fume hood 'hood_99'"):
        ta.room.set_sash("hood_99", 0.3)
    with pytest.raises(ValueError, match="unknown room command"):
        ta.room.command("open_the_pod_bay_doors")
    ta.room.set_hvac_mode("hazardous")
    assert student.room.state(refresh=True)["readings"]["hvac_mode"] == "hazardous"
    ta.room.set_hvac_mode("occupied")


def test_a_remote_estop_suspends_a_students_plan_and_nothing_is_lost(sandbox: Sandbox) -> None:
    student, ta = connect(sandbox, "student10"), connect(sandbox, "ta")
    wait_for(lambda: _reporting(ta), "the room to report")
    run = student.submit("measure", temperature_c=50.0, hold_s=8000.0)  # about 8 s real time
    wait_for(lambda: run.state == "running", "the plan to start")
    time.sleep(1.0)
    ta.room.press_estop()
    wait_for(lambda: "estop" in ta.room.state(refresh=True)["status"]["suspended_by"], "suspension")
    assert run.state == "running"  # suspended, not ended

    seen = LabMonitor(student.room, refresh_s=None)
    (alarm,) = [a for a in student.room.alarms.all() if a.source == "interlock:estop" and a.active]
    assert alarm.severity == "critical" and not alarm.acknowledged
    assert alarm.alarm_id in seen.alarm_rows.children[0].children[1].value
    seen.start_acknowledge(alarm.alarm_id)
    assert seen.confirm_acknowledge() is None  # a student may not
    assert "only an instructor" in seen.error.value
    seen.close()

    desk = LabMonitor(ta.room, refresh_s=None, operator="ta")
    desk.start_acknowledge(alarm.alarm_id)
    desk.comment.value = "checked the bench; releasing"
    acknowledged = desk.confirm_acknowledge()
    assert acknowledged is not None and acknowledged.acknowledged_by == "ta"
    assert acknowledged.comment == "checked the bench; releasing"
    desk.close()
    time.sleep(1.0)
    assert run.state == "running"  # still held: acknowledging does not release

    ta.room.release_estop()
    (uid,) = run.wait(timeout=90)
    assert run.state == "finished"
    stored = ta.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    environment = stored.metadata["start"]["environment"]
    assert environment["room"]["estop_pressed"] is False  # as it was when the run started
    assert "estop" in environment["safety"]["interlocks"]
    counted = stored.metadata["stop"]["num_events"]
    assert counted.get("primary", 0) >= 1
    assert len(stored["primary"].read()["time"]) == counted["primary"]
    assert "interruptions" in stored  # bluesky recorded the suspension
    history = {a.alarm_id: a for a in ta.room.alarms.all()}
    assert not history[alarm.alarm_id].active  # cleared on release
    assert history[alarm.alarm_id].context["run_uid"] == uid


def _reporting(lab: RemoteLab) -> bool:
    try:
        lab.room.state(refresh=True)
    except Exception:
        return False
    return True
