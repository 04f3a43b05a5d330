"""The device panel on ophyd-async devices talking to caproto IOCs: read, units, set, stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.devices.labconfig import build_devices, load_lab_config
from smartlab_kernel.testing import require_module

from .conftest import IocFactory
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401

require_module("ophyd_async", "pip install 'smartlab-kernel[ophyd-async]'")
from smartlab_kernel.devices.adapters.ophyd_async_devices import read_now  # noqa: E402
from smartlab_kernel.widgets import DevicePanel  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def build(directory: Path, device_class: str, prefix: str) -> Any:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
devices:
  device:
    kind: ophyd_async
    device_class: {device_class}
    prefix: "{prefix}"
    connection_timeout: 5
""",
        encoding="utf-8",
    )
    return build_devices(load_lab_config(path))["device"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_panel_shows_and_sets_an_ophyd_async_reactor_in_its_ioc_units(
    reactor_ioc: IocFactory, tmp_path: Path
) -> None:
    reactor_ioc("OP1:REACTOR:")
    reactor = build(
        tmp_path,
        "smartlab_kernel.devices.adapters.ophyd_async_reactor:AsyncEpicsReactor",
        "OP1:REACTOR:",
    )
    panel = DevicePanel(reactor, poll_interval=None)
    try:
        assert set(panel.signals) == {"temperature", "setpoint", "stir_rpm"}
        assert panel.units == {"temperature": "degC", "setpoint": "degC", "stir_rpm": "rpm"}
        # settable: writable with control limits; stir_rpm reads STIR_RBV, which has none
        assert set(panel.entries) == {"setpoint"}
        assert panel.entries["setpoint"].placeholder == "15 to 150 degC"
        assert panel.readbacks["temperature"].value == "25 degC"
        assert "title='device_setpoint'" in panel.labels["setpoint"].value
        # refused before anything is written: the PV's own limits
        assert not panel.set_value("setpoint", "500")
        assert "500 degC is too high: enter a number from 15 to 150 degC" in (
            panel.field_messages["setpoint"].value
        )
        assert panel.invalid("setpoint")
        assert read_now(reactor.setpoint, "get_value") == 25.0
        # a setpoint moves the device (device.set: the move waits for the readback)
        assert panel.set_value("setpoint", "40")
        wait_until(lambda: "done: 40 degC" in panel.field_messages["setpoint"].value, "done")
        panel.poll()
        assert abs(float(panel.readbacks["temperature"].value.split()[0]) - 40) <= 0.5
        assert panel.readbacks["setpoint"].value == "40 degC"
    finally:
        panel.close()


def test_the_panel_moves_and_stops_ophyd_async_s_epics_motor(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    instruments_ioc("OP2:")
    motor = build(tmp_path, "ophyd_async.epics.motor:Motor", "OP2:M1")
    panel = DevicePanel(motor, poll_interval=0.05)
    try:
        # what the motor reads first, then what moves it, then its configuration
        assert list(panel.signals)[:2] == ["user_readback", "user_setpoint"]
        assert panel.units["user_readback"] == panel.units["user_setpoint"] == "mm"
        assert panel.entries["user_setpoint"].placeholder == "0 to 50 mm"
        wait_until(lambda: panel.readbacks["user_readback"].value == "0 mm", "first poll")
        assert panel.readbacks["motor_egu"].value == "mm"
        assert not panel.set_value("user_setpoint", "-1")
        assert "-1 mm is too low" in panel.field_messages["user_setpoint"].value
        assert panel.set_value("user_setpoint", "2.5")  # Motor.set: done when the move is
        wait_until(lambda: "done: 2.5 mm" in panel.field_messages["user_setpoint"].value, "move")
        assert read_now(motor.user_readback, "get_value") == 2.5
        # the background poll shows it; Stop ends a long move where it is
        wait_until(lambda: panel.readbacks["user_readback"].value == "2.5 mm", "poll")
        assert panel.set_value("user_setpoint", "50")
        wait_until(lambda: read_now(motor.motor_done_move, "get_value") == 0, "moving")
        time.sleep(0.5)
        panel.stop_button.click()
        assert "device stopped" in panel.message.value
        wait_until(lambda: read_now(motor.motor_done_move, "get_value") == 1, "stopped")
        stopped_at = read_now(motor.user_readback, "get_value")
        assert 2.5 < stopped_at < 40
        wait_until(
            lambda: (
                "50 mm not reached" in panel.field_messages["user_setpoint"].value
                or "stopped before 50 mm" in panel.field_messages["user_setpoint"].value
            ),
            "the panel to say the move ended early",
        )
    finally:
        panel.close()
