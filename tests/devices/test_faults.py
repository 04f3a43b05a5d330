"""Fault injection: timeout, stuck axis, disconnect, and the injector's own checks."""

from __future__ import annotations

import time

import pytest

from smartlab_kernel.devices import (
    FAULT_KINDS,
    DeviceDisconnectedError,
    DeviceTimeoutError,
    FaultInjector,
    SimClock,
    SimulatedBench,
)
from smartlab_kernel.testing import inject


def test_timeout_fault_fails_the_status_after_the_device_timeout(bench: SimulatedBench) -> None:
    bench.world.new_vial("dispense")
    pump = bench.dispenser.a
    pump.timeout = 0.3
    with inject(pump, "timeout"):
        started = time.monotonic()
        status = pump.set(1.0)
        with pytest.raises(DeviceTimeoutError) as info:
            status.wait(5)
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5
    assert str(info.value) == (
        "dispenser_a did not finish dispensing 1 mL within its timeout of 0.3 s (not answering)"
    )
    assert pump.remaining.get() == 50.0  # nothing dispensed, reservation released
    pump.fill(1.0)
    pump.set(1.0).wait(5)
    assert pump.remaining.get() == 0.0


def test_stuck_reactor_keeps_its_temperature_and_times_out(bench: SimulatedBench) -> None:
    reactor = bench.reactor
    reactor.timeout = 0.3
    with inject(reactor, "stuck"):
        status = reactor.set(90)
        with pytest.raises(DeviceTimeoutError, match=r"heating to 90 degC .* \(stuck\)"):
            status.wait(5)
        assert reactor.temperature.get() == pytest.approx(25.0)
    reactor.set(30).wait(5)  # unstuck: works again


def test_a_failed_step_leaves_the_next_one_alone(
    bench: SimulatedBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No late stop() from ophyd's status thread (it cancelled the caller's next move in CI).

    ophyd's DeviceStatus calls ``device.stop()`` after waking the waiter; a
    move started in between failed as "stopped by the operator".
    """
    reactor = bench.reactor
    reactor.timeout = 0.3
    stops: list[dict[str, object]] = []
    stop = reactor.stop
    monkeypatch.setattr(reactor, "stop", lambda **kw: (stops.append(kw), stop(**kw))[1])
    with inject(reactor, "stuck"):
        status = reactor.set(90)
        with pytest.raises(DeviceTimeoutError):
            status.wait(5)
        # the heater holds what it reached, already when the caller hears of the failure
        assert reactor.setpoint.get() == pytest.approx(25.0)
    time.sleep(0.3)  # ophyd's callback thread is done with the failed status
    assert stops == []
    reactor.set(30).wait(5)
    assert reactor.temperature.get() == pytest.approx(30.0, abs=0.5)


def test_stuck_robot_never_moves(bench: SimulatedBench) -> None:
    bench.world.new_vial("rack_1")
    bench.robot.timeout = 0.2
    with inject(bench.robot, "stuck"):
        status = bench.robot.set(("rack_1", "reactor"))
        with pytest.raises(DeviceTimeoutError, match=r"moving vial V0001 .* \(stuck\)"):
            status.wait(5)
    assert bench.world.occupied() == {"rack_1": "V0001"}


def test_disconnect_fails_reads_and_sets_of_the_device_and_its_children(
    bench: SimulatedBench,
) -> None:
    bench.world.new_vial("dispense")
    with inject(bench.dispenser, "disconnect"):
        with pytest.raises(DeviceDisconnectedError, match="device 'dispenser' is not answering"):
            bench.dispenser.read()
        with pytest.raises(DeviceDisconnectedError, match="'dispenser'"):
            bench.dispenser.a.set(1.0)
    bench.dispenser.a.set(1.0).wait(5)
    with inject(bench.spectrometer, "disconnect"), pytest.raises(DeviceDisconnectedError):
        bench.spectrometer.trigger()
    assert bench.spectrometer.faults.active_kinds == frozenset()


def test_injector_refuses_unsupported_kinds(bench: SimulatedBench) -> None:
    with pytest.raises(ValueError, match=r"does not support fault 'nan'; supported: \['disc"):
        bench.reactor.faults.inject("nan")
    with (
        pytest.raises(ValueError, match="unknown fault kind 'smoke'"),
        inject(bench.reactor, "smoke"),
    ):
        pass
    with pytest.raises(ValueError, match=r"unknown fault kinds \['smoke'\]"):
        FaultInjector("x", ["smoke"])
    assert set(FAULT_KINDS) == {"timeout", "stuck", "disconnect", "nan"}


def test_inject_clears_the_fault_when_the_block_raises(bench: SimulatedBench) -> None:
    with pytest.raises(RuntimeError), inject(bench.robot, "timeout"):
        assert bench.robot.faults.active("timeout")
        raise RuntimeError
    assert not bench.robot.faults.active("timeout")


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), float("inf"), True, "fast"])
def test_clock_refuses_bad_time_scales(scale: object) -> None:
    with pytest.raises(ValueError, match="time_scale must be a finite number > 0"):
        SimClock(scale)  # type: ignore[arg-type]


def test_clock_runs_time_scale_times_faster() -> None:
    clock = SimClock(500.0)
    start = clock.now()
    time.sleep(0.05)
    assert 20.0 <= clock.now() - start < 60.0
    assert clock.real_seconds(1000.0) == 2.0
    assert clock.real_seconds(-5.0) == 0.0
