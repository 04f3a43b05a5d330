from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.live_plot import LivePlot


def _feed(
    plot: LivePlot, events: list[dict[str, Any]], start: dict[str, Any] | None = None
) -> None:
    plot.add_document("start", {"uid": "s1", **(start or {})})
    plot.add_document("descriptor", {"uid": "d1", "name": "primary"})
    plot.add_document("descriptor", {"uid": "d2", "name": "baseline"})
    for i, data in enumerate(events):
        plot.add_document("event", {"descriptor": "d1", "data": data, "seq_num": i + 1})


def _custom(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m["data"]["content"]
        for m in messages
        if m["msg_type"] == "comm_msg" and m["data"].get("method") == "custom"
    ]


def test_front_end_files_are_beside_the_module() -> None:
    from pathlib import Path

    import smartlab_kernel.widgets.live_plot as module

    front_end = Path(module.__file__).with_name("live_plot.js")
    assert front_end.exists() and Path(module.__file__).with_name("live_plot.css").exists()
    assert "export default" in str(LivePlot._esm)


def test_scalar_vs_index_sends_new_points(messages: list[dict[str, Any]]) -> None:
    plot = LivePlot(None, y="det")
    _feed(plot, [{"det": 1.0}, {"det": 2.5}, {"det": float("nan")}, {"other": 3.0}])
    plot.add_document("event", {"descriptor": "d2", "data": {"det": 99.0}})
    sent = _custom(messages)
    assert [m["type"] for m in sent] == ["append", "append"]
    assert sum(len(m["x"]) for m in sent) == 2
    assert sent[-1]["x"] == [2.0] and sent[-1]["y"] == [2.5]
    assert plot.points == 2 and plot.status == "2 points"
    assert plot.snapshot()["y"] == [1.0, 2.5]


def test_x_from_event_field_or_start_document(messages: list[dict[str, Any]]) -> None:
    plot = LivePlot(None, y="det", x="motor")
    _feed(plot, [{"det": 1.0, "motor": 10.0}, {"det": 2.0, "motor": 20.0}])
    assert plot.snapshot()["x"] == [10.0, 20.0]
    assert plot.x_label == "Motor"
    by_recipe = LivePlot(None, y="det", x="recipe.temperature_c")
    _feed(by_recipe, [{"det": 5.0}], start={"recipe": {"temperature_c": 60.0}})
    assert by_recipe.snapshot()["x"] == [60.0]


def test_spectra_are_sent_as_rows(messages: list[dict[str, Any]]) -> None:
    plot = LivePlot(None, y="spectrum", kind="heatmap")
    _feed(plot, [{"spectrum": np.arange(4.0)}, {"spectrum": [1, 2, 3, 4]}])
    rows = [row for m in _custom(messages) for row in m.get("spectra", [])]
    assert rows == [[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]
    assert plot.kind == "heatmap"


def test_event_pages_and_front_end_snapshot_request(messages: list[dict[str, Any]]) -> None:
    plot = LivePlot(None, y="det")
    plot.add_document("descriptor", {"uid": "d1", "name": "primary"})
    plot.add_document(
        "event_page", {"descriptor": "d1", "seq_num": [1, 2, 3], "data": {"det": [1, 2, 3]}}
    )
    messages.clear()
    plot._on_front_end_msg(plot, {"type": "snapshot"}, [])
    (reset,) = _custom(messages)
    assert reset == {"type": "reset", "x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0], "spectra": []}
    plot.clear()
    assert plot.points == 0 and plot.snapshot()["x"] == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        LivePlot(None, y="det", kind="bars")
    with pytest.raises(TypeError, match="y must be an event field name"):
        LivePlot(None, y="")


@pytest.fixture
def kernel_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_a_flood_of_events_is_throttled_on_the_loop_thread(
    kernel_loop: asyncio.AbstractEventLoop, messages: list[dict[str, Any]]
) -> None:
    made: list[LivePlot] = []
    ready = threading.Event()

    def build() -> None:  # built on the loop thread, as in a notebook cell
        made.append(LivePlot(None, y="det", max_rate=20))
        ready.set()

    kernel_loop.call_soon_threadsafe(build)
    assert ready.wait(5)
    plot = made[0]
    plot.add_document("descriptor", {"uid": "d1", "name": "primary"})
    start = time.monotonic()
    for i in range(2000):  # a fast plan on another thread: 2000 events in ~0.5 s
        plot.add_document("event", {"descriptor": "d1", "data": {"det": float(i)}})
        if i % 50 == 0:
            time.sleep(0.01)
    elapsed = time.monotonic() - start
    time.sleep(0.2)
    sent = _custom(messages)
    assert sum(len(m["x"]) for m in sent) == 2000, "no point lost"
    assert len(sent) <= 20 * (elapsed + 0.2) + 2, "at most max_rate updates a second"
    assert plot.updates_sent == len(sent)


def test_follows_a_lab_run(
    idle_lab: Lab, slow_plan: Callable[..., Any], wait_for: Callable[..., None]
) -> None:
    readout = LivePlot(idle_lab, y="spectrometer_readout", x="recipe.temperature_c")
    spectra = LivePlot(idle_lab, y="spectrometer_spectrum")
    run = idle_lab.submit(slow_plan(hold_s=10))
    run.wait(60)
    wait_for(lambda: readout.points == 1 and spectra.points == 1)
    assert readout.snapshot()["x"] == [40.0]
    assert len(spectra.snapshot()["spectra"][0]) == 200
    readout.close()
    spectra.close()
    run = idle_lab.submit(slow_plan(hold_s=10))
    run.wait(60)
    assert readout.points == 1, "closed plots stop listening"


def test_axes_are_labelled_in_words_with_units(messages: list[dict[str, Any]]) -> None:
    plot = LivePlot(None, y="spectrometer_readout", x="recipe.temperature_c")
    assert plot.x_label == "Temperature (degC)", "not the raw 'recipe.temperature_c'"
    assert plot.y_label == "Spectrometer readout" and plot.title == "Spectrometer readout"
    assert not plot.x_integer
    counted = LivePlot(None, y="reactor_temperature")
    assert counted.x_label == "Event" and counted.x_integer, "events are counted"
    # The descriptor's units win, once data arrives.
    counted.add_document("start", {"uid": "s1"})
    units = {"reactor_temperature": {"dtype": "number", "shape": [], "units": "degC"}}
    counted.add_document("descriptor", {"uid": "d1", "name": "primary", "data_keys": units})
    counted.add_document("event", {"descriptor": "d1", "data": {"reactor_temperature": 25.0}})
    counted.flush()
    assert counted.y_label == "Reactor temperature (degC)"
