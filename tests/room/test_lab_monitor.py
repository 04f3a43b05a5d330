"""LabMonitor in Python: values, alarms with Acknowledge, bad input, energy chart."""

from __future__ import annotations

import asyncio
import html
import re
import threading
from collections.abc import Iterator

import ipywidgets as w
import pytest

from smartlab_kernel.management.room_link import RoomLink
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.lab_monitor import LabMonitor, reading_row


@pytest.fixture
def monitor(room_lab: tuple[Lab, RoomLink]) -> Iterator[LabMonitor]:
    _lab, link = room_lab
    widget = LabMonitor(link, refresh_s=None)
    yield widget
    widget.close()


def _row_for(monitor: LabMonitor, alarm_id: str) -> w.HBox:
    for row in monitor.alarm_rows.children:
        if alarm_id in row.children[1].value:
            return row
    raise AssertionError(f"no row for {alarm_id}")


def test_values_table_shows_the_room(monitor: LabMonitor) -> None:
    monitor.refresh_values()
    assert "hood_1_face_velocity_m_s" in monitor.values.value
    assert "air_changes_per_h" in monitor.values.value
    assert monitor.energy.value[:4] == b"\x89PNG"


def test_values_are_said_in_words_with_readable_units(monitor: LabMonitor) -> None:
    monitor.refresh_values()
    table = html.unescape(monitor.values.value)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    rows = dict(zip(cells[::2], cells[1::2], strict=True))
    assert re.fullmatch(r"\d+(\.\d+)? kW", rows["Power"]), rows["Power"]
    assert rows["Hood 1 face velocity"].endswith(" m/s")
    assert rows["Humidity"].endswith(" %") and rows["CO2"].endswith(" ppm")
    assert rows["Lights on"] in ("yes", "no")
    assert not any("e+" in v or "e-0" in v for v in rows.values()), rows
    assert "power_w" not in cells and "title='power_w'" in table, "the raw name on hover"
    assert reading_row("power_w", 5470.0) == ("Power", "5.47 kW")
    assert reading_row("temperature_c", float("nan")) == ("Temperature", "unreadable")


def test_energy_chart_is_small_labelled_and_its_button_fits(monitor: LabMonitor) -> None:
    figure = monitor.energy_figure()
    (ax,) = figure.axes
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.texts]
    assert max(t.get_fontsize() for t in texts) <= 9, "no oversized text"
    assert ax.get_ylabel() in ("Energy (Wh)", "Energy (kWh)")
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "HVAC",
        "Hoods",
        "Lighting",
        "Instruments",
    ]
    assert len(ax.texts) == 4, "each bar says its value"
    assert monitor.energy_button.layout.width == "auto", "its whole label, not 'Update energy c'"


def test_acknowledge_button_records_operator_and_comment(
    monitor: LabMonitor, room_lab: tuple[Lab, RoomLink]
) -> None:
    _lab, link = room_lab
    alarm = link.alarms.raise_alarm("hood_2", "face velocity 0.1 m/s", severity="critical")
    row = _row_for(monitor, alarm.alarm_id)  # new alarms appear without a manual refresh
    row.children[0].click()
    assert monitor.pending_alarm == alarm.alarm_id
    assert monitor.form.layout.display == "flex"
    monitor.who.value = "ada"
    monitor.comment.value = "sash lowered, fan reset"
    monitor.confirm_button.click()
    assert alarm.acknowledged_by == "ada" and alarm.comment == "sash lowered, fan reset"
    assert monitor.form.layout.display == "none"
    row = _row_for(monitor, alarm.alarm_id)
    assert row.children[0].disabled and "acknowledged by ada" in row.children[1].value


def test_acknowledge_without_a_name_is_refused(
    monitor: LabMonitor, room_lab: tuple[Lab, RoomLink]
) -> None:
    _lab, link = room_lab
    alarm = link.alarms.raise_alarm("vapour", "30 ppm")
    _row_for(monitor, alarm.alarm_id).children[0].click()
    monitor.who.value = "   "
    assert monitor.confirm_acknowledge() is None
    assert "say who acknowledges" in monitor.error.value
    assert monitor.error.layout.display == "flex" and monitor.form.layout.display == "flex"
    assert not alarm.acknowledged
    monitor.cancel_acknowledge()
    assert monitor.pending_alarm is None and monitor.error.layout.display == "none"
    assert monitor.confirm_acknowledge() is None
    assert "choose an alarm" in monitor.error.value


def test_refresh_interval_is_validated(room_lab: tuple[Lab, RoomLink]) -> None:
    with pytest.raises(ValueError, match="refresh_s must be > 0 seconds or None, got 0"):
        LabMonitor(room_lab[1], refresh_s=0)


def test_updates_from_other_threads_run_on_the_kernel_loop(
    room_lab: tuple[Lab, RoomLink],
) -> None:
    _lab, link = room_lab
    calls: list[tuple[str, int]] = []

    async def scenario() -> None:
        monitor = LabMonitor(link, refresh_s=0.02, energy_every=2)
        refresh_alarms, draw_energy = monitor.refresh_alarms, monitor.draw_energy

        def record_alarms() -> None:
            calls.append(("alarms", threading.get_ident()))
            refresh_alarms()

        def record_energy() -> None:
            calls.append(("energy", threading.get_ident()))
            draw_energy()

        monitor.refresh_alarms = record_alarms  # type: ignore[method-assign]
        monitor.draw_energy = record_energy  # type: ignore[method-assign]
        raiser = threading.Thread(target=lambda: link.alarms.raise_alarm("t", "from a thread"))
        raiser.start()
        raiser.join()
        await asyncio.sleep(0.3)
        monitor.close()
        assert "from a thread" in monitor.alarm_rows.children[0].children[1].value

    asyncio.run(scenario())
    kinds = {kind for kind, _ in calls}
    assert kinds == {"alarms", "energy"}
    assert {ident for _, ident in calls} == {threading.get_ident()}
