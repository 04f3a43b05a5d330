"""DevicePanel: live readbacks of an ophyd or ophyd-async device, validated setpoints, Stop."""

from __future__ import annotations

import html
import math
import threading
from functools import partial
from typing import Any

import ipywidgets as w
from ophyd import Signal

from . import _figure, _format
from .device_panel_signals import ophyd_limits, ophyd_units, panel_signals
from .marshal import KernelLoop
from .setpoint_entry import SetpointEntry


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


def signal_units(signal: Signal) -> str:
    """A signal's engineering units from its metadata (``""`` if it has none).

    Looks at ophyd's ``signal.metadata["units"]`` (EPICS signals fill it from
    the PV), then a ``units`` attribute (this package's simulated signals).

    Args:
        signal: The ophyd signal.
    """
    return ophyd_units(signal)


def signal_limits(signal: Signal) -> tuple[float, float] | None:
    """A signal's control limits ``(low, high)``, or ``None`` when it has none.

    ophyd's ``Signal.limits`` is ``(0, 0)`` for a signal without limits.

    Args:
        signal: The ophyd signal.
    """
    return ophyd_limits(signal)


def _css_name(name: str) -> str:
    return name.replace(".", "-")


class DevicePanel(w.VBox):
    """Every signal of an ophyd or ophyd-async device with its live value; edit setpoints; stop it.

    Each row has a label and units from the signal's metadata (ophyd
    ``metadata["units"]`` or ``units``, and its control ``limits``; an
    ophyd-async signal's ``describe()``), the live readback and, for a
    writable signal with limits, an entry field. Pressing Enter in the field,
    or its **Set** button, submits it. An ophyd-async device's signals are
    read together on Bluesky's event loop, and set there.

    Readbacks are read on a background thread every ``poll_interval`` seconds
    and shown on the kernel's loop. An entry is checked against the signal's
    limits (and its own ``coerce`` or ``check_value``) before anything moves:
    a refused entry is marked (red border) and the reason, with what is
    allowed ("enter a number from 15 to 150 degC"), is shown beside the
    field; nothing is written. A device's ``setpoint`` (or ``user_setpoint``,
    as a motor has) is applied with ``device.set(value)`` (so the device moves
    there); other settable signals with ``signal.set(value)``.

    Args:
        device: The ophyd or ophyd-async device (an ophyd-async one connected).
        lab: If given, setpoints are refused while the lab runs or pauses a plan.
        poll_interval: Seconds between reads; ``None`` for no background
            polling (call :meth:`poll` yourself).
    """

    def __init__(
        self,
        device: Any,
        *,
        lab: Any = None,
        poll_interval: float | None = 0.25,
    ) -> None:
        self.device = device
        self.lab = lab
        self._loop = KernelLoop()
        self._access = panel_signals(device)
        described = self._access.signals
        #: Each signal (ophyd or ophyd-async) by its dotted name within the device.
        self.signals: dict[str, Any] = {n: d.signal for n, d in described.items()}
        #: Units of each signal, from its metadata.
        self.units: dict[str, str] = {n: d.units for n, d in described.items()}
        self.labels: dict[str, w.HTML] = {}
        self.readbacks: dict[str, w.HTML] = {}
        #: Each settable signal's field and Set button (:meth:`SetpointEntry.submit` presses Set).
        self.entries: dict[str, SetpointEntry] = {}
        #: Beside each entry: why it was refused, or how its move goes.
        self.field_messages: dict[str, w.HTML] = {}
        rows = []
        for name, entry_signal in described.items():
            units = self.units[name]
            text = _figure.label(name, units)
            label = self.labels[name] = w.HTML(
                f"<span title='{html.escape(entry_signal.full_name)}'>{html.escape(text)}</span>",
                layout=w.Layout(width="14em", flex="0 0 auto"),
            )
            label.add_class(f"smartlab-label-{_css_name(name)}")
            readback = self.readbacks[name] = w.HTML(layout=w.Layout(width="12em", flex="0 0 auto"))
            readback.add_class(f"smartlab-readback-{_css_name(name)}")
            row: list[w.Widget] = [label, readback]
            limits = entry_signal.limits
            if entry_signal.settable and limits is not None:
                low, high = limits
                # Enter or Set submits, with the text typed in the same message;
                # submitting on blur instead would move hardware on a stray click.
                entry = self.entries[name] = SetpointEntry(
                    partial(self.set_value, name),
                    placeholder=f"{low:g} to {high:g} {units}".strip(),
                    layout=w.Layout(flex="0 0 auto"),
                )
                entry.add_class(f"smartlab-entry-{_css_name(name)}")
                # Takes the rest of the row and wraps there: the columns stay aligned.
                feedback = self.field_messages[name] = w.HTML(
                    layout=w.Layout(flex="1 1 auto", min_width="0")
                )
                feedback.add_class(f"smartlab-field-message-{_css_name(name)}")
                row += [entry, feedback]
            rows.append(w.HBox(row, layout=w.Layout(align_items="center")))
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

    def allowed(self, name: str) -> str:
        """What may be entered for a settable signal, in words.

        Args:
            name: Dotted signal name within the device.

        Returns:
            E.g. ``"enter a number from 15 to 150 degC"``.
        """
        limits = self._access.limits(name)
        if limits is None:
            return "enter a number"
        low, high = limits
        return f"enter a number from {low:g} to {high:g} {self.units[name]}".strip()

    # -- readbacks ------------------------------------------------------------

    def read_all(self) -> dict[str, str]:
        """Read every signal now; a failing read gives its error text (any thread)."""
        values: dict[str, str] = {}
        for name, value in self._access.read().items():
            if isinstance(value, Exception):
                values[name] = f"unreadable: {_format.exception(value)}"
            else:
                values[name] = _format.value(value)
            units = self.units[name]
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

    def check_entry(self, name: str, text: Any) -> float:
        """Read what was typed for a settable signal as a number it allows.

        Args:
            name: Dotted signal name within the device (e.g. ``"setpoint"``).
            text: What was typed (a string) or a number.

        Returns:
            The value to write.

        Raises:
            ValueError: Saying what was wrong with ``text`` and what is allowed,
                e.g. ``"'hot' is not a number: enter a number from 15 to 150 degC"``.
        """
        allowed = self.allowed(name)
        units = self.units[name]
        requested = _parse(text) if isinstance(text, str) else text
        if isinstance(requested, str):
            if not requested:
                raise ValueError(f"nothing entered: {allowed}")
            raise ValueError(f"{requested!r} is not a number: {allowed}")
        if isinstance(requested, bool) or not isinstance(requested, int | float):
            raise ValueError(f"{requested!r} is not a number: {allowed}")
        value = float(requested)
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number: {allowed}")
        limits = self._access.limits(name)
        if limits is not None and not limits[0] <= value <= limits[1]:
            side = "too low" if value < limits[0] else "too high"
            raise ValueError(f"{value:g} {units} is {side}: {allowed}".replace("  ", " "))
        try:  # the signal's own checks (types, rules beyond its limits)
            value = self._access.check(name, value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{value:g} {units} refused: {_format.exception(exc)}") from exc
        return value

    def set_value(self, name: str, text: Any) -> bool:
        """Validate and apply a setpoint typed by the user.

        Args:
            name: Dotted signal name within the device (e.g. ``"setpoint"``).
            text: What was typed (a string) or a number.

        Returns:
            True if the move was started; False if it was refused (the field
            is marked, the reason shown beside it, and nothing moved).
        """
        if name not in self.entries:
            settable = ", ".join(self.entries) or "none"
            self._error(
                f"{name!r} is not a settable signal of {self.device.name} (settable: {settable})"
            )
            return False
        try:
            target = self.check_entry(name, text)
        except ValueError as exc:
            self._field_error(name, str(exc))
            return False
        state = getattr(self.lab, "state", "idle") if self.lab is not None else "idle"
        if state != "idle":
            self._field_error(
                name,
                f"not set: a plan is {state}; pause and abort it, or wait until it ends, "
                f"before moving {self.device.name} by hand",
            )
            return False
        try:
            status = self._access.move(name, target)
        except Exception as exc:
            self._field_error(name, f"{self.device.name} refused: {_format.exception(exc)}")
            return False
        units = self.units[name]
        self._field_note(name, f"moving to {target:g} {units}".strip())
        if hasattr(status, "add_callback"):
            status.add_callback(lambda st: self._loop.call(self._done, st, name, target, units))
        return True

    def _done(self, status: Any, name: str, target: float, units: str) -> None:
        if status.success:
            self._field_note(name, f"done: {target:g} {units}".strip())
            return
        exc = status.exception() if callable(getattr(status, "exception", None)) else None
        if exc is None:  # stopped (the Stop button): not the entry's fault
            self._field_note(name, f"stopped before {target:g} {units}".strip())
        else:
            self.field_messages[name].value = _format.error(
                f"{target:g} {units} not reached: {_format.exception(exc)}"
            )

    def invalid(self, name: str) -> bool:
        """True while the entry of ``name`` is marked as refused."""
        return self.entries[name].invalid

    def _mark(self, name: str, invalid: bool) -> None:
        self.entries[name].invalid = invalid  # the field's red border and pale red inside

    def _field_error(self, name: str, message: str) -> None:
        self._mark(name, True)
        self.field_messages[name].value = _format.error(message)

    def _field_note(self, name: str, message: str) -> None:
        self._mark(name, False)
        self.field_messages[name].value = _format.note(message)

    def stop(self) -> None:
        """Stop the device (``device.stop()``); a failure is shown."""
        try:
            self._access.stop()
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
