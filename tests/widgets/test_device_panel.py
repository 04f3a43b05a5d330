from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import pytest
from ophyd import Component as Cpt
from ophyd import Device, Signal

from smartlab_kernel.devices import build_bench
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.device_panel import DevicePanel


class _PowerSignal(Signal):
    """A signal as EPICS gives one: units and control limits in its metadata."""

    def __init__(self, *, units: str, limits: tuple[float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metadata.update(units=units, lower_ctrl_limit=limits[0], upper_ctrl_limit=limits[1])

    @property
    def limits(self) -> tuple[float, float]:
        return (self._metadata["lower_ctrl_limit"], self._metadata["upper_ctrl_limit"])


class _Heater(Device):
    power = Cpt(_PowerSignal, value=10.0, units="W", limits=(0.0, 500.0))
    mode = Cpt(Signal, value="auto")


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


def test_labels_and_units_come_from_the_signals_metadata() -> None:
    panel = DevicePanel(_reactor(), poll_interval=None)
    labels = {name: html.unescape(label.value) for name, label in panel.labels.items()}
    assert ">Setpoint (degC)<" in labels["setpoint"]
    assert ">Temperature (degC)<" in labels["temperature"]
    assert ">Hold (s)<" in labels["hold.seconds"]
    assert "title='reactor_setpoint'" in labels["setpoint"], "the ophyd name on hover"
    panel.close()

    heater = _Heater(name="heater")
    panel = DevicePanel(heater, poll_interval=None)
    assert panel.units == {"power": "W", "mode": ""}
    assert ">Power (W)<" in panel.labels["power"].value
    assert set(panel.entries) == {"power"}, "a signal without limits is shown, not set"
    assert panel.entries["power"].placeholder == "0 to 500 W"
    assert panel.readbacks["power"].value == "10 W"
    assert not panel.set_value("power", "600")
    assert (
        "600 W is too high: enter a number from 0 to 500 W" in panel.field_messages["power"].value
    )
    assert panel.set_value("power", "250") and heater.power.get() == 250.0
    panel.close()


def test_bad_setpoints_are_marked_at_their_field_and_nothing_moves() -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    before = reactor.setpoint.get()
    allowed = "enter a number from 15 to 150 degC"
    for text, expected in [
        ("hot", f"'hot' is not a number: {allowed}"),
        ("500", f"500 degC is too high: {allowed}"),
        ("10", f"10 degC is too low: {allowed}"),
        ("nan", f"'nan' is not a finite number: {allowed}"),
        ("", f"nothing entered: {allowed}"),
    ]:
        panel.entries["setpoint"].submit(text)
        field = html.unescape(panel.field_messages["setpoint"].value)
        assert expected in field, (text, field)
        assert "smartlab-error" in field
        assert "of type" not in field and "got" not in field, "no Python words"
        assert panel.invalid("setpoint"), text
        assert panel.entries["setpoint"].invalid, "the field is drawn red"
        assert panel.message.value == "", "nothing beside the Stop button"
        assert panel.field_messages["stir_rpm"].value == "", "only the bad field says it"
        assert not panel.invalid("stir_rpm")
        assert reactor.setpoint.get() == before
    assert panel.set_value("setpoint", "60")
    assert not panel.invalid("setpoint"), "a good entry clears the mark"
    assert not panel.entries["setpoint"].invalid
    assert "moving to 60 degC" in panel.field_messages["setpoint"].value
    assert not panel.set_value("temperature", "30")
    assert "not a settable signal" in panel.message.value
    assert "settable: setpoint, stir_rpm" in panel.message.value
    panel.close()


def _from_the_browser(widget: Any, data: dict[str, Any]) -> None:
    """Deliver a comm message to ``widget`` as the front end sends it."""
    widget._handle_msg({"content": {"data": data}, "buffers": []})


def test_enter_in_a_setpoint_field_submits_it(wait_for: Callable[..., None]) -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    entry = panel.entries["setpoint"]
    # What JupyterLab sends as "500" is typed and Enter pressed: the value, then "set".
    _from_the_browser(entry, {"method": "update", "state": {"value": "500"}, "buffer_paths": []})
    assert panel.field_messages["setpoint"].value == "", "typing alone submits nothing"
    _from_the_browser(entry, {"method": "custom", "content": {"event": "set", "text": "500"}})
    assert "500 degC is too high" in panel.field_messages["setpoint"].value
    assert panel.invalid("setpoint")
    _from_the_browser(entry, {"method": "update", "state": {"value": "70"}, "buffer_paths": []})
    _from_the_browser(entry, {"method": "custom", "content": {"event": "set", "text": "70"}})
    assert reactor.setpoint.get() == 70.0
    assert not panel.invalid("setpoint")
    wait_for(lambda: "done: 70 degC" in panel.field_messages["setpoint"].value, what="done")
    panel.close()


def test_set_applies_the_text_on_screen_when_the_typed_value_is_held_back(
    wait_for: Callable[..., None],
) -> None:
    # ipywidgets holds a field's value update back while an earlier one is being
    # handled, but sends a click at once: on a busy kernel Set arrived before "60"
    # did, and a stock Text + Button applied the 3600 typed before (CI, browser test).
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    entry = panel.entries["time_constant"]
    _from_the_browser(entry, {"method": "update", "state": {"value": "3600"}, "buffer_paths": []})
    _from_the_browser(entry, {"method": "custom", "content": {"event": "set", "text": "3600"}})
    assert reactor.time_constant.get() == 3600.0
    # "60" typed; its value update is still held in the browser when Set is pressed
    _from_the_browser(entry, {"method": "custom", "content": {"event": "set", "text": "60"}})
    assert reactor.time_constant.get() == 60.0
    assert entry.value == "60"
    wait_for(lambda: "done: 60 s" in panel.field_messages["time_constant"].value, what="done")
    panel.close()


def test_a_malformed_set_message_moves_nothing_it_was_not_asked_to() -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    entry = panel.entries["setpoint"]
    before = reactor.setpoint.get()
    _from_the_browser(entry, {"method": "custom", "content": {"event": "other", "text": "70"}})
    _from_the_browser(entry, {"method": "custom", "content": "set"})
    assert reactor.setpoint.get() == before, "only a set request moves the device"
    assert panel.field_messages["setpoint"].value == ""
    # a request without text is for what the field holds: here nothing, which is refused
    _from_the_browser(entry, {"method": "custom", "content": {"event": "set", "text": 70}})
    assert "nothing entered" in panel.field_messages["setpoint"].value
    assert panel.invalid("setpoint")
    assert reactor.setpoint.get() == before
    panel.close()


def test_good_setpoint_moves_the_device_and_reports_done(wait_for: Callable[..., None]) -> None:
    reactor = _reactor()
    panel = DevicePanel(reactor, poll_interval=None)
    panel.entries["setpoint"].value = " 60 "
    panel.entries["setpoint"].submit()  # as pressing Set with " 60 " in the field
    assert reactor.setpoint.get() == 60.0
    wait_for(lambda: "done" in panel.field_messages["setpoint"].value, what="move done")
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
    assert "a plan is running" in panel.field_messages["setpoint"].value
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
    assert "smartlab-error" in panel.field_messages["setpoint"].value
    assert "disconnect" in panel.field_messages["setpoint"].value.lower()
    values = panel.read_all()
    assert all(isinstance(v, str) for v in values.values())
    panel.close()


def _async_heater() -> Any:
    """An ophyd-async heater on soft signals whose setpoint and power have control limits."""
    pytest.importorskip("ophyd_async")
    from bluesky import RunEngine
    from ophyd_async.core import (
        AsyncStatus,
        StandardReadable,
        init_devices,
        soft_signal_r_and_setter,
        soft_signal_rw,
    )

    def with_limits(signal: Any, low: float, high: float) -> Any:
        backend = signal._connector.backend  # as an EPICS PV's DRVL/DRVH would give them
        backend.metadata["limits"] = {"control": {"low": low, "high": high}}
        return signal

    class AsyncHeater(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.temperature, self._set_temperature = soft_signal_r_and_setter(
                float, 300.0, units="K"
            )
            self.setpoint = with_limits(soft_signal_rw(float, 300.0, units="K"), 273.15, 573.15)
            self.power = with_limits(soft_signal_rw(float, 10.0, units="W"), 0.0, 500.0)
            self.mode = soft_signal_rw(str, "auto")
            self.stopped = False
            super().__init__(name=name)

        @AsyncStatus.wrap
        async def set(self, value: float) -> None:
            await self.setpoint.set(value)
            self._set_temperature(value)

        async def stop(self, success: bool = True) -> None:
            self.stopped = True

    # ophyd-async connects on the loop a RunEngine starts: make one first, as
    # ophyd-async's docs (and a notebook with a lab open) do. Without it this
    # test passed only after another test in the same process had made one.
    RunEngine()
    with init_devices():
        heater = AsyncHeater()
    return heater


def test_an_ophyd_async_device_is_shown_read_set_and_stopped(
    wait_for: Callable[..., None],
) -> None:
    from smartlab_kernel.devices.adapters.ophyd_async_devices import read_now

    heater = _async_heater()
    panel = DevicePanel(heater, poll_interval=None)
    assert set(panel.signals) == {"temperature", "setpoint", "power", "mode"}
    assert panel.units == {"temperature": "K", "setpoint": "K", "power": "W", "mode": ""}
    assert set(panel.entries) == {"setpoint", "power"}, "writable with limits"
    assert panel.entries["setpoint"].placeholder == "273.15 to 573.15 K"
    assert panel.readbacks["temperature"].value == "300 K"
    assert panel.readbacks["mode"].value == "auto"
    assert ">Setpoint (K)<" in html.unescape(panel.labels["setpoint"].value)
    assert "title='heater-setpoint'" in panel.labels["setpoint"].value
    # refused by the limits: nothing written
    assert not panel.set_value("setpoint", "1000")
    assert "1000 K is too high: enter a number from 273.15 to 573.15 K" in (
        panel.field_messages["setpoint"].value
    )
    assert read_now(heater.setpoint, "get_value") == 300.0
    # the setpoint moves the device (heater.set), another signal is set on its own
    assert panel.set_value("setpoint", "350")
    wait_for(lambda: "done: 350 K" in panel.field_messages["setpoint"].value, what="done")
    assert read_now(heater.temperature, "get_value") == 350.0
    assert panel.set_value("power", "120")
    wait_for(lambda: "done: 120 W" in panel.field_messages["power"].value, what="power")
    assert read_now(heater.power, "get_value") == 120.0
    panel.poll()
    assert panel.readbacks["temperature"].value == "350 K"
    panel.stop_button.click()
    assert heater.stopped and "heater stopped" in panel.message.value
    panel.close()
