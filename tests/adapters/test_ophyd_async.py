"""ophyd-async devices in a lab: built from the config, run by the Lab's RunEngine, stored.

The EPICS example (``AsyncEpicsReactor``) talks Channel Access (aioca) to the
bundled caproto reactor IOC on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus

from smartlab_kernel import Lab
from smartlab_kernel.devices.labconfig import (
    LabConfigError,
    build_devices,
    check_devices,
    load_lab_config,
    parse_config_text,
)
from smartlab_kernel.testing import require_module

from .conftest import IocFactory, LabWith

require_module("ophyd_async", "pip install 'smartlab-kernel[ophyd-async]'")
from ophyd_async.core import NotConnectedError  # noqa: E402

from smartlab_kernel.devices.adapters.ophyd_async_reactor import AsyncEpicsReactor  # noqa: E402

pytestmark = pytest.mark.timeout(120)

REACTOR_CLASS = "smartlab_kernel.devices.adapters.ophyd_async_reactor:AsyncEpicsReactor"


def write_config(directory: Path, prefix: str, extra: str = "") -> Path:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
devices:
  hotplate:
    kind: ophyd_async
    device_class: {REACTOR_CLASS}
    prefix: "{prefix}"
    options: {{tolerance: 0.5, settle_timeout: 30}}
    connection_timeout: 5
{extra}""",
        encoding="utf-8",
    )
    return path


