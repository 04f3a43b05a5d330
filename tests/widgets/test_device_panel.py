from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from smartlab_kernel.devices import build_bench
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.device_panel import DevicePanel


def _reactor() -> Any:
    return build_bench(seed=1, time_scale=5000).devices["reactor"]


def test_lists_signals_with_readbacks_and_settable_entries(messages: list[dict[str, Any]]) -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    assert {"temperature", "setpoint", "stir_rpm", "hold.seconds"} <= set(panel.signals)
    assert "setpoint" in panel.entries and "temperature" not in panel.entries
    assert panel.readbacks["temperature"].value.endswith("degC")
    assert panel.entries["setpoint"].placeholder == "15 to 150 degC"
    panel.close()


def test_bad_setpoints_are_refused_and_nothing_moves() -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    before = reactor.setpoint.get()
    for text, expected in [
        ("abc", "must be a number in degC, got 'abc'"),
        ("500", "outside the allowed range [15, 150] degC"),
        ("nan", "outside the allowed range"),
        ("", "must be a number"),
    ]:
        panel.entries["setpoint"].value = text
        panel.set_buttons["setpoint"].click()
        assert expected in html.unescape(panel.message.value), text
        assert "smartlab-error" in panel.message.value
        assert reactor.setpoint.get() == before
    assert not panel.set_value("temperature", "30")
    assert "not a settable signal" in panel.message.value
    panel.close()


def test_good_setpoint_moves_the_device_and_reports_done(wait_for: Callable[..., None]) -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    panel.entries["setpoint"].value = " 60 "
    panel.set_buttons["setpoint"].click()
    assert reactor.setpoint.get() == 60.0
    wait_for(lambda: "done" in panel.message.value, what="move done")
    panel.poll()
    assert float(panel.readbacks["temperature"].value.split()[0]) > 59
    assert panel.set_value("stir_rpm", "300")
    assert reactor.stir_rpm.get() == 300.0
    panel.close()


def test_setpoints_are_refused_while_a_plan_runs(
    idle_lab: Lab, slow_plan: Callable[..., Any], wait_for: Callable[..., None]
) -> None:
    reactor = idle_lab.devices["reactor"]
    panel = DevicePanel(reactor, lab=idle_lab, poll_interval=None)
    run = idle_lab.submit(slow_plan())
    wait_for(lambda: idle_lab.state == "running", what="running")
    before = reactor.setpoint.get()
    assert not panel.set_value("setpoint", "70")
    assert "a plan is running" in panel.message.value
    assert reactor.setpoint.get() == before
    idle_lab.abort("done")
    wait_for(lambda: run.done)
    panel.close()


def test_stop_button_and_background_polling(wait_for: Callable[..., None]) -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=0.02)
    panel.stop_button.click()
    assert "reactor stopped" in panel.message.value
    panel.readbacks["temperature"].value = "stale"
    wait_for(lambda: panel.readbacks["temperature"].value != "stale", what="poll")
    panel.close()
    time.sleep(0.1)
    assert panel._thread is not None
    panel._thread.join(1)
    assert not panel._thread.is_alive()


def test_device_errors_on_set_are_shown() -> None:
    bench = build_bench(seed=1, time_scale=5000)
    reactor = bench.devices["reactor"]
    reactor.faults.inject("disconnect")
    panel = DevicePanel(reactor, poll_interval=None)
    assert not panel.set_value("setpoint", "50")
    assert "smartlab-error" in panel.message.value
    assert "disconnect" in panel.message.value.lower()
    values = panel.read_all()
    assert all(isinstance(v, str) for v in values.values())
    panel.close()
