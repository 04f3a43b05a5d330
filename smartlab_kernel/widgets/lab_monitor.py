"""LabMonitor: the room's live values, its alarms (with Acknowledge) and its energy.

A composite of standard ipywidgets. It only calls the
:class:`~smartlab_kernel.management.room_view.RoomView` API, which the room of
a local lab and the room of a served lab (seen from a notebook connected
with ``Lab.connect``) both have. Values refresh on a
timer on the kernel's event loop (captured when the widget is built), and
alarms raised on the room's monitor thread are marshalled to that loop.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from smartlab_kernel.management.alarms import Alarm
from smartlab_kernel.management.room_view import RoomView

from . import _figure
from .marshal import KernelLoop

_SEVERITY_COLOUR = {"warning": "#b26b00", "critical": "#c00000"}


def reading_row(name: str, value: Any) -> tuple[str, str]:
    """A room reading as people read it: ``("power_w", 5470.0)`` -> ``("Power", "5.47 kW")``.

    Args:
        name: The reading's name; its suffix says its units (``_w``, ``_m_s``, ``_pct``).
        value: The reading.

    Returns:
        ``(label, value)`` as text: the name in words; the value with its
        units, an SI prefix where one reads better, ``"yes"``/``"no"`` for
        flags and ``"unreadable"`` for NaN.
    """
    words, units = _figure.split_units(name)
    if isinstance(value, bool):
        return words, "yes" if value else "no"
    if isinstance(value, int | float):
        return words, _figure.quantity(value, units)
    return words, str(value)


class LabMonitor(w.VBox):
    """Live room values, alarms with Acknowledge, and an energy bar chart.

    Args:
        room_link: The room: ``lab.room`` of a simulated lab (from ``attach_room``)
            or of a served one (``Lab.connect(...).room``).
        refresh_s: Real seconds between refreshes of the values; ``None`` refreshes
            only when :meth:`refresh` is called.
        operator: Pre-filled in the "Who" box of the acknowledge form.
        energy_every: Redraw the energy chart every this many value refreshes.

    Raises:
        ValueError: If ``refresh_s`` is given and not > 0.
    """

    def __init__(
        self,
        room_link: RoomView,
        *,
        refresh_s: float | None = 1.0,
        operator: str | None = None,
        energy_every: int = 30,
    ) -> None:
        if refresh_s is not None and not refresh_s > 0:
            raise ValueError(f"refresh_s must be > 0 seconds or None, got {refresh_s!r}")
        self.link = room_link
        self.loop = KernelLoop()
        self.pending_alarm: str | None = None
        self.energy_every = max(1, int(energy_every))
        self._ticks = 0
        self.values = w.HTML()
        self.alarm_rows = w.VBox()
        self.who = w.Text(description="Who", value=operator or "", placeholder="your name")
        self.comment = w.Textarea(description="Comment", placeholder="what was done")
        self.confirm_button = w.Button(description="Acknowledge", button_style="warning")
        self.cancel_button = w.Button(description="Cancel")
        self.form_title = w.HTML()
        self.form = w.VBox(
            [
                self.form_title,
                self.who,
                self.comment,
                w.HBox([self.confirm_button, self.cancel_button]),
            ],
            layout=w.Layout(display="none"),
        )
        self.error = w.HTML(layout=w.Layout(display="none"))
        self.energy = w.Image(format="png", layout=w.Layout(max_width="480px"))
        # Wide enough for its whole label (the ipywidgets default cuts it short).
        self.energy_button = w.Button(
            description="Update energy chart",
            icon="refresh",
            layout=w.Layout(width="auto", align_self="flex-start"),
        )
        self.energy_button.add_class("smartlab-energy-update")
        self.confirm_button.on_click(lambda _b: self.confirm_acknowledge())
        self.cancel_button.on_click(lambda _b: self.cancel_acknowledge())
        self.energy_button.on_click(lambda _b: self.draw_energy())
        super().__init__(
            [
                w.HTML("<b>Room</b>"),
                self.values,
                w.HTML("<b>Alarms</b>"),
                self.alarm_rows,
                self.form,
                self.error,
                w.HTML("<b>Energy</b>"),
                self.energy,
                self.energy_button,
            ]
        )
        self._listener = lambda _event, _alarm: self.loop.call(self.refresh_alarms)
        self.link.alarms.subscribe(self._listener)
        self.refresh()
        self.draw_energy()
        self._stop_timer = self.loop.every(refresh_s, self._tick) if refresh_s else None

    # -- views ----------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        self.refresh_values()
        if self._ticks % self.energy_every == 0:
            self.draw_energy()

    def refresh(self) -> None:
        """Redraw the values and the alarm list now."""
        self.refresh_values()
        self.refresh_alarms()

    def refresh_values(self) -> None:
        """Redraw the table of live values."""
        rows = []
        for name, value in self.link.readings().items():
            words, text = reading_row(name, value)
            rows.append(
                f"<tr><td title='{html.escape(name)}'>{html.escape(words)}</td>"
                f"<td style='text-align:right;padding-left:1em'>{html.escape(text)}</td></tr>"
            )
        tripped = self.link.status()["interlocks_tripped"]
        banner = (
            "<p style='color:#c00000'><b>Interlocks tripped:</b> "
            f"{html.escape(', '.join(tripped))}</p>"
            if tripped
            else ""
        )
        self.values.value = f"{banner}<table>{''.join(rows)}</table>"

    def refresh_alarms(self) -> None:
        """Redraw the alarm list: unacknowledged first, newest first, each with Acknowledge."""
        alarms = self.link.alarms.all()[::-1]
        ordered = [a for a in alarms if not a.acknowledged] + [a for a in alarms if a.acknowledged]
        self.alarm_rows.children = tuple(self._row(a) for a in ordered[:50])

    def _row(self, alarm: Alarm) -> w.HBox:
        colour = _SEVERITY_COLOUR.get(alarm.severity, "black")
        state = "active" if alarm.active else "cleared"
        text = (
            f"<span style='color:{colour}'>{alarm.alarm_id} [{alarm.severity}, {state}]</span> "
            f"{html.escape(alarm.source)}: {html.escape(alarm.message)}"
        )
        if alarm.acknowledged:
            text += f" <i>acknowledged by {html.escape(str(alarm.acknowledged_by))}</i>"
        button = w.Button(description="Acknowledge", disabled=alarm.acknowledged)
        button.on_click(lambda _b, alarm_id=alarm.alarm_id: self.start_acknowledge(alarm_id))
        return w.HBox([button, w.HTML(text)])

    def draw_energy(self) -> None:
        """Redraw the bar chart of kWh per system."""
        self.energy.value = _figure.to_png(self.energy_figure())

    def energy_figure(self) -> Figure:
        """The bar chart of energy per system since the room started, as drawn.

        Returns:
            The matplotlib figure: one bar per system (named in words), its
            value over it, in text the size of the notebook's own.
        """
        energy = self.link.energy_kwh()
        names = [_figure.split_units(name)[0] for name in energy]
        watt_hours = [1000.0 * kwh for kwh in energy.values()]
        # The axis in kWh once a system has used one, else in Wh: no 8000 Wh ticks.
        scale, units = (1000.0, "kWh") if max(watt_hours, default=0) >= 1000 else (1.0, "Wh")

        def draw(axes: list[Axes]) -> None:
            (ax,) = axes
            bars = ax.bar(names, [wh / scale for wh in watt_hours], color="#4c72b0")
            ax.bar_label(bars, labels=[_figure.quantity(wh, "Wh") for wh in watt_hours])
            ax.set_ylabel(f"Energy ({units})")
            ax.set_title("Energy per system since start")
            ax.margins(y=0.2)
            ax.spines[["top", "right"]].set_visible(False)

        return _figure.figure(draw, size=(5, 2.4))

    # -- acknowledging --------------------------------------------------------

    def start_acknowledge(self, alarm_id: str) -> None:
        """Open the form asking who acknowledges alarm ``alarm_id`` and why."""
        self._hide_error()
        alarm = self.link.alarms.get(alarm_id)
        self.pending_alarm = alarm_id
        self.form_title.value = f"Acknowledge {alarm.alarm_id}: {html.escape(alarm.message)}"
        self.form.layout.display = "flex"

    def confirm_acknowledge(self) -> Alarm | None:
        """Acknowledge the pending alarm with the form's who and comment.

        Bad input (no name, no alarm chosen, acknowledged already) is shown in
        the error label and the form stays open.

        Returns:
            The acknowledged alarm, or ``None`` if the input was refused.
        """
        try:
            if self.pending_alarm is None:
                raise ValueError("choose an alarm to acknowledge first (its Acknowledge button)")
            alarm = self.link.alarms.acknowledge(
                self.pending_alarm, self.who.value, self.comment.value.strip()
            )
        except (ValueError, KeyError, PermissionError) as exc:
            self._show_error(str(exc.args[0]) if exc.args else str(exc))
            return None
        self.cancel_acknowledge()
        self.refresh_alarms()
        return alarm

    def cancel_acknowledge(self) -> None:
        """Close the form without acknowledging."""
        self.pending_alarm = None
        self.comment.value = ""
        self.form.layout.display = "none"
        self._hide_error()

    def _show_error(self, message: str) -> None:
        self.error.value = f"<span style='color:#c00000'>{html.escape(message)}</span>"
        self.error.layout.display = "flex"

    def _hide_error(self) -> None:
        self.error.value = ""
        self.error.layout.display = "none"

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        if self._stop_timer is not None:
            self._stop_timer()
            self._stop_timer = None
        self.link.alarms.unsubscribe(self._listener)
        super().close()
