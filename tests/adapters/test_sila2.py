"""SiLA 2 end to end: a server exposes the simulated spectrometer; plans measure through it."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus

from smartlab_kernel.devices import DeviceDisconnectedError, DeviceTimeoutError
from smartlab_kernel.devices.labconfig import build_devices, load_lab_config
from smartlab_kernel.testing import require_module

from .conftest import LabWith, start_sila_spectrometer
from .peers import PeerProcess, free_port

require_module("sila2", "pip install sila2")
from smartlab_kernel.devices.adapters import SilaDevice, connect_sila_device  # noqa: E402

pytestmark = [
    pytest.mark.timeout(150),
    # grpc's generated modules use protobuf APIs that warn on newer protobuf.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:google.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:google.*"),
]


def sila_config(directory: Path, port: int, timeout: float = 20.0) -> Path:
    path = directory / "lab.yaml"
    path.write_text(
        f"devices:\n  spectrometer:\n    kind: sila2\n    host: 127.0.0.1\n    port: {port}\n"
        f"    timeout: {timeout}\n",
        encoding="utf-8",
    )
    return path


def measure_twice(spectrometer: SilaDevice, second_integration_time: float):  # type: ignore[no-untyped-def]
    """A quick measurement, then one integrating ``second_integration_time`` simulated s."""

    @bpp.run_decorator(md={"plan_name": "measure_twice"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(spectrometer.set_integration_time, 1.0)
        yield from bps.trigger_and_read([spectrometer])
        yield from bps.mv(spectrometer.set_integration_time, second_integration_time)
        yield from bps.trigger_and_read([spectrometer])

    return plan()


def test_plan_measures_through_the_sila_server(
    sila_server: tuple[PeerProcess, int], lab_with: LabWith, tmp_path: Path
) -> None:
    _, port = sila_server
    devices = build_devices(load_lab_config(sila_config(tmp_path, port)))
    spectrometer = devices["spectrometer"]
    assert isinstance(spectrometer, SilaDevice)
    assert spectrometer.trigger_command == "Measure"
    assert set(spectrometer.component_names) == {
        "readout",
        "peak_absorbance",
        "spectrum",
        "integration_time",
        "set_integration_time",
    }
    lab = lab_with(devices)

    @bpp.run_decorator(md={"plan_name": "sila_measure"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(spectrometer.set_integration_time, 4.0)
        for _ in range(2):
            yield from bps.trigger_and_read([spectrometer])

    try:
        (uid,) = lab.submit(plan()).wait(60)
        lab.wait(30)
    finally:
        spectrometer.close()
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    data = stored["primary"].read()
    assert data["spectrometer_readout"].shape == (2,)
    assert data["spectrometer_spectrum"].shape == (2, 200)
    assert list(data["spectrometer_integration_time"].values) == [4.0, 4.0]
    source = stored["primary"].metadata["data_keys"]["spectrometer_readout"]["source"]
    assert source == f"SiLA:127.0.0.1:{port}/Readout"


def test_observable_command_reports_progress_through_the_status(
    sila_server: tuple[PeerProcess, int],
) -> None:
    _, port = sila_server
    spectrometer = connect_sila_device("spectrometer", port=port, timeout=20)
    try:
        spectrometer.set_integration_time.set(20.0).wait(5)  # 1 s at 20x
        fractions: list[float] = []
        status = spectrometer.trigger()
        status.watch(
            lambda fraction=None, **kw: fraction is not None and fractions.append(fraction)
        )
        status.wait(20)
        assert len(fractions) >= 5
        assert fractions[-1] == 0.0
        assert any(0.1 < f < 0.9 for f in fractions)
        assert spectrometer.last_responses.Readout == spectrometer.readout.get()
        assert "SimulatedSpectrometer" in spectrometer.check_connection()
    finally:
        spectrometer.close()


def test_a_server_that_is_not_there_is_reported_with_its_endpoint() -> None:
    port = free_port()
    with pytest.raises(
        DeviceDisconnectedError,
        match=rf"device 'ghost' at 127.0.0.1:{port} is "
        r"not answering \(while connecting\)",
    ):
        connect_sila_device("ghost", port=port)


def test_killing_the_server_mid_plan_fails_the_run_and_restarting_it_reconnects(
    lab_with: LabWith, tmp_path: Path
) -> None:
    port = free_port()
    server = start_sila_spectrometer(port)
    try:
        devices = build_devices(load_lab_config(sila_config(tmp_path, port)))
        spectrometer = devices["spectrometer"]
        assert isinstance(spectrometer, SilaDevice)
        lab = lab_with(devices)
        first_event = threading.Event()
        token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())

        run = lab.submit(measure_twice(spectrometer, 400.0))  # 20 s at 20x
        assert first_event.wait(30)
        lab.unsubscribe(token)
        time.sleep(0.5)
        server.kill()
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        assert isinstance(info.value.__cause__, DeviceDisconnectedError)
        assert run.state == "failed"
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert f"device 'spectrometer' at 127.0.0.1:{port} is not answering" in stop["reason"]
        assert "(while running Measure)" in stop["reason"]
        assert stored["primary"].read()["spectrometer_readout"].shape == (1,)

        # Reading while it is down names the endpoint too.
        with pytest.raises(
            DeviceDisconnectedError,
            match=rf"device 'spectrometer' at 127.0.0.1:{port} is not answering "
            r"\(while reading Readout\)",
        ):
            spectrometer.readout.get()

        # The server comes back (same port): gRPC reconnects and plans run again on the
        # same device object.
        server.start(timeout=90)
        started = time.monotonic()
        spectrometer.wait_for_connection(timeout=20)
        print(f"reconnected in {time.monotonic() - started:.1f} s")
        (uid,) = lab.submit(measure_twice(spectrometer, 2.0)).wait(60)
        lab.wait(30)
        again = lab.catalog[uid]
        assert again.metadata["stop"]["exit_status"] == "success"
        assert list(again["primary"].read()["spectrometer_integration_time"].values) == [1.0, 2.0]
        spectrometer.close()
    finally:
        server.kill()


def test_a_measurement_longer_than_the_timeout_fails_the_run_with_a_timeout(
    sila_server: tuple[PeerProcess, int], lab_with: LabWith, tmp_path: Path
) -> None:
    _, port = sila_server
    devices = build_devices(load_lab_config(sila_config(tmp_path, port, timeout=1.0)))
    spectrometer = devices["spectrometer"]
    assert isinstance(spectrometer, SilaDevice)
    lab = lab_with(devices)
    try:
        run = lab.submit(measure_twice(spectrometer, 60.0))  # 3 s at 20x, timeout 1 s
        started = time.monotonic()
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        assert time.monotonic() - started < 10.0
        error = info.value.__cause__
        assert isinstance(error, DeviceTimeoutError)
        assert run.state == "failed"
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert stop["reason"] == f"DeviceTimeoutError: {error}"
        assert re.fullmatch(
            rf"DeviceTimeoutError: device 'spectrometer' at 127\.0\.0\.1:{port} did not "
            r"finish running Measure within its timeout of 1 s; expected the server to finish "
            r"Measure \(it last reported \d+% done\)",
            stop["reason"],
        ), stop["reason"]
        # the first measurement was recorded
        data = stored["primary"].read()
        assert list(data["spectrometer_integration_time"].values) == [1.0]

        # The device still works: with a longer timeout the next measurement (which waits
        # for the server to finish the abandoned one) succeeds.
        spectrometer.timeout = 20.0
        spectrometer.set_integration_time.set(1.0).wait(5)
        spectrometer.trigger().wait(20)
        assert spectrometer.last_responses.Readout == spectrometer.readout.get()
    finally:
        spectrometer.close()


def test_a_server_that_hangs_fails_the_step_with_a_timeout_instead_of_hanging(
    lab_with: LabWith, tmp_path: Path
) -> None:
    # SIGSTOP freezes the server like a hung instrument: the TCP connection stays open, so
    # gRPC calls get no error and, without a deadline, would wait for ever.
    port = free_port()
    server = start_sila_spectrometer(port)
    assert server.process is not None
    try:
        devices = build_devices(load_lab_config(sila_config(tmp_path, port, timeout=3.0)))
        spectrometer = devices["spectrometer"]
        assert isinstance(spectrometer, SilaDevice)
        lab = lab_with(devices)
        first_event = threading.Event()
        token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())
        run = lab.submit(measure_twice(spectrometer, 50.0))  # 2.5 s at 20x, timeout 3 s
        assert first_event.wait(30)
        lab.unsubscribe(token)
        time.sleep(0.3)
        os.kill(server.process.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        assert time.monotonic() - frozen_at < 6.0
        assert isinstance(info.value.__cause__, DeviceTimeoutError)
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert stop["reason"].startswith(
            f"DeviceTimeoutError: device 'spectrometer' at 127.0.0.1:{port} did not finish "
            "running Measure within its timeout of 3 s; expected the server to finish Measure"
        )
        assert stored["primary"].read()["spectrometer_readout"].shape == (1,)

        # While it is frozen every call fails after its timeout, naming the endpoint.
        started = time.monotonic()
        with pytest.raises(
            DeviceTimeoutError,
            match=rf"device 'spectrometer' at 127.0.0.1:{port} did not finish reading "
            r"Readout within its timeout of 3 s; expected the SiLA server to answer",
        ):
            spectrometer.readout.get()
        with pytest.raises(DeviceTimeoutError, match=r"connecting within its timeout of 0.5 s"):
            spectrometer.check_connection(timeout=0.5)
        with pytest.raises(
            DeviceTimeoutError,
            match=rf"device 'late' at 127.0.0.1:{port} did not finish connecting within its "
            r"timeout of 1 s; expected the SiLA server to list its features",
        ):
            connect_sila_device("late", port=port, timeout=1.0)
        assert time.monotonic() - started < 9.0

        # Thawed, it answers again on the same connection.
        os.kill(server.process.pid, signal.SIGCONT)
        spectrometer.wait_for_connection(timeout=10)
        assert "SimulatedSpectrometer" in spectrometer.check_connection()
        spectrometer.close()
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.kill()
