"""EPICS end to end: a caproto IOC on 127.0.0.1 serves a reactor; plans run through a Lab."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus
from ophyd.utils import LimitError

from smartlab_kernel.devices import DeviceDisconnectedError, DeviceTimeoutError
from smartlab_kernel.devices.adapters import EpicsReactor, EpicsReactorBase
from smartlab_kernel.devices.labconfig import build_devices, load_lab_config

from .conftest import IocFactory, LabWith

pytestmark = pytest.mark.timeout(120)


def write_config(
    directory: Path, prefix: str, settle_timeout: float = 20.0, read_timeout: float = 2.0
) -> Path:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
lab:
  name: epics-test
devices:
  reactor:
    kind: epics
    prefix: "{prefix}"
    settle_timeout: {settle_timeout}
    connection_timeout: 1.0
    read_timeout: {read_timeout}
""",
        encoding="utf-8",
    )
    return path


def heat_and_measure(reactor: EpicsReactorBase, temperatures: list[float], stir_rpm: float):  # type: ignore[no-untyped-def]
    @bpp.run_decorator(md={"plan_name": "heat_and_measure"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(reactor.stir_rpm, stir_rpm)
        for temperature in temperatures:
            yield from bps.mv(reactor, temperature)
            yield from bps.trigger_and_read([reactor])

    return plan()


def test_plan_runs_against_the_ioc_and_lands_in_the_catalog(
    reactor_ioc: IocFactory, lab_with: LabWith, tmp_path: Path
) -> None:
    reactor_ioc("T1:REACTOR:")
    config = load_lab_config(write_config(tmp_path, "T1:REACTOR:"))
    devices = build_devices(config)
    reactor = devices["reactor"]
    assert isinstance(reactor, EpicsReactorBase)
    assert "T1:REACTOR:TEMP_RBV" in reactor.check_connection(10)
    lab = lab_with(devices)
    run = lab.submit(heat_and_measure(reactor, [60.0, 40.0], stir_rpm=300))
    (uid,) = run.wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    data = stored["primary"].read()
    assert list(data["reactor_temperature"].values) == pytest.approx([60.0, 40.0], abs=0.5)
    assert list(data["reactor_setpoint"].values) == [60.0, 40.0]
    assert list(data["reactor_stir_rpm"].values) == [300.0, 300.0]
    assert stored.metadata["stop"]["exit_status"] == "success"
    data_keys = stored["primary"].metadata["data_keys"]
    assert data_keys["reactor_temperature"]["units"] == "degC"
    assert data_keys["reactor_temperature"]["source"] == "PV:T1:REACTOR:TEMP_RBV"
    configuration = stored.metadata["start"]["devices"]["reactor"]
    assert configuration["reactor_time_constant"] == 60.0


def test_temperature_follows_first_order_dynamics_and_reports_progress(
    reactor_ioc: IocFactory,
) -> None:
    reactor_ioc("T2:REACTOR:", time_scale=100.0)
    reactor = EpicsReactor("T2:REACTOR:", name="reactor", settle_timeout=20)
    reactor.wait_for_connection(timeout=10)
    fractions: list[float] = []
    status = reactor.set(80.0)
    status.watch(lambda fraction=None, **kw: fraction is not None and fractions.append(fraction))
    started = time.monotonic()
    status.wait(20)
    elapsed = time.monotonic() - started
    # tau = 60 simulated s at 100x: from 25 to within 0.5 of 80 takes 60*ln(55/0.5)/100 = 2.8 s.
    assert 2.0 < elapsed < 6.0
    assert fractions[0] > 0.9 and fractions[-1] < 0.01
    assert fractions == sorted(fractions, reverse=True)


def test_setpoint_outside_the_ioc_limits_is_refused(reactor_ioc: IocFactory) -> None:
    reactor_ioc("T3:REACTOR:")
    reactor = EpicsReactor("T3:REACTOR:", name="reactor")
    reactor.wait_for_connection(timeout=10)
    with pytest.raises(LimitError, match=r"reactor temperature 400.0 degC .* \[15, 150\]"):
        reactor.set(400)
    with pytest.raises(TypeError, match="must be a number"):
        reactor.set("hot")


def test_a_stirring_past_the_setpoint_pvs_limits_is_refused_before_it_is_sent(
    reactor_ioc: IocFactory, lab_with: LabWith, tmp_path: Path
) -> None:
    # Issue 20 #1: the limits were read from STIR_RBV (which has none), 2000 was written
    # without waiting for the IOC, which refused it, and the step waited settle_timeout.
    reactor_ioc("T6:REACTOR:")
    devices = build_devices(load_lab_config(write_config(tmp_path, "T6:REACTOR:", 600)))
    reactor = devices["reactor"]
    reactor.wait_for_connection(timeout=10)
    assert reactor.stir_rpm.limits == (0.0, 1500.0)  # STIR_SP's, for the widgets too
    lab = lab_with(devices)
    started = time.monotonic()
    run = lab.submit(bpp.run_wrapper(bps.mv(reactor.stir_rpm, 2000), md={"plan_name": "stir"}))
    with pytest.raises(
        LimitError,
        match=r"reactor stir_rpm 2000\.0 rpm is outside the allowed range \[0, 1500\] rpm",
    ):
        run.wait(30)
    assert time.monotonic() - started < 5.0
    assert reactor.stir_setpoint.get() == 0.0  # nothing was sent
    lab.wait(30)
    assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "fail"
    # a value within the limits is written with put-completion and reached
    reactor.stir_rpm.set(300).wait(10)
    assert reactor.stir_rpm.get() == 300.0


def test_killing_the_ioc_mid_plan_fails_the_run_and_keeps_earlier_events(
    reactor_ioc: IocFactory, lab_with: LabWith, tmp_path: Path
) -> None:
    # Slow dynamics (tau = 60 s at 10x): heating to 140 degC takes ~35 s, so the kill lands
    # while the plan waits for the temperature.
    ioc = reactor_ioc("T4:REACTOR:", time_scale=10.0)
    devices = build_devices(load_lab_config(write_config(tmp_path, "T4:REACTOR:", 60)))
    reactor = devices["reactor"]
    first_event = threading.Event()
    lab = lab_with(devices)
    token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())

    @bpp.run_decorator(md={"plan_name": "heat_until_killed"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.trigger_and_read([reactor])
        yield from bps.mv(reactor, 140.0)
        yield from bps.trigger_and_read([reactor])

    run = lab.submit(plan())
    assert first_event.wait(30)
    lab.unsubscribe(token)
    time.sleep(0.5)
    ioc.kill()
    with pytest.raises(FailedStatus) as info:
        run.wait(30)
    assert isinstance(info.value.__cause__, DeviceDisconnectedError)
    assert run.state == "failed"
    lab.wait(30)
    stored = lab.catalog[run.uids[0]]
    stop = stored.metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert "device 'reactor'" in stop["reason"]
    assert "T4:REACTOR:TEMP_RBV" in stop["reason"]
    assert "not answering" in stop["reason"]
    assert stored["primary"].read()["reactor_temperature"].shape == (1,)

    # Reading while it is down names the PV too.
    with pytest.raises(DeviceDisconnectedError, match="T4:REACTOR:TEMP_RBV"):
        reactor.read()

    # The IOC comes back (same port): Channel Access reconnects and plans run again.
    ioc.start()
    started = time.monotonic()
    reactor.wait_for_connection(timeout=15)
    print(f"reconnected in {time.monotonic() - started:.1f} s")
    (uid,) = lab.submit(heat_and_measure(reactor, [30.0], stir_rpm=100)).wait(60)
    lab.wait(30)
    assert lab.catalog[uid].metadata["stop"]["exit_status"] == "success"


def test_an_ioc_that_stops_answering_mid_plan_fails_the_step_with_a_timeout(
    reactor_ioc: IocFactory, lab_with: LabWith, tmp_path: Path
) -> None:
    # SIGSTOP freezes the IOC like a hung instrument: its TCP connection stays open, so
    # Channel Access sees no disconnect and only the timeouts can end the steps.
    ioc = reactor_ioc("T5:REACTOR:", time_scale=10.0)
    assert ioc.process is not None
    config = write_config(tmp_path, "T5:REACTOR:", settle_timeout=3.0, read_timeout=1.0)
    devices = build_devices(load_lab_config(config))
    reactor = devices["reactor"]
    assert isinstance(reactor, EpicsReactorBase)
    lab = lab_with(devices)
    first_event = threading.Event()
    token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())

    @bpp.run_decorator(md={"plan_name": "heat_until_frozen"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.trigger_and_read([reactor])
        yield from bps.mv(reactor, 140.0)  # ~35 s at 10x: the freeze lands while it heats
        yield from bps.trigger_and_read([reactor])

    run = lab.submit(plan())
    try:
        assert first_event.wait(30)
        lab.unsubscribe(token)
        time.sleep(0.5)
        os.kill(ioc.process.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        # the settle timeout (3 s from the start of the step) ended it, not a hang (heating
        # to 140 degC takes ~35 s)
        assert time.monotonic() - frozen_at < 5.0
        error = info.value.__cause__
        assert isinstance(error, DeviceTimeoutError)
        assert run.state == "failed"
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert stop["reason"] == f"DeviceTimeoutError: {error}"
        assert stop["reason"].startswith(
            "DeviceTimeoutError: device 'reactor' at EPICS PV T5:REACTOR:TEMP_RBV "
        )
        assert "did not finish heating to 140 degC within its timeout of 3 s" in stop["reason"]
        assert "expected the readback within 0.5 degC of 140 degC (last read " in stop["reason"]
        # the event recorded before the freeze is in the catalog
        temperatures = stored["primary"].read()["reactor_temperature"].values
        assert list(temperatures) == pytest.approx([25.0], abs=0.5)

        # While it is frozen, reads and new steps fail within the read timeout, naming the
        # PV, and the new setpoint is never written.
        started = time.monotonic()
        with pytest.raises(
            DeviceTimeoutError,
            match=r"device 'reactor' at EPICS PV T5:REACTOR:TEMP_RBV .* did not finish reading "
            r"within its timeout of 1 s; expected the IOC to answer",
        ):
            reactor.read()
        with pytest.raises(
            DeviceTimeoutError,
            match=r"device 'reactor' at EPICS PV T5:REACTOR:STIR_RBV .* did not finish "
            r"setting stir_rpm to 200 rpm within its timeout of 1 s",
        ):
            reactor.stir_rpm.set(200)
        run = lab.submit(bpp.run_wrapper(bps.mv(reactor, 30.0), md={"plan_name": "cool"}))
        with pytest.raises(DeviceTimeoutError, match="did not finish heating to 30 degC"):
            run.wait(30)
        assert time.monotonic() - started < 10.0
    finally:
        os.kill(ioc.process.pid, signal.SIGCONT)
    # Thawed, the IOC answers at once (the connection never dropped); nothing the failed
    # steps asked for was written.
    reactor.wait_for_connection(timeout=5)
    assert reactor.setpoint.get() == 140.0
    assert reactor.stir_rpm.get() == 0.0
    lab.wait(30)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert "device 'reactor' at EPICS PV T5:REACTOR:TEMP_RBV" in stop["reason"]


EXIT_SCRIPT = """
import time
from smartlab_kernel.devices.adapters import epics_reactor_class
from smartlab_kernel.devices.adapters.epics_layer import ensure_control_layer
ensure_control_layer()
reactor = epics_reactor_class({})("{prefix}", name="reactor")
reactor.wait_for_connection(timeout=10)
reactor.temperature.subscribe(lambda value, **kwargs: None)
reactor.set(30)
time.sleep(1.0)  # monitor updates keep arriving while the interpreter exits
print("read", reactor.temperature.get())
"""


def test_a_script_that_used_caproto_exits_without_a_traceback(reactor_ioc: IocFactory) -> None:
    reactor_ioc("T9:REACTOR:", time_scale=100.0)
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT.replace("{prefix}", "T9:REACTOR:")],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("read ")
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
