"""SiLA 2 end to end: a server exposes the simulated spectrometer; plans measure through it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus

from smartlab_kernel.devices import DeviceDisconnectedError
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


def sila_config(directory: Path, port: int) -> Path:
    path = directory / "lab.yaml"
    path.write_text(
        f"devices:\n  spectrometer:\n    kind: sila2\n    host: 127.0.0.1\n    port: {port}\n"
        "    timeout: 20\n",
        encoding="utf-8",
    )
    return path


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


def test_killing_the_server_mid_plan_fails_the_run_and_keeps_earlier_events(
    lab_with: LabWith, tmp_path: Path
) -> None:
    port = free_port()
    server = start_sila_spectrometer(port)
    try:
        devices = build_devices(load_lab_config(sila_config(tmp_path, port)))
        spectrometer = devices["spectrometer"]
        lab = lab_with(devices)
        first_event = threading.Event()
        token = lab.subscribe(lambda name, doc: name == "event" and first_event.set())

        @bpp.run_decorator(md={"plan_name": "measure_until_killed"})
        def plan():  # type: ignore[no-untyped-def]
            yield from bps.mv(spectrometer.set_integration_time, 1.0)
            yield from bps.trigger_and_read([spectrometer])
            yield from bps.mv(spectrometer.set_integration_time, 400.0)  # 20 s at 20x
            yield from bps.trigger_and_read([spectrometer])

        run = lab.submit(plan())
        assert first_event.wait(30)
        lab.unsubscribe(token)
        time.sleep(1.0)
        server.kill()
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        assert isinstance(info.value.__cause__, DeviceDisconnectedError)
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert f"device 'spectrometer' at 127.0.0.1:{port} is not answering" in stop["reason"]
        assert stored["primary"].read()["spectrometer_readout"].shape == (1,)
        spectrometer.close()
    finally:
        server.kill()
