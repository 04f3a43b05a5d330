"""Robot: moves vials between stations, takes time, refuses bad moves before moving."""

from __future__ import annotations

import time

import pytest

from smartlab_kernel.devices import (
    NoVialError,
    SimulatedBench,
    StationOccupiedError,
    UnknownStationError,
    build_bench,
)


def test_move_takes_its_duration_and_moves_the_vial() -> None:
    bench = build_bench(time_scale=20.0)
    robot, world = bench.robot, bench.world
    vial = world.new_vial("rack_1")
    seconds = robot.move_duration("rack_1", "reactor")
    # home (0 m) -> rack_1 (0.15 m) -> reactor (10 * 0.15 m) at 0.25 m/s, plus two 2 s grips
    assert seconds == pytest.approx(1.5 / 0.25 + 4.0)
    started = time.monotonic()
    status = robot.set(("rack_1", "reactor"))
    assert robot.holding.get() == vial.vial_id
    assert world.vial_at("rack_1") is vial  # nothing moves until the move is done
    status.wait(5)
    elapsed = time.monotonic() - started
    assert seconds / 20.0 <= elapsed < seconds / 20.0 + 0.4
    assert world.vial_at("reactor") is vial and world.vial_at("rack_1") is None
    assert robot.station.get() == "reactor"
    assert robot.last_vial.get() == vial.vial_id
    assert robot.holding.get() == ""


def test_refuses_an_occupied_station(bench: SimulatedBench) -> None:
    world = bench.world
    world.new_vial("rack_1", vial_id="A")
    world.new_vial("reactor", vial_id="B")
    with pytest.raises(StationOccupiedError) as info:
        bench.robot.set(("rack_1", "reactor"))
    message = str(info.value)
    assert "cannot move vial 'A' to 'reactor'" in message and "holds vial 'B'" in message
    assert "rack_2" in message  # names the free stations
    assert world.occupied() == {"rack_1": "A", "reactor": "B"}
    assert bench.robot.holding.get() == ""


def test_refuses_an_unknown_station(bench: SimulatedBench) -> None:
    bench.world.new_vial("rack_1")
    with pytest.raises(UnknownStationError, match=r"unknown station 'oven'; stations on this"):
        bench.robot.set(("rack_1", "oven"))


def test_refuses_an_empty_source_and_bad_values(bench: SimulatedBench) -> None:
    with pytest.raises(NoVialError, match="no vial at station 'rack_3'"):
        bench.robot.set(("rack_3", "reactor"))
    with pytest.raises(TypeError, match=r"expects \(source_station, destination_station\)"):
        bench.robot.set("reactor")
    with pytest.raises(TypeError, match=r"got \('rack_1', 3\)"):
        bench.robot.set(("rack_1", 3))


def test_supply_hands_out_fresh_vials_and_waste_takes_any(bench: SimulatedBench) -> None:
    robot, world = bench.robot, bench.world
    robot.set(("supply", "dispense")).wait(5)
    first = world.vial_at("dispense")
    assert first is not None
    robot.set(("dispense", "waste")).wait(5)
    robot.set(("supply", "dispense")).wait(5)
    second = world.vial_at("dispense")
    assert second is not None and second.vial_id != first.vial_id
    robot.set(("dispense", "waste")).wait(5)
    assert world.occupied() == {}
    with pytest.raises(StationOccupiedError, match="cannot be moved into 'supply'"):
        world.new_vial("rack_1")
        robot.set(("rack_1", "supply"))


def test_new_vial_fills_free_rack_slots_then_refuses(bench: SimulatedBench) -> None:
    world = bench.world
    for _ in range(8):
        world.new_vial()
    with pytest.raises(StationOccupiedError, match="every rack slot is occupied"):
        world.new_vial()
    with pytest.raises(StationOccupiedError, match="station 'rack_1' already holds"):
        world.new_vial("rack_1")
