"""Energy integration against analytic answers, and the setback saving."""

from __future__ import annotations

import pytest

from smartlab_kernel.devices.room import (
    ALWAYS_ON,
    SETBACK,
    SimulatedRoom,
    SteppedClock,
    setback_saving,
    simulate_energy,
)


def test_constant_power_for_t_hours_is_p_times_t(room: SimulatedRoom, clock: SteppedClock) -> None:
    meter = room.meters["instruments"]
    room.instruments.power.put(1500.0)
    meter.reset()
    clock.advance(3 * 3600)
    assert meter.energy.get() == pytest.approx(1.5 * 3)


def test_step_change_integrates_piecewise(room: SimulatedRoom, clock: SteppedClock) -> None:
    meter = room.meters["instruments"]
    room.instruments.power.put(2000.0)
    meter.reset()
    clock.advance(2 * 3600)
    room.instruments.power.put(500.0)
    clock.advance(4 * 3600)
    # Reads in between must not change the integral.
    assert meter.energy.get() == pytest.approx(2.0 * 2 + 0.5 * 4)
    assert meter.energy.get() == pytest.approx(6.0)


def test_hood_meter_integrates_flow_changes(room: SimulatedRoom, clock: SteppedClock) -> None:
    meter = room.meters["hoods"]
    meter.reset()
    closed_w = meter.power.get()  # two hoods at their minimum flow
    assert closed_w == pytest.approx(2 * 2500 * 0.05)
    clock.advance(3600)
    room.hoods["hood_1"].sash_height.put(0.5)
    open_w = meter.power.get()
    clock.advance(3600)
    room.hoods["hood_1"].faults.inject("fan_failure")
    failed_w = meter.power.get()
    clock.advance(3600)
    expected_kwh = (closed_w + open_w + failed_w) / 1000.0
    assert meter.energy.get() == pytest.approx(expected_kwh)


def test_hvac_power_is_fans_plus_conditioning(room: SimulatedRoom) -> None:
    supply = 6 * 240 / 3600
    fans = 1500 * (supply + supply / 0.9)
    conditioning = 1.2 * 1005 * supply * (21 - 5) / 3.0
    assert room.hvac.power.get() == pytest.approx(fans + conditioning)


def test_always_on_day_matches_a_hand_calculation() -> None:
    result = simulate_energy(ALWAYS_ON, days=1)
    day = result.daily_kwh[0]
    assert day["instruments"] == pytest.approx(1.5 * 24)
    assert day["lighting"] == pytest.approx(0.8 * 24)
    hood_flow = 0.5 * (1.5 * 0.5 + 0.1)
    assert day["hoods"] == pytest.approx(2 * 2500 * hood_flow * 24 / 1000)


def test_setback_saves_energy_and_reports_it() -> None:
    report = setback_saving(days=7)
    assert report["saving_kwh_per_day"] > 0
    assert 0.2 < report["saving_fraction"] < 0.9
    for system in ("hvac", "hoods", "lighting", "instruments"):
        assert report["setback"][system] < report["always_on"][system]
    assert len(report["setback_daily"]) == 7
    # Weekends are unoccupied all day under setback: less than a weekday.
    weekday, sunday = report["setback_daily"][0], report["setback_daily"][6]
    assert sum(sunday.values()) < sum(weekday.values())


def test_simulate_energy_refuses_bad_days() -> None:
    with pytest.raises(ValueError, match="days must be an integer from 1 to 366, got 0"):
        simulate_energy(SETBACK, days=0)