def heat(hotplate: AsyncEpicsReactor, temperatures: list[float]):  # type: ignore[no-untyped-def]
    @bpp.run_decorator(md={"plan_name": "heat"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(hotplate.stir_rpm, 300)
        for temperature in temperatures:
            yield from bps.mv(hotplate, temperature)
            yield from bps.trigger_and_read([hotplate])

    return plan()


def wait_for(condition: Callable[[], bool], within: float, failure: str) -> None:
    """Return once ``condition()`` holds; fail with ``failure`` after ``within`` s."""
    import time

    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


@pytest.fixture
def own_lab(tmp_path: Path) -> Iterator[Lab]:
    """A Lab of its own on a temporary directory, made after the devices were connected."""
    lab = Lab({}, tmp_path / "lab")
    yield lab
    lab.close()


def test_a_configured_ophyd_async_device_runs_in_a_lab_and_lands_in_the_catalog(
    reactor_ioc: IocFactory, tmp_path: Path
) -> None:
    reactor_ioc("OA1:REACTOR:")
    devices = build_devices(load_lab_config(write_config(tmp_path, "OA1:REACTOR:")))
    hotplate = devices["hotplate"]
    assert isinstance(hotplate, AsyncEpicsReactor)
    assert hotplate.name == "hotplate"
    # The lab is made after the device connected (as `smartlab lab --config` does).
    lab = Lab(devices, tmp_path / "lab")
    try:
        (uid,) = lab.submit(heat(hotplate, [60.0, 40.0])).wait(60)
        lab.wait(30)
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        data = stored["primary"].read()
        assert list(data["hotplate"].values) == pytest.approx([60.0, 40.0], abs=0.5)
        assert list(data["hotplate_stir_rpm"].values) == [300.0, 300.0]
        keys = stored["primary"].metadata["data_keys"]
        assert keys["hotplate"]["units"] == "degC"
        assert keys["hotplate"]["source"] == "ca://OA1:REACTOR:TEMP_RBV"
        # The start document records the device's configuration, read from the IOC.
        configuration = stored.metadata["start"]["devices"]["hotplate"]
        assert configuration == {"hotplate_setpoint": 25.0}
        # ... and each descriptor the configuration at the time of the reading.
        descriptor_config = stored["primary"].metadata["configuration"]["hotplate"]["data"]
        assert descriptor_config["hotplate_setpoint"] == 60.0
    finally:
        lab.close()


def test_a_setpoint_past_the_pvs_limits_fails_the_run_with_the_limits(
    reactor_ioc: IocFactory, tmp_path: Path, lab_with: LabWith
) -> None:
    reactor_ioc("OA2:REACTOR:")
    hotplate = build_devices(load_lab_config(write_config(tmp_path, "OA2:REACTOR:")))["hotplate"]
    lab = lab_with({"hotplate": hotplate})
    run = lab.submit(heat(hotplate, [50.0, 500.0]))
    with pytest.raises(FailedStatus):
        run.wait(60)
    lab.wait(30)
    stored = lab.catalog[run.uids[0]]
    stop = stored.metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert stop["reason"] == (
        "ValueError: hotplate_setpoint: 500 degC is outside the setpoint's limits [15, 150] degC"
    )
    assert list(stored["primary"].read()["hotplate"].values) == pytest.approx([50.0], abs=0.5)


def test_devices_check_reports_readings_with_units_and_every_pv_that_does_not_connect(
    reactor_ioc: IocFactory, tmp_path: Path
) -> None:
    reactor_ioc("OA3:REACTOR:")
    path = write_config(
        tmp_path,
        "OA3:REACTOR:",
        extra=f"""  missing:
    kind: ophyd_async
    device_class: {REACTOR_CLASS}
    prefix: "NOBODY:"
    connection_timeout: 0.5
""",
    )
    found, missing = check_devices(load_lab_config(path), timeout=5)
    assert found.ok, found.detail
    assert found.endpoint == "ophyd-async AsyncEpicsReactor, PV prefix OA3:REACTOR:"
    assert found.detail.startswith("AsyncEpicsReactor: hotplate=25.0 degC, ")
    assert "hotplate_stir_rpm=0.0 rpm" in found.detail
    assert not missing.ok
    assert missing.detail.startswith("NotConnectedError")
    for pv in ("NOBODY:TEMP_RBV", "NOBODY:TEMP_SP", "NOBODY:STIR_SP"):
        assert pv in missing.detail


def test_any_ophyd_async_class_by_name_here_an_epics_motor_in_mock_mode(
    tmp_path: Path, lab_with: LabWith
) -> None:
    config = parse_config_text(
        """
devices:
  stage_x:
    kind: ophyd_async
    device_class: ophyd_async.epics.motor:Motor
    prefix: "BL01:STAGE:X"
    mock: true
""",
        "yaml",
    )
    (motor,) = build_devices(config).values()
    lab = lab_with({"stage_x": motor})

    @bpp.run_decorator(md={"plan_name": "move_motor"})
    def plan():  # type: ignore[no-untyped-def]
        for position in (1.5, -2.0):
            yield from bps.mv(motor, position)
            yield from bps.trigger_and_read([motor])

    (uid,) = lab.submit(plan()).wait(30)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert list(stored["primary"].read()["stage_x"].values) == [1.5, -2.0]
    assert stored.metadata["start"]["devices"]["stage_x"]["stage_x_velocity"] == 1000.0


def test_config_errors_name_the_class_and_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(LabConfigError) as info:
        parse_config_text(
            "devices:\n  m:\n    kind: ophyd_async\n    device_class: Motor\n", "yaml", "lab.yaml"
        )
    assert info.value.problems == [
        "line 2: device 'm' (kind 'ophyd_async'): field 'device_class' = 'Motor' is not "
        "allowed; it must be 'package.module:Class', e.g. 'ophyd_async.epics.motor:Motor'"
    ]
    for device_class, message in [
        ("ophyd_async.epics.motor:Motr", "module 'ophyd_async.epics.motor' has no 'Motr'"),
        ("no_such_package.motors:Motor", "no module 'no_such_package.motors'"),
        ("ophyd.sim:SynAxis", "not an ophyd-async Device class"),
    ]:
        config = parse_config_text(
            f"devices:\n  m:\n    kind: ophyd_async\n    device_class: {device_class}\n", "yaml"
        )
        with pytest.raises(LabConfigError, match=message):
            build_devices(config)
    config = parse_config_text(
        f"devices:\n  m:\n    kind: ophyd_async\n    device_class: {REACTOR_CLASS}\n"
        "    options: {tolerence: 1}\n    mock: true\n",
        "yaml",
    )
    with pytest.raises(LabConfigError, match=r"does not take .* \{'tolerence': 1\}"):
        build_devices(config)


def test_an_ophyd_async_device_connected_after_the_lab_was_made_works_too(
    reactor_ioc: IocFactory, own_lab: Lab
) -> None:
    from ophyd_async.core import init_devices

    reactor_ioc("OA4:REACTOR:")
    with init_devices():  # the ophyd-async way, in a notebook with a lab open
        hotplate = AsyncEpicsReactor("OA4:REACTOR:", settle_timeout=30)
    own_lab.add_device("hotplate", hotplate)
    (uid,) = own_lab.submit(heat(hotplate, [45.0])).wait(60)
    own_lab.wait(30)
    data = own_lab.catalog[uid]["primary"].read()
    assert float(data["hotplate"][0]) == pytest.approx(45.0, abs=0.5)


def test_not_connecting_names_every_pv(tmp_path: Path) -> None:
    config = load_lab_config(write_config(tmp_path, "NOIOC:"))
    with pytest.raises(NotConnectedError, match="NOIOC:TEMP_RBV"):
        build_devices(config)


def test_killing_the_ioc_mid_move_fails_the_run_and_keeps_earlier_events(
    reactor_ioc: IocFactory, tmp_path: Path, lab_with: LabWith
) -> None:
    ioc = reactor_ioc("OA5:REACTOR:", time_scale=10.0)  # tau = 60 s takes 6 s
    path = write_config(tmp_path, "OA5:REACTOR:")
    path.write_text(path.read_text().replace("settle_timeout: 30", "settle_timeout: 3"))
    hotplate = build_devices(load_lab_config(path))["hotplate"]
    lab = lab_with({"hotplate": hotplate})

    @bpp.run_decorator(md={"plan_name": "heat_then_lose_the_ioc"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.trigger_and_read([hotplate])
        ioc.kill()  # the instrument loses power before the next move
        yield from bps.mv(hotplate, 120.0)
        yield from bps.trigger_and_read([hotplate])

    run = lab.submit(plan())
    with pytest.raises(FailedStatus):
        run.wait(60)
    lab.wait(30)
    stored = lab.catalog[run.uids[0]]
    stop = stored.metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert stop["reason"].startswith(
        "DeviceDisconnectedError: device 'hotplate' at PV prefix OA5:REACTOR: is not answering "
        "(while moving to 120): TimeoutError: ca://OA5:REACTOR:TEMP_RBV"
    ), stop["reason"]
    assert list(stored["primary"].read()["hotplate"].values) == pytest.approx([25.0], abs=0.5)


def test_a_temperature_that_does_not_settle_in_time_fails_naming_device_pv_and_target(
    reactor_ioc: IocFactory, tmp_path: Path, lab_with: LabWith
) -> None:
    reactor_ioc("OA6:REACTOR:", time_scale=10.0)  # tau = 60 s takes 6 s
    path = write_config(tmp_path, "OA6:REACTOR:")
    path.write_text(path.read_text().replace("settle_timeout: 30", "settle_timeout: 0.5"))
    hotplate = build_devices(load_lab_config(path))["hotplate"]
    lab = lab_with({"hotplate": hotplate})
    run = lab.submit(heat(hotplate, [120.0]))
    with pytest.raises(FailedStatus):
        run.wait(60)
    lab.wait(30)
    reason = lab.catalog[run.uids[0]].metadata["stop"]["reason"]
    assert reason.startswith(
        "DeviceTimeoutError: device 'hotplate' at PV prefix OA6:REACTOR: did not finish moving "
        "to 120 degC within its timeout of 0.5 s; expected the readback "
        "ca://OA6:REACTOR:TEMP_RBV within 0.5 degC of 120 degC (last read "
    ), reason
    last_read = float(reason.split("(last read ")[1].split(" degC)")[0])
    assert 25.0 < last_read < 60.0  # it was heating, slowly


def test_a_pause_holds_the_move_and_the_run_records_the_temperature_it_reached(
    reactor_ioc: IocFactory, tmp_path: Path, lab_with: LabWith
) -> None:
    """Bluesky stops every movable (``stop(success=True)``) when it pauses.

    ophyd-async's movables then end their move as a success at once, so after
    resume the plan went on and recorded a temperature far from the setpoint.
    """
    import time

    from ophyd import EpicsSignalRO

    # tau = 60 s takes 4 s: 25 to 30 degC in 0.6 s, to 59.5 degC in 17 s (settle_timeout 30 s)
    reactor_ioc("OA7:REACTOR:", time_scale=15.0)
    # watched as a stock client would (pyepics), not through the RunEngine's event loop: a
    # read queued behind the lab's work on that loop returned only after the run had ended
    # (twice in CI: "nothing to pause: the RunEngine is idle")
    temperature = EpicsSignalRO("OA7:REACTOR:TEMP_RBV", name="temperature")
    temperature.wait_for_connection(timeout=10)
    hotplate = build_devices(load_lab_config(write_config(tmp_path, "OA7:REACTOR:")))["hotplate"]
    lab = lab_with({"hotplate": hotplate})
    run = lab.submit(heat(hotplate, [60.0]))
    wait_for(lambda: temperature.get() > 30.0, 20.0, "the hotplate never started heating")
    assert lab.state == "running", f"the run ended before the pause: {run.state} {run.error}"
    lab.pause(reason="checking the sash")
    wait_for(lambda: temperature.get() > 59.5, 60.0, "the move never arrived during the pause")
    time.sleep(0.5)  # the move arrived, and is held there, not ended, by the pause
    assert lab.state == "paused"
    lab.resume()
    (uid,) = run.wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    assert "checking the sash" in stored.metadata["stop"]["reason"]
    assert float(stored["primary"].read()["hotplate"][0]) == pytest.approx(60.0, abs=0.5)


def test_an_abort_mid_move_holds_the_temperature_where_it_is(
    reactor_ioc: IocFactory, tmp_path: Path, lab_with: LabWith
) -> None:

    from ophyd import EpicsSignalRO

    reactor_ioc("OA8:REACTOR:", time_scale=50.0)
    temperature = EpicsSignalRO("OA8:REACTOR:TEMP_RBV", name="temperature")  # as in the pause test
    temperature.wait_for_connection(timeout=10)
    hotplate = build_devices(load_lab_config(write_config(tmp_path, "OA8:REACTOR:")))["hotplate"]
    lab = lab_with({"hotplate": hotplate})
    run = lab.submit(heat(hotplate, [120.0]))
    wait_for(lambda: temperature.get() > 30.0, 20.0, "the hotplate never started heating")
    assert lab.state == "running", f"the run ended before the abort: {run.state} {run.error}"
    lab.abort("wrong sample")
    run.wait(30)
    lab.wait(30)
    assert run.state == "aborted"
    assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "abort"
    from smartlab_kernel.devices.adapters.ophyd_async_devices import read_now

    setpoint = read_now(hotplate.setpoint, "get_value")
    assert 30.0 < setpoint < 110.0  # held where it was, not left heating to 120


def test_a_device_whose_configuration_cannot_be_read_is_recorded_and_the_run_starts(
    lab_with: LabWith,
) -> None:
    from ophyd_async.core import StandardReadable, init_devices, soft_signal_rw

    class UnpluggedSensor(StandardReadable):
        def __init__(self, name: str = "") -> None:
            with self.add_children_as_readables():
                self.value = soft_signal_rw(float, 1.5)
            super().__init__(name=name)

        async def read_configuration(self):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("sensor unplugged")

    with init_devices():
        sensor = UnpluggedSensor()
    lab = lab_with({"sensor": sensor})

    @bpp.run_decorator(md={"plan_name": "read_what_answers"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.null()

    (uid,) = lab.submit(plan()).wait(30)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["start"]["devices"]["sensor"] == {
        "error": "RuntimeError: sensor unplugged"
    }
    assert stored.metadata["stop"]["exit_status"] == "success"


@pytest.mark.parametrize("another_engine", [False, True], ids=["alone", "another-runengine"])
def test_a_device_whose_configuration_does_not_answer_is_given_2_s_then_the_run_starts(
    lab_with: LabWith, another_engine: bool
) -> None:
    """Also with a RunEngine made after the lab's (two labs in one process, or a test's own):
    bluesky then names that one's loop as *the* loop, and the configuration was read
    the blocking way on the lab's loop (recorded as a bare 'TimeoutError: ')."""
    import asyncio

    from ophyd_async.core import StandardReadable, init_devices, soft_signal_rw

    class HungSensor(StandardReadable):
        def __init__(self, name: str = "") -> None:
            with self.add_children_as_readables():
                self.value = soft_signal_rw(float, 1.5)
            super().__init__(name=name)

        async def read_configuration(self):  # type: ignore[no-untyped-def, override]
            await asyncio.sleep(3600)

    with init_devices():
        sensor = HungSensor()
    lab = lab_with({"sensor": sensor})
    if another_engine:
        from bluesky import RunEngine

        RunEngine({}, context_managers=[])

    @bpp.run_decorator(md={"plan_name": "start_anyway"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.null()

    (uid,) = lab.submit(plan()).wait(30)  # the sensor would hang for an hour
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["start"]["devices"]["sensor"] == {
        "error": "TimeoutError: no answer within 2 s"
    }
    assert stored.metadata["stop"]["exit_status"] == "success"
