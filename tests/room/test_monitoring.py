"""monitor_environment: readings in their own stream, on a plain RunEngine and in the catalog."""

from __future__ import annotations

from typing import Any

import pytest
from bluesky import RunEngine

from smartlab_kernel.devices.room import build_room
from smartlab_kernel.devices.world import BenchWorld
from smartlab_kernel.management.room_link import RoomLink
from smartlab_kernel.plans.monitoring import monitor_environment
from smartlab_kernel.session import Lab


def test_runs_on_a_plain_run_engine_into_the_environment_stream() -> None:
    world = BenchWorld(seed=0, time_scale=10_000)
    room = build_room(world)
    docs: list[tuple[str, dict[str, Any]]] = []
    engine = RunEngine({}, context_managers=[])
    engine(
        monitor_environment([room.sensors, room.hvac], 60.0, 600.0, clock=world.clock),
        lambda name, doc: docs.append((name, doc)),
    )
    descriptors = [d for n, d in docs if n == "descriptor"]
    assert [d["name"] for d in descriptors] == ["environment"]
    assert "room_sensors_vapour" in descriptors[0]["data_keys"]
    events = [d for n, d in docs if n == "event"]
    assert len(events) == 11
    start = next(d for n, d in docs if n == "start")
    assert start["num_points"] == 11 and start["plan_name"] == "monitor_environment"
    times = [e["data"]["hvac_air_changes"] for e in events]
    assert times == pytest.approx([6.0] * 11)


def test_records_into_the_catalog(room_lab: tuple[Lab, RoomLink]) -> None:
    lab, link = room_lab
    room = link.room
    run = lab.submit(
        monitor_environment(
            [room.sensors, *room.hoods.values()], 10.0, 50.0, clock=room.world.clock
        )
    )
    run.wait(30)
    lab.wait(60)
    stored = lab.catalog[run.uids[0]]
    assert "environment" in list(stored)
    data = stored["environment"].read()
    assert len(data["time"]) == 6
    assert float(data["hood_1_face_velocity"][0]) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("period", "duration", "error", "match"),
    [
        (0.0, 10.0, ValueError, "period_s must be a finite number > 0"),
        (10.0, 5.0, ValueError, r"duration_s \(5.0\) must be at least period_s"),
        ("1", 10.0, TypeError, "period_s must be a number of seconds"),
    ],
)
def test_bad_arguments(period: Any, duration: Any, error: type, match: str) -> None:
    room = build_room(BenchWorld())
    with pytest.raises(error, match=match):
        list(monitor_environment([room.sensors], period, duration))
    with pytest.raises(ValueError, match="at least one device"):
        list(monitor_environment([], 1.0, 1.0))


def test_the_environment_log_records_the_room_while_plans_run(
    room_lab: tuple[Lab, RoomLink],
) -> None:
    from bluesky.plans import count
    from tiled.queries import Key

    lab, link = room_lab
    log = link.start_log(period_s=20.0)  # 20 simulated s = 0.02 real s at time scale 1000
    run = lab.submit(count([lab.devices["reactor"]], num=10, delay=0.05))
    run.wait(30)
    during = log.readings
    assert during >= 5  # readings kept coming while the RunEngine was busy
    assert link.status()["environment_log"]["running"] is True
    log.stop()
    assert not log.running and link.status()["environment_log"]["readings"] == log.readings
    lab.wait(30)
    stored = lab.catalog[log.uid]
    start = stored.metadata["start"]
    assert start["plan_name"] == "environment_log" and start["monitor"]["period_s"] == 20.0
    assert stored.metadata["stop"]["exit_status"] == "success"
    table = stored["environment"].read()
    assert len(table["time"]) == log.readings
    assert {"temperature_c", "hood_1_face_velocity_m_s", "hvac_mode"} <= set(table.data_vars)
    found = lab.catalog.search(Key("start.plan_name") == "environment_log")
    assert log.uid in set(found)
    (experiment,) = run.uids
    assert lab.catalog[experiment].metadata["stop"]["exit_status"] == "success"


def test_the_environment_log_refuses_a_bad_period(room_lab: tuple[Lab, RoomLink]) -> None:
    _lab, link = room_lab
    with pytest.raises(ValueError, match="period_s must be a finite number > 0 seconds, got 0"):
        link.start_log(period_s=0)
    with pytest.raises(TypeError, match="period_s must be a number of seconds, got '60'"):
        link.start_log(period_s="60")  # type: ignore[arg-type]
