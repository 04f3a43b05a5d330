"""Bad input and failing plans: the run is marked failed with its reason; earlier data intact."""

from __future__ import annotations

import asyncio

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
from bluesky.utils import FailedStatus

from smartlab_kernel import Lab
from smartlab_kernel.devices import DeviceTimeoutError, ReservoirEmptyError
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.testing import empty_reservoir, inject, plan_devices

RECIPE = Recipe({"a": 3, "b": 2}, temperature_c=50, hold_s=300, stir_rpm=600)


def raising_plan(lab: Lab):  # type: ignore[no-untyped-def]
    bench = lab.bench
    assert bench is not None

    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run(md={"plan_name": "raising_plan"})
        yield from bps.trigger_and_read([bench.reactor])
        raise RuntimeError("the plan found a broken stirrer bar")

    return plan()


def test_a_plan_that_raises_fails_its_run_and_keeps_earlier_runs(lab: Lab) -> None:
    good = lab.submit(measure_recipe(RECIPE, **plan_devices(lab)))
    bad = lab.submit(raising_plan(lab))
    after = lab.submit(measure_recipe(RECIPE, **plan_devices(lab)))
    (good_uid,) = good.wait(30)
    with pytest.raises(RuntimeError, match="broken stirrer bar"):
        bad.wait(30)
    assert bad.state == "failed"
    assert bad.reason == "RuntimeError: the plan found a broken stirrer bar"
    assert isinstance(bad.error, RuntimeError)
    (after_uid,) = after.wait(30)  # the session goes on
    lab.wait(30)
    stored_bad = lab.catalog[bad.uids[0]]
    assert stored_bad.metadata["stop"]["exit_status"] == "fail"
    assert "broken stirrer bar" in stored_bad.metadata["stop"]["reason"]
    assert stored_bad["primary"].read()["reactor_temperature"].shape == (1,)
    for uid in (good_uid, after_uid):
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        assert stored["primary"].read()["spectrometer_readout"].shape == (1,)


def test_empty_reservoir_during_a_plan_is_a_failed_run(lab: Lab) -> None:
    assert lab.bench is not None
    with empty_reservoir(lab.bench.dispenser.b, remaining_ml=0.5):
        run = lab.submit(measure_recipe(RECIPE, **plan_devices(lab)))
        with pytest.raises(ReservoirEmptyError, match=r"only 0\.5 mL left"):
            run.wait(30)
    assert run.state == "failed"
    lab.wait(30)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert "cannot dispense 2 mL of 'b', only 0.5 mL left in the reservoir" in stop["reason"]


def test_out_of_limit_setpoint_fails_with_the_value_and_range(lab: Lab) -> None:
    assert lab.bench is not None
    reactor = lab.bench.reactor

    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run()
        yield from bps.mv(reactor, 400)
        yield from bps.close_run()

    run = lab.submit(plan())
    with pytest.raises(Exception, match="400"):
        run.wait(30)
    lab.wait(30)
    reason = lab.catalog[run.uids[0]].metadata["stop"]["reason"]
    assert "reactor temperature 400.0 degC is outside the allowed range [15, 150] degC" in reason


def test_a_device_timeout_fails_the_run(lab: Lab) -> None:
    assert lab.bench is not None
    with inject(lab.bench.robot, "timeout"):
        run = lab.submit(measure_recipe(RECIPE, **plan_devices(lab)))
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
    assert run.state == "failed"
    assert isinstance(info.value.__cause__, DeviceTimeoutError)
    assert "robot did not finish moving" in str(info.value.__cause__)
    lab.wait(30)
    assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "fail"


def test_a_failed_status_records_the_device_error_as_reason(lab: Lab) -> None:
    assert lab.bench is not None
    with inject(lab.bench.robot, "timeout"):
        run = lab.submit(measure_recipe(RECIPE, **plan_devices(lab)))
        with pytest.raises(FailedStatus):
            run.wait(30)
    lab.wait(30)
    assert "robot did not finish moving" in run.reason
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert "robot did not finish moving" in stop["reason"]


def test_a_disconnected_device_fails_the_run(lab: Lab) -> None:
    assert lab.bench is not None
    spectrometer = lab.bench.spectrometer
    lab.bench.world.new_vial("spectrometer")
    with inject(spectrometer, "disconnect"):
        run = lab.submit(bp.count([spectrometer], num=1))
        with pytest.raises(Exception, match="not answering"):
            run.wait(30)
    assert run.state == "failed"


def test_nan_readings_are_stored_as_nan_not_dropped(lab: Lab) -> None:
    assert lab.bench is not None
    spectrometer = lab.bench.spectrometer
    lab.bench.world.new_vial("spectrometer")
    spectrometer.integration_time.put(0.01)
    with inject(spectrometer, "nan"):
        (uid,) = lab.submit(bp.count([spectrometer], num=2)).wait(30)
    lab.wait(30)
    readout = lab.catalog[uid]["primary"].read()["spectrometer_readout"].values
    assert readout.shape == (2,) and np.isnan(readout).all()


def test_a_runengine_left_suspending_after_a_plan_is_brought_back(lab: Lab) -> None:
    """Found by the fault campaign: an interlock that trips as a plan ends wedged the lab.

    bluesky's suspend request then lands after the plan's last message: the
    RunEngine stays 'suspending' and refused every later plan ("The
    RunEngine is in a suspending state").
    """
    lab.submit(bps.null()).wait(30)

    async def leave_suspending() -> None:  # what the late suspend request does
        lab.engine._state = "running"
        lab.engine._state = "suspending"

    asyncio.run_coroutine_threadsafe(leave_suspending(), lab.engine.loop).result(10)
    assert lab.engine.state == "suspending"
    run = lab.submit(bps.null())
    run.wait(30)
    assert run.state == "finished"
    assert lab.engine.state == "idle"
