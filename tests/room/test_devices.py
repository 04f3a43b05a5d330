"""Room physics against known answers: hoods, HVAC, lighting, sensors, faults."""

from __future__ import annotations

import math

import pytest
from ophyd.utils import LimitError

from smartlab_kernel.devices import DeviceDisconnectedError
from smartlab_kernel.devices.room import FirstOrder, SimulatedRoom, SteppedClock


def test_face_velocity_is_flow_over_open_area_and_vav_follows_sash(room: SimulatedRoom) -> None:
    hood = room.hoods["hood_1"]
    for sash in (0.0, 0.1, 0.3, 0.5):
        hood.sash_height.put(sash)
        area = 1.5 * sash + 0.1
        # Below the valve's maximum the exhaust follows the sash: 0.5 m/s * area.
        assert hood.exhaust_flow.get() == pytest.approx(0.5 * area)
        assert hood.face_velocity.get() == pytest.approx(0.5)
        assert hood.alarm.get() is False


def test_face_velocity_falls_once_the_valve_is_fully_open(room: SimulatedRoom) -> None:
    hood = room.hoods["hood_1"]
    hood.sash_height.put(0.8)
    assert hood.exhaust_flow.get() == pytest.approx(0.45)
    assert hood.face_velocity.get() == pytest.approx(0.45 / (1.5 * 0.8 + 0.1))
    assert hood.face_velocity.get() < 0.4
    assert hood.alarm.get() is True


def test_sash_limits_are_enforced_with_a_clear_message(room: SimulatedRoom) -> None:
    with pytest.raises(LimitError, match=r"hood_1_sash_height 1\.2 m is outside .*\[0, 0\.8\]"):
        room.hoods["hood_1"].sash_height.put(1.2)
    with pytest.raises(TypeError, match="must be a number"):
        room.hoods["hood_1"].sash_height.put("high")


def test_fan_failure_collapses_face_velocity_and_raises_the_alarm(room: SimulatedRoom) -> None:
    hood = room.hoods["hood_1"]
    hood.sash_height.put(0.4)
    hood.faults.inject("fan_failure")
    assert hood.face_velocity.get() == pytest.approx(0.5 * 0.05)
    assert hood.alarm.get() is True
    assert hood.power.get() == 0.0
    hood.faults.clear("fan_failure")
    assert hood.face_velocity.get() == pytest.approx(0.5)


def test_sash_left_open_keeps_exhausting(room: SimulatedRoom) -> None:
    hood = room.hoods["hood_1"]
    closed_power = hood.power.get()
    hood.faults.inject("sash_open")
    hood.sash_height.put(0.0)
    assert hood.sash_position.get() == pytest.approx(0.5)
    assert hood.exhaust_flow.get() == pytest.approx(0.5 * (1.5 * 0.5 + 0.1))
    assert hood.power.get() > 5 * closed_power


def test_unknown_fault_names_the_supported_ones(room: SimulatedRoom) -> None:
    with pytest.raises(ValueError, match=r"supported: .*'fan_failure'"):
        room.hoods["hood_1"].faults.inject("fire")


def test_air_changes_per_hour_from_flow_and_volume(room: SimulatedRoom) -> None:
    hvac = room.hvac
    for mode, ach in (("occupied", 6.0), ("unoccupied", 2.0), ("hazardous", 12.0)):
        hvac.mode.put(mode)
        assert hvac.supply_flow.get() == pytest.approx(ach * 240.0 / 3600.0)
        assert hvac.air_changes.get() == pytest.approx(hvac.supply_flow.get() * 3600 / 240.0)
        assert hvac.exhaust_flow.get() == pytest.approx(hvac.supply_flow.get() / 0.9)
    with pytest.raises(ValueError, match=r"hvac_mode must be one of \['occupied'"):
        hvac.mode.put("party")


def test_open_hoods_drive_the_ventilation_above_the_mode(room: SimulatedRoom) -> None:
    room.hvac.mode.put("unoccupied")
    for hood in room.hoods.values():
        hood.sash_height.put(0.5)
    hood_exhaust = sum(h.exhaust_flow.get() for h in room.hoods.values())
    assert room.hvac.supply_flow.get() == pytest.approx(0.9 * hood_exhaust)
    assert room.hvac.air_changes.get() > 2.0


