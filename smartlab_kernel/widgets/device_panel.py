"""DevicePanel: live readbacks of an ophyd device, validated setpoints and a Stop button."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from ophyd import Device, Signal

from . import _format
from .marshal import KernelLoop


def _parse(text: str) -> Any:
    """Turn typed text into a number when it is one; otherwise keep the text."""
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return stripped


def _settable(signal: Signal) -> bool:
    return bool(
        callable(getattr(signal, "coerce", None))
        and hasattr(signal, "limits")
        and signal.write_access
    )


class DevicePanel(w.VBox):
    """Every signal of an ophyd device with its live value; edit setpoints; stop it.

    Readbacks are read on a background thread every ``poll_interval`` seconds
    and shown on the kernel's loop. A setpoint entry is checked with the
    signal's ``coerce`` (limits, type) before anything moves: a bad entry is
    shown as an error and nothing is written. A device's ``setpoint`` signal
    is applied with ``device.set(value)`` (so the device moves there); other
    settable signals with ``signal.set(value)``.

    Args:
        device: The ophyd device.
        lab: If given, setpoints are refused while the lab runs or pauses a plan.
        poll_interval: Seconds between reads; ``None`` for no background
            polling (call :meth:`poll` yourself).
    """

    def __init__(
        self,
        device: Device,
        *,
        lab: Any = None,
        poll_interval: float | None = 0.25,
    ) -> None:
        self.device = device
        self.lab = lab
        self._loop = KernelLoop()
        self.signals: dict[str, Signal] = {
            walk.dotted_name: walk.item for walk in device.walk_signals(include_lazy=False)
        }
        self.readbacks: dict[str, w.HTML] = {}
        self.entries: dict[str, w.Text] = {}
        self.set_buttons: dict[str, w.Button] = {}
        rows = []
        for name, signal in self.signals.items():
            readback = self.readbacks[name] = w.HTML(layout=w.Layout(width="14em"))
            readback.add_class(f"smartlab-readback-{name.replace('.', '-')}")
            units = getattr(signal, "units", "") or ""
            label = w.HTML(f"<code>{html.escape(name)}</code>", layout=w.Layout(width="12em"))
            row: list[w.Widget] = [label, readback]
            if _settable(signal):
                low, high = signal.limits
                entry = self.entries[name] = w.Text(
                    placeholder=f"{low:g} to {high:g} {units}", layout=w.Layout(width="11em")
                )
                entry.add_class(f"smartlab-entry-{name.replace('.', '-')}")
                button = self.set_buttons[name] = w.Button(
                    description="Set", layout=w.Layout(width="5em")
                )
                button.on_click(lambda _, n=name: self.set_value(n, self.entries[n].value))
                row += [entry, button]
            rows.append(w.HBox(row))
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger")
        self.stop_button.add_class("smartlab-device-stop")
        self.stop_button.on_click(lambda _: self.stop())
        self.message = w.HTML()
        self.message.add_class("smartlab-device-message")
        title = w.HTML(f"<b>{html.escape(device.name)}</b> ({type(device).__name__})")
        super().__init__([title, *rows, w.HBox([self.stop_button, self.message])])
        self.add_class("smartlab-device-panel")
        self._stop_polling = threading.Event()
        self._thread: threading.Thread | None = None
        self.poll()
        if poll_interval is not None:
            self._thread = threading.Thread(
                target=self._poll_loop,
                args=(poll_interval,),
                name=f"smartlab-poll-{device.name}",
                daemon=True,
            )
            self._thread.start()

    # -- readbacks ------------------------------------------------------------

    def read_all(self) -> dict[str, str]:
        """Read every signal now; a failing read gives its error text (any thread)."""
        values: dict[str, str] = {}
        for name, signal in self.signals.items():
            try:
                values[name] = _format.value(signal.get())
            except Exception as exc:
                values[name] = f"unreadable: {_format.exception(exc)}"
            units = getattr(signal, "units", "")
            if units and not values[name].startswith(("unreadable", "array")):
                values[name] += f" {units}"
        return values

    def poll(self) -> None:
        """Read every signal and show the values (call on the kernel thread)."""
        self._show(self.read_all())

    def _poll_loop(self, interval: float) -> None:
        last: dict[str, str] = {}
        while not self._stop_polling.wait(interval):
            values = self.read_all()
            changed = {k: v for k, v in values.items() if last.get(k) != v}
            if changed:
                last = values
                self._loop.call(self._show, changed)

    def _show(self, values: dict[str, str]) -> None:
        for name, text in values.items():
            self.readbacks[name].value = html.escape(text)

    # -- setpoints ------------------------------------------------------------

    def set_value(self, name: str, text: Any) -> bool:
        """Validate and apply a setpoint typed by the user.

        Args:
            name: Dotted signal name within the device (e.g. ``"setpoint"``).
            text: What was typed (a string) or a number.

        Returns:
            True if the move was started; False if it was refused (the
            reason is shown and nothing moved).
        """
        signal = self.signals.get(name)
        if signal is None or name not in self.entries:
            self._error(f"{name!r} is not a settable signal of {self.device.name}")
            return False
        requested = _parse(text) if isinstance(text, str) else text
        try:
            target = signal.coerce(requested)
        except (TypeError, ValueError) as exc:
            self._error(_format.exception(exc))
            return False
        state = getattr(self.lab, "state", "idle") if self.lab is not None else "idle"
        if state != "idle":
            self._error(
                f"not set: a plan is {state}; pause and abort it, or wait until it ends, "
                f"before moving {self.device.name} by hand"
            )
            return False
        owner = signal.parent
        mover: Callable[[Any], Any] = signal.set
        if signal.attr_name == "setpoint" and owner is not None and callable(owner.set):
            mover = owner.set
        try:
            status = mover(target)
        except Exception as exc:
            self._error(_format.exception(exc))
            return False
        units = getattr(signal, "units", "")
        self.message.value = _format.note(f"{name} -> {target:g} {units}: moving")
        if hasattr(status, "add_callback"):
            status.add_callback(lambda st: self._loop.call(self._done, st, name, target, units))
        return True

    def _done(self, status: Any, name: str, target: float, units: str) -> None:
        if status.success:
            self.message.value = _format.note(f"{name} -> {target:g} {units}: done")
        else:
            exc = status.exception() if callable(getattr(status, "exception", None)) else None
            self._error(f"{name} -> {target:g} {units} failed: {exc or 'stopped'}")

    def stop(self) -> None:
        """Stop the device (``device.stop()``); a failure is shown."""
        try:
            self.device.stop()
        except Exception as exc:
            self._error(f"stop failed: {_format.exception(exc)}")
        else:
            self.message.value = _format.note(f"{self.device.name} stopped")

    def _error(self, message: str) -> None:
        self.message.value = _format.error(message)

    def close(self) -> None:
        """Stop polling and close the widget."""
        self._stop_polling.set()
        super().close()


__all__ = ["DevicePanel"]
