"""Recipe values reach each device in the device's own units (K, rev/s, min, uL)."""

from __future__ import annotations

from typing import Any

import bluesky.plan_stubs as bps
import pytest
from bluesky import RunEngine
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import StatusBase

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.devices.signals import LimitedSignal
from smartlab_kernel.plans import Recipe, measure_recipe, prepare_vial
from smartlab_kernel.plans.units import device_units, in_units_of, same_units
from smartlab_kernel.testing import DocumentCollector, plan_devices


def done() -> StatusBase:
    status = StatusBase()
    status.set_finished()
    return status


class MinutesTimer(Device):
    """A hold timer set in minutes."""

    minutes = Cpt(LimitedSignal, value=0.0, limits=(0.0, 1440.0), units="min", kind="hinted")

    def set(self, value: Any) -> StatusBase:
        self.minutes.put(float(value))
        return done()


class KelvinReactor(Device):
    """A reactor whose controller works in K, stirs in rev/s and holds in minutes."""

    setpoint = Cpt(LimitedSignal, value=293.15, limits=(273.15, 573.15), units="K")
    stir_rpm = Cpt(LimitedSignal, value=0.0, limits=(0.0, 30.0), units="rps")
    hold = Cpt(MinutesTimer)

    def set(self, value: Any) -> StatusBase:
        self.setpoint.put(float(value))  # LimitedSignal refuses what is outside its limits
        return done()


class Hotplate(Device):
    """A plain hotplate: no stirring, no timer."""

    setpoint = Cpt(LimitedSignal, value=20.0, limits=(15.0, 150.0), units="C")

    def set(self, value: Any) -> StatusBase:
        self.setpoint.put(float(value))
        return done()


def test_a_reactor_in_kelvin_gets_the_recipes_degc_in_kelvin(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    reactor = KelvinReactor(name="reactor")
    devices = {**plan_devices(bench), "reactor": reactor}
    recipe = Recipe({"a": 3, "b": 2}, temperature_c=60, hold_s=900, stir_rpm=600)
    run_engine(measure_recipe(recipe, **devices))
    assert reactor.setpoint.get() == pytest.approx(333.15)  # not 60 K (refused by its limits)
    assert reactor.stir_rpm.get() == pytest.approx(10.0)  # 600 rpm in rev/s
    assert reactor.hold.minutes.get() == pytest.approx(15.0)  # 900 s in min
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    (start,) = documents.starts
    assert start["recipe"]["temperature_c"] == 60.0 and start["recipe"]["stir_rpm"] == 600.0
    (event,) = documents.events("primary")
    assert event["data"]["reactor_setpoint"] == pytest.approx(333.15)
    assert documents.stops[0]["exit_status"] == "success"


def test_devices_in_the_recipes_units_or_without_units_get_the_number_as_is(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    hotplate = Hotplate(name="hotplate")  # EPICS spells degC "C"
    devices = plan_devices(bench)
    del devices["spectrometer"]
    devices["reactor"] = hotplate
    run_engine(prepare_vial(Recipe({"a": 1}, temperature_c=42.5, hold_s=0, stir_rpm=0), **devices))
    assert hotplate.setpoint.get() == 42.5
    assert bench.dispenser.a.remaining.get() == pytest.approx(49.0)
    assert same_units("C", "degC") and same_units("counts", "counts")
    assert not same_units("K", "degC") and not same_units("arb", "degC")


def test_a_stirring_recipe_on_a_reactor_that_cannot_stir_is_refused_before_anything_moves(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    devices = {**plan_devices(bench), "reactor": Hotplate(name="hotplate")}
    with pytest.raises(ValueError, match=r"stir_rpm is 500 rpm but reactor 'hotplate' has no"):
        run_engine(measure_recipe(Recipe({"a": 1}, stir_rpm=500), **devices))
    assert bench.dispenser.a.remaining.get() == pytest.approx(50.0)
    assert bench.world.occupied() == {}


def test_units_that_cannot_be_converted_are_refused_naming_value_units_and_device(
    run_engine: RunEngine,
) -> None:
    stage = Device(name="stage")
    stage.egu = "mm"  # type: ignore[attr-defined]  # as ophyd's EpicsMotor has it
    results: list[Any] = []

    def plan():  # type: ignore[no-untyped-def]
        results.append((yield from device_units(stage)))
        yield from in_units_of(stage, 60.0, "degC", "recipe temperature_c")

    with pytest.raises(
        ValueError,
        match=r"recipe temperature_c for stage: cannot convert 60 °C to the device's units 'mm'",
    ):
        run_engine(plan())
    assert results == ["mm"]


def test_an_ophyd_async_device_is_described_on_the_run_engines_loop(
    run_engine: RunEngine,
) -> None:
    pytest.importorskip("ophyd_async")
    from ophyd_async.core import init_devices, soft_signal_rw

    with init_devices():
        oven = soft_signal_rw(float, initial_value=300.0, units="K")
    converted: list[float] = []

    def plan():  # type: ignore[no-untyped-def]
        value = yield from in_units_of(oven, 27.0, "degC", "recipe temperature_c")
        converted.append(value)
        yield from bps.mv(oven, value)

    run_engine(plan())
    assert converted == [pytest.approx(300.15)]
