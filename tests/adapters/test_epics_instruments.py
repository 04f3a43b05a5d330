"""Generic EPICS kinds against an IOC of other shapes: a hotplate in K, a motor, a detector."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pint
import pytest
from bluesky.utils import FailedStatus
from ophyd import EpicsSignal
from ophyd.utils import LimitError

from smartlab_kernel.devices import DeviceDisconnectedError, DeviceTimeoutError
from smartlab_kernel.devices.adapters.epics_put import PutRefusedError
from smartlab_kernel.devices.labconfig import build_devices, load_lab_config

from .conftest import LabWith
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401

pytestmark = pytest.mark.timeout(120)

ureg = pint.UnitRegistry()  # a user's own registry, not the package's
Q_ = ureg.Quantity


def write_config(
    directory: Path, prefix: str, settle_timeout: float = 20.0, read_timeout: float = 2.0
) -> Path:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
devices:
  hotplate:
    kind: epics
    device_class: setpoint_readback
    prefix: "{prefix}HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    done: "T:DONE"
    tolerance: 0.1
    settle_timeout: {settle_timeout}
    read_timeout: {read_timeout}
  stage:
    kind: epics
    device_class: motor
    prefix: "{prefix}M1"
    settle_timeout: 20
  counter:
    kind: epics
    device_class: detector
    prefix: "{prefix}DET:"
    acquire: ACQUIRE
    reads: {{counts: COUNTS, intensity: INTENSITY}}
    acquire_timeout: 5
  plate:
    kind: epics
    device_class: pv_positioner
    prefix: "{prefix}HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    done: "T:DONE"
    limits: [280, 320]
    settle_timeout: 20
""",
        encoding="utf-8",
    )
    return path


def connected(directory: Path, prefix: str, **kwargs: Any) -> dict[str, Any]:
    devices = build_devices(load_lab_config(write_config(directory, prefix, **kwargs)))
    for device in devices.values():
        device.wait_for_connection(timeout=10)
    return devices


def put(pvname: str, value: float) -> None:
    """Poke a PV as a stock client would (caproto-put)."""
    pv = EpicsSignal(pvname, name="poke")
    pv.wait_for_connection(timeout=5)
    pv.put(value, wait=True)