def test_temperature_approaches_setpoint_first_order(
    room: SimulatedRoom, clock: SteppedClock
) -> None:
    hvac = room.hvac
    tau = 240.0 / hvac.supply_flow.get()  # V / Q
    hvac.temperature_setpoint.put(25.0)
    assert hvac.time_constant() == pytest.approx(tau)
    for t in (tau, 2 * tau, 5 * tau):
        clock.advance(t - clock.now())
        assert hvac.temperature.get() == pytest.approx(25.0 - 4.0 * math.exp(-t / tau))
    hvac.temperature_setpoint.put(20.0)
    start = hvac.temperature.get()
    clock.advance(tau)
    assert hvac.temperature.get() == pytest.approx(20.0 + (start - 20.0) * math.exp(-1))


def test_first_order_stays_continuous_when_retargeted() -> None:
    state = FirstOrder(0.0, 0.0, tau=10.0)
    state.retarget(0.0, 1.0)
    state.retarget(10.0, 1.0, tau=5.0)
    assert state.value_at(10.0) == pytest.approx(1 - math.exp(-1))
    assert state.value_at(15.0) == pytest.approx(1 - math.exp(-1) * math.exp(-1))
    with pytest.raises(ValueError, match="time constant must be > 0"):
        FirstOrder(0.0, tau=0.0)


def test_lights_follow_occupancy(room: SimulatedRoom) -> None:
    lights = room.lighting
    assert lights.lights_on.get() is False
    room.set_occupants(3)
    assert lights.occupied.get() is True and lights.lights_on.get() is True
    assert lights.power.get() == 800.0
    lights.mode.put("off")
    assert lights.lights_on.get() is False and lights.power.get() == 10.0
    with pytest.raises(ValueError, match="occupants must be an integer from 0 to 100"):
        room.set_occupants(-1)


def test_spill_is_diluted_by_the_air_changes(room: SimulatedRoom, clock: SteppedClock) -> None:
    sensors = room.sensors
    sensors.spill(100.0)
    tau = 240.0 / room.hvac.supply_flow.get()
    clock.advance(tau)
    assert sensors.true_vapour() == pytest.approx(0.5 + 100.0 * math.exp(-1))
    assert sensors.vapour.get() == pytest.approx(sensors.true_vapour(), abs=0.2)
    sensors.clear_spill()
    assert sensors.true_vapour() == pytest.approx(0.5)
    with pytest.raises(LimitError, match="spill -5"):
        sensors.spill(-5)


def test_co2_rises_with_people_towards_the_steady_state(
    room: SimulatedRoom, clock: SteppedClock
) -> None:
    room.set_occupants(10)
    clock.advance(20 * 3600)
    expected = 420.0 + 1e6 * 10 * 5e-6 / room.hvac.supply_flow.get()
    assert room.sensors.co2.get() == pytest.approx(expected, abs=10)


def test_sensor_faults_nan_and_disconnect(room: SimulatedRoom) -> None:
    sensors = room.sensors
    sensors.faults.inject("nan")
    assert math.isnan(sensors.temperature.get())
    sensors.faults.inject("disconnect")
    with pytest.raises(DeviceDisconnectedError, match="room_sensors"):
        sensors.read()


def test_sensor_noise_is_seeded(clock: SteppedClock) -> None:
    from smartlab_kernel.devices.room import build_room
    from smartlab_kernel.devices.world import BenchWorld

    def readings(seed: int) -> list[float]:
        world = BenchWorld(seed=seed)
        world.clock = SteppedClock()
        room = build_room(world)
        return [room.sensors.temperature.get() for _ in range(5)]

    assert readings(1) == readings(1)
    assert readings(1) != readings(2)


def test_build_room_validates_hood_count() -> None:
    from smartlab_kernel.devices.room import build_room
    from smartlab_kernel.devices.world import BenchWorld

    with pytest.raises(ValueError, match="hoods must be an integer from 0 to 20, got 'two'"):
        build_room(BenchWorld(), hoods="two")  # type: ignore[arg-type]
