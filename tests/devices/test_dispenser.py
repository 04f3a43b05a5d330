"""Syringe pumps: volumes tracked per reservoir, over-volume refused without side effects."""

from __future__ import annotations

import time

import pytest

from smartlab_kernel.devices import (
    LimitError,
    NoVialError,
    ReservoirEmptyError,
    SimulatedBench,
    build_bench,
    make_dispenser_class,
)
from smartlab_kernel.testing import empty_reservoir


def test_dispense_decrements_the_reservoir_and_fills_the_vial(bench: SimulatedBench) -> None:
    vial = bench.world.new_vial("dispense")
    pump = bench.dispenser.a
    pump.set(2.5).wait(5)
    pump.set(0.5).wait(5)
    assert pump.remaining.get() == pytest.approx(47.0)
    assert bench.dispenser.remaining() == pytest.approx({"a": 47.0, "b": 50.0, "solvent": 100.0})
    assert vial.volumes_ml == pytest.approx({"a": 3.0})
    assert pump.dispensed.get() == pytest.approx(0.5)


def test_dispense_takes_volume_over_flow_rate() -> None:
    bench = build_bench(time_scale=100.0)
    bench.world.new_vial("dispense")
    pump = bench.dispenser.b
    pump.flow_rate.put(0.1)
    started = time.monotonic()
    status = pump.set(3.0)  # 30 simulated seconds -> 0.3 real seconds
    assert not status.done
    status.wait(5)
    elapsed = time.monotonic() - started
    assert 0.29 <= elapsed < 1.0


def test_over_volume_raises_and_leaves_every_volume_unchanged(bench: SimulatedBench) -> None:
    bench.world.new_vial("dispense")
    before = bench.dispenser.remaining()
    with empty_reservoir(bench.dispenser.a, remaining_ml=1.0):
        with pytest.raises(ReservoirEmptyError) as info:
            bench.dispenser.a.set(2.0)
        assert bench.dispenser.remaining() == pytest.approx({**before, "a": 1.0})
    message = str(info.value)
    assert "2 mL" in message and "only 1 mL left" in message and "'a'" in message
    assert bench.dispenser.remaining() == before
    assert bench.world.vial_at("dispense").volumes_ml == {}  # type: ignore[union-attr]


def test_in_flight_dispenses_are_reserved(bench: SimulatedBench) -> None:
    """Two dispenses that together exceed the reservoir: the second is refused at once."""
    bench.world.new_vial("dispense")
    pump = bench.dispenser.a
    with empty_reservoir(pump, remaining_ml=3.0):
        first = pump.set(2.0)
        with pytest.raises(ReservoirEmptyError):
            pump.set(2.0)
        first.wait(5)
        assert pump.remaining.get() == pytest.approx(1.0)


def test_stop_releases_the_reservation_of_a_cancelled_dispense() -> None:
    bench = build_bench(time_scale=1.0)
    bench.world.new_vial("dispense")
    pump = bench.dispenser.a
    with empty_reservoir(pump, remaining_ml=3.0):
        pump.set(2.0)  # 4 s at real time: still running when stopped
        pump.stop()
        assert pump.remaining.get() == pytest.approx(3.0)
        pump.set(3.0)  # the cancelled 2 mL are available again
        pump.stop()


def test_dispense_volume_limits_and_types_name_the_value(bench: SimulatedBench) -> None:
    bench.world.new_vial("dispense")
    with pytest.raises(LimitError, match=r"dispenser_a dispense volume 12\.0 mL .*\[0, 10\] mL"):
        bench.dispenser.a.set(12)
    with pytest.raises(LimitError, match=r"-1\.0 mL is outside"):
        bench.dispenser.a.set(-1)
    with pytest.raises(LimitError, match="nan"):
        bench.dispenser.a.set(float("nan"))
    with pytest.raises(TypeError, match=r"must be a number in mL, got 'lots' of type str"):
        bench.dispenser.a.set("lots")
    assert bench.dispenser.remaining()["a"] == 50.0


def test_dispense_needs_a_vial(bench: SimulatedBench) -> None:
    with pytest.raises(NoVialError, match="no vial at station 'dispense'"):
        bench.dispenser.a.set(1.0)


def test_fill_refills_and_checks_capacity(bench: SimulatedBench) -> None:
    pump = bench.dispenser.solvent
    pump.fill(10.0)
    assert pump.remaining.get() == 10.0
    pump.fill()
    assert pump.remaining.get() == 100.0
    with pytest.raises(LimitError, match=r"fill volume 101\.0 mL .*\[0, 100\]"):
        pump.fill(101)


def test_remaining_is_a_readback(bench: SimulatedBench) -> None:
    with pytest.raises(PermissionError, match="readback"):
        bench.dispenser.a.remaining.put(3.0)


@pytest.mark.parametrize(
    ("stocks", "match"),
    [
        ({}, "at least one stock"),
        ({"2x": 1.0}, "must be a Python identifier"),
        ({"_a": 1.0}, "not starting with '_'"),
        ({"a": 0.0}, r"capacity of stock 'a' 0\.0 mL is outside"),
    ],
)
def test_dispenser_class_validates_stocks(stocks: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dispenser_class(stocks)


def test_pumps_use_the_dispensers_timeout() -> None:
    bench = build_bench(seed=0, device_timeout=0.2)
    bench.world.new_vial("dispense")
    pump = bench.dispenser.a
    assert pump.timeout == 0.2
    pump.faults.inject("timeout")
    started = time.monotonic()
    status = pump.set(1.0)
    with pytest.raises(Exception, match=r"dispenser_a did not finish .* timeout of 0\.2 s"):
        status.wait(5)
    assert time.monotonic() - started < 2.0
    pump.timeout = 0.5  # its own setting wins over the parent's
    assert pump.timeout == 0.5 and bench.dispenser.timeout == 0.2