def test_a_scan_through_the_lab_records_each_device_in_its_own_units(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("S1:")
    devices = connected(tmp_path, "S1:")
    hotplate, stage, counter = devices["hotplate"], devices["stage"], devices["counter"]
    lab = lab_with({k: devices[k] for k in ("hotplate", "stage", "counter")})

    @bpp.run_decorator(md={"plan_name": "hot_scan"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(hotplate, Q_(27, "degC"))  # the hotplate is in K
        for position in (0, Q_(1, "cm"), 20):  # the stage is in mm
            yield from bps.mv(stage, position)
            yield from bps.trigger_and_read([counter, stage, hotplate])

    (uid,) = lab.submit(plan()).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    data = stored["primary"].read()
    assert list(data["hotplate_setpoint"].values) == pytest.approx([300.15] * 3)
    assert list(data["hotplate_readback"].values) == pytest.approx([300.15] * 3, abs=0.1)
    assert list(data["stage"].values) == pytest.approx([0.0, 10.0, 20.0], abs=1e-3)
    counts = list(data["counter_counts"].values)
    assert counts == sorted(counts) and counts[0] > 0
    units = {k: v.get("units") for k, v in stored["primary"].metadata["data_keys"].items()}
    assert units["hotplate_readback"] == units["hotplate_setpoint"] == "K"
    assert units["stage"] == "mm"
    assert units["counter_counts"] == "counts"
    assert units["counter_intensity"] == "counts/s"
    # what the widgets show: the signals' own metadata
    assert hotplate.readback.metadata["units"] == "K"
    assert hotplate.limits == (273.15, 573.15)
    from smartlab_kernel.widgets import DevicePanel

    panel = DevicePanel(hotplate, poll_interval=None)
    assert panel.units["readback"] == panel.units["setpoint"] == "K"
    assert panel.entries["setpoint"].placeholder == "273.15 to 573.15 K"
    assert "Readback (K)" in panel.labels["readback"].value


def test_progress_and_every_message_are_in_the_devices_units(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    instruments_ioc("S2:")
    # set at once after building: the units (and limits) come with the connection
    fresh = build_devices(load_lab_config(write_config(tmp_path, "S2:")))["hotplate"]
    fresh.set(Q_(20, "degC")).wait(20)  # 293.15 K, where it starts
    devices = connected(tmp_path, "S2:")
    hotplate, plate, stage = devices["hotplate"], devices["plate"], devices["stage"]
    units: list[str] = []
    status = hotplate.set(Q_(27, "degC"))
    status.watch(lambda unit=None, **kw: units.append(unit))
    status.wait(20)
    assert len(units) > 2 and {u for u in units if u is not None} == {"K"}
    assert hotplate.setpoint.get() == pytest.approx(300.15)
    # a plain number is in the device's own units
    hotplate.set(301).wait(20)
    assert hotplate.setpoint.get() == 301.0
    # limits come from the setpoint PV (T:RBV has none), and errors say K
    with pytest.raises(
        LimitError,
        match=r"hotplate setpoint 1000\.0 K is outside the allowed range \[273\.15, 573\.15\] K",
    ):
        hotplate.set(1000)
    with pytest.raises(LimitError, match=r"330\.0 K is outside the allowed range \[280, 320\] K"):
        plate.set(330)  # the lab's limits, within the PV's
    with pytest.raises(ValueError, match=r"cannot convert 3 mm to the device's units 'K'"):
        hotplate.set(Q_(3, "mm"))
    with pytest.raises(LimitError, match=r"stage position 60\.0 mm .* \[0, 50\] mm"):
        stage.set(60)
    # a change that does not get there in time says so in K
    hotplate.settle_timeout = 0.3
    with pytest.raises(
        DeviceTimeoutError,
        match=r"did not finish going to 500 K within its timeout of 0\.3 s; expected the readback "
        r"within 0\.1 K of 500 K \(last read [34]\d\d\.?\d* K\) and hotplate_done = 1",
    ):
        hotplate.set(500).wait(10)
    # the PVPositioner kind moves on the same PVs and waits for the done PV
    plate.set(Q_(300, "K")).wait(20)
    assert plate.readback.get() == pytest.approx(300.0, abs=0.1)
    assert plate.egu == "K"


def test_a_write_the_ioc_refuses_fails_the_step_at_once_with_the_iocs_status(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("S3:")
    devices = connected(tmp_path, "S3:", settle_timeout=600.0)
    hotplate, counter, plate = devices["hotplate"], devices["counter"], devices["plate"]
    lab = lab_with({"hotplate": hotplate, "counter": counter})
    put("S3:HP:INTERLOCK", 1)
    started = time.monotonic()
    run = lab.submit(bpp.run_wrapper(bps.mv(hotplate, 310), md={"plan_name": "heat"}))
    with pytest.raises(FailedStatus) as info:
        run.wait(30)
    assert time.monotonic() - started < 5.0  # not the 600 s settle timeout
    error = info.value.__cause__
    assert isinstance(error, PutRefusedError)
    assert "the IOC refused the write of 310.0 to S3:HP:T:SP: ECA_PUTFAIL" in str(error)
    assert "interlock: the lid is open" in str(error)
    lab.wait(30)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "fail"
    assert "ECA_PUTFAIL" in stop["reason"]
    assert hotplate.setpoint.get() == pytest.approx(293.15)  # nothing was taken
    # the PVPositioner kind refuses at once too
    with pytest.raises(PutRefusedError, match="ECA_PUTFAIL"):
        plate.set(300)
    put("S3:HP:INTERLOCK", 0)
    # a record that clamps (like an ao record's DRVH) completes the write but holds
    # another value: that is a refusal too, not a wait for a readback that never comes
    put("S3:HP:SAFE_MAX", 350)
    with pytest.raises(PutRefusedError, match=r"completed the write but holds 350 K"):
        hotplate.set(400).wait(5)
    # the acquire PV is an enum (Done/Acquire, as an area detector's): its state by name
    counter.acquire_value = "Acquire"
    counter.trigger().wait(5)
    counter.acquire_value = "Start"
    with pytest.raises(ValueError, match=r"'Start' is not a state of S3:DET:ACQUIRE; its states"):
        counter.trigger()
    counter.acquire_value = 1
    # a detector whose acquisition is refused fails its trigger at once
    put("S3:DET:SHUTTER", 0)
    started = time.monotonic()
    with pytest.raises(PutRefusedError, match=r"S3:DET:ACQUIRE: ECA_PUTFAIL .*shutter is closed"):
        counter.trigger().wait(5)
    assert time.monotonic() - started < 2.0


def test_an_ioc_that_hangs_ends_the_run_as_fail_with_a_timeout_in_its_units(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    ioc = instruments_ioc("S4:", time_scale=2.0)  # tau = 15 s: 293 K to 500 K takes a minute
    assert ioc.process is not None
    devices = connected(tmp_path, "S4:", settle_timeout=3.0, read_timeout=1.0)
    hotplate, counter = devices["hotplate"], devices["counter"]
    lab = lab_with({"hotplate": hotplate, "counter": counter})
    first_event = threading.Event()
    token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())

    @bpp.run_decorator(md={"plan_name": "heat_until_frozen"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.trigger_and_read([counter, hotplate])
        yield from bps.mv(hotplate, 500)
        yield from bps.trigger_and_read([counter, hotplate])

    run = lab.submit(plan())
    try:
        assert first_event.wait(30)
        lab.unsubscribe(token)
        time.sleep(0.5)
        os.kill(ioc.process.pid, signal.SIGSTOP)
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        error = info.value.__cause__
        assert isinstance(error, DeviceTimeoutError)
        assert "at EPICS PV S4:HP:T:RBV" in str(error)
        assert "did not finish going to 500 K within its timeout of 3 s" in str(error)
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        assert stored.metadata["stop"]["exit_status"] == "fail"
        assert stored["primary"].read()["hotplate_readback"].shape == (1,)
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError, match=r"S4:HP:T:RBV .* did not finish reading"):
            hotplate.read()
        with pytest.raises(DeviceTimeoutError, match=r"did not finish going to 300 K"):
            hotplate.set(300)
        counter.acquire_timeout = 1.0  # an acquisition the IOC never completes
        with pytest.raises(
            DeviceTimeoutError,
            match=r"S4:DET:ACQUIRE .* did not finish writing 1 to S4:DET:ACQUIRE within its "
            r"timeout of 1 s; expected the IOC to complete the write",
        ):
            counter.trigger().wait(5)
        assert time.monotonic() - started < 6.0
    finally:
        os.kill(ioc.process.pid, signal.SIGCONT)
    hotplate.wait_for_connection(timeout=5)
    assert hotplate.setpoint.get() == 500.0  # the step that hung was not undone; 300 never sent


def test_reconnects_in_the_same_process_after_the_ioc_restarts(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    ioc = instruments_ioc("S5:", time_scale=2.0)
    devices = connected(tmp_path, "S5:", settle_timeout=30.0)
    hotplate, counter = devices["hotplate"], devices["counter"]
    lab = lab_with({"hotplate": hotplate, "counter": counter})
    run = lab.submit(bpp.run_wrapper(bps.mv(hotplate, 500), md={"plan_name": "heat"}))
    time.sleep(1.0)
    ioc.kill()
    with pytest.raises(FailedStatus) as info:
        run.wait(30)
    assert isinstance(info.value.__cause__, DeviceDisconnectedError)
    assert "S5:HP:T:RBV" in str(info.value.__cause__)
    ioc.start()  # same port, fresh state (293.15 K)
    hotplate.wait_for_connection(timeout=15)
    counter.wait_for_connection(timeout=15)
    # caproto may call the PVs connected while it is still searching for the new
    # circuit; a loaded machine can take longer than a read's 2 s to find it.
    _answers(hotplate.readback, within=15.0)

    @bpp.run_decorator(md={"plan_name": "after_restart"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(hotplate, Q_(20, "degC"))  # where it starts: no minute-long wait
        yield from bps.trigger_and_read([counter, hotplate])

    (uid,) = lab.submit(plan()).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    assert stored["primary"].read()["hotplate_setpoint"].values[0] == pytest.approx(293.15)
    assert stored["primary"].metadata["data_keys"]["hotplate_readback"]["units"] == "K"


def _answers(signal: Any, within: float) -> None:
    """Wait until ``signal`` answers a read (what ``smartlab devices check`` does by hand)."""
    deadline = time.monotonic() + within
    while True:
        try:
            signal.get()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
