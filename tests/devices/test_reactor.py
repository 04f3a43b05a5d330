"""Reactor: first-order temperature dynamics, settle time, stirring and timed holds."""

from __future__ import annotations

import math
import time

import pytest

from smartlab_kernel.devices import LimitError, NoVialError, SimulatedBench, build_bench


def expected_temperature(t: float, t0: float, temp0: float, target: float, tau: float) -> float:
    return target + (temp0 - target) * math.exp(-(t - t0) / tau)


def test_temperature_follows_the_first_order_formula() -> None:
    bench = build_bench(time_scale=200.0)
    reactor, clock = bench.reactor, bench.world.clock
    reactor.time_constant.put(30.0)
    t0 = clock.now()
    temp0 = reactor.temperature.get()
    status = reactor.set(85.0)
    t0_after = clock.now()
    assert temp0 == pytest.approx(25.0, abs=1e-6)
    for _ in range(6):
        time.sleep(0.03)
        before = clock.now()
        reading = reactor.temperature.get()
        after = clock.now()
        # The reading was computed between `before` and `after`, from a start between t0 and
        # t0_after: it lies between the formula's values at those extremes (T rises).
        low = expected_temperature(before, t0_after, 25.0, 85.0, 30.0)
        high = expected_temperature(after, t0, 25.0, 85.0, 30.0)
        assert low - 1e-9 <= reading <= high + 1e-9
    status.wait(5)
    assert reactor.temperature.get() == pytest.approx(85.0, abs=0.5)


def test_set_takes_the_predicted_time_at_a_time_scale() -> None:
    bench = build_bench(time_scale=100.0)
    reactor = bench.reactor
    reactor.time_constant.put(20.0)
    predicted = 20.0 * math.log((80.0 - 25.0) / 0.5) / 100.0  # ~0.94 real seconds
    started = time.monotonic()
    reactor.set(80.0).wait(10)
    elapsed = time.monotonic() - started
    assert predicted <= elapsed < predicted + 0.5
    assert abs(reactor.temperature.get() - 80.0) <= 0.5 + 1e-9


def test_cooling_and_a_set_within_tolerance_finish_at_once(bench: SimulatedBench) -> None:
    reactor = bench.reactor
    status = reactor.set(25.2)  # within the 0.5 degC tolerance of the ambient 25 degC
    status.wait(1)
    assert status.success
    reactor.set(40).wait(5)
    reactor.set(20).wait(5)
    assert reactor.temperature.get() == pytest.approx(20.0, abs=0.5)
    assert reactor.setpoint.get() == 20.0


def test_setpoint_limits_and_types_name_the_value(bench: SimulatedBench) -> None:
    with pytest.raises(LimitError) as info:
        bench.reactor.set(200)
    assert "reactor temperature 200.0 degC is outside the allowed range [15, 150] degC" in str(
        info.value
    )
    with pytest.raises(TypeError, match="reactor temperature must be a number in degC, got 'hot'"):
        bench.reactor.set("hot")
    with pytest.raises(LimitError, match=r"2000\.0 rpm is outside the allowed range \[0, 1500\]"):
        bench.reactor.stir_rpm.put(2000)
    with pytest.raises(LimitError, match=r"2000\.0 rpm is outside"):  # a set fails its status
        bench.reactor.stir_rpm.set(2000).wait(2)
    assert bench.reactor.stir_rpm.get() == 0.0
    assert bench.reactor.setpoint.get() == 25.0


def test_hold_records_the_reaction_in_the_vial(bench: SimulatedBench) -> None:
    reactor = bench.reactor
    with pytest.raises(NoVialError, match="no vial at station 'reactor' to react"):
        reactor.hold.set(10)
    vial = bench.world.new_vial("reactor")
    reactor.stir_rpm.set(600).wait(1)
    reactor.set(60).wait(5)
    reactor.hold.set(600).wait(5)
    assert vial.hold_s == 600.0
    assert vial.stir_rpm == 600.0
    assert vial.temperature_c == pytest.approx(60.0, abs=0.5)
    assert reactor.hold.seconds.get() == 600.0


def test_mean_temperature_averages_the_approach() -> None:
    bench = build_bench(time_scale=1.0)
    reactor = bench.reactor
    reactor.time_constant.put(10.0)
    reactor.set(125.0)  # starts now, from 25 degC
    start = bench.world.clock.now()
    mean = reactor.mean_temperature(start, start + 10.0)
    # exact mean of T over one time constant: 125 - 100 * (1 - e^-1); sampled with 21 points
    assert mean == pytest.approx(125.0 - 100.0 * (1 - math.exp(-1)), abs=0.3)
    reactor.stop()


def test_an_operators_stop_holds_the_temperature_where_it_is() -> None:
    bench = build_bench(time_scale=200.0)
    reactor = bench.reactor
    status = reactor.set(120.0)
    time.sleep(0.1)  # 20 simulated seconds: on the way up
    reactor.stop()
    with pytest.raises(Exception, match="cancelled"):
        status.wait(2)
    held = reactor.temperature.get()
    assert 25.0 < held < 120.0
    assert reactor.setpoint.get() == pytest.approx(held, abs=1e-6)
    time.sleep(0.1)
    assert reactor.temperature.get() == pytest.approx(held, abs=1e-6)


def test_a_pause_keeps_heating_towards_the_setpoint() -> None:
    bench = build_bench(time_scale=200.0)
    reactor = bench.reactor
    reactor.set(120.0)
    time.sleep(0.05)
    reactor.stop(success=True)  # what the RunEngine sends when it pauses
    before = reactor.temperature.get()
    time.sleep(0.1)
    assert reactor.temperature.get() > before and reactor.setpoint.get() == 120.0
    reactor.resume()
