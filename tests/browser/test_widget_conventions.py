"""The notebook conventions of the widgets, in a real browser 1280 px wide (issue 18).

JupyterLab 4 + headless Debian chromium via playwright, with the JupyterLab
server fixture of ``test_notebook_widgets.py`` (one server for this module).
Uploads a notebook that opens a simulated lab (room and LIMS too), shows a
DevicePanel, two LivePlots, a RunBrowser over four runs (one paused during
its hold), a PlannerReview, a QueueWidget over a fake queue, a LabMonitor
and a SampleTracker, then, in the browser:

- DevicePanel: Enter submits; "hot" marks the field red and says, beside it,
  "enter a number from 15 to 150 degC"; a good value moves the reactor.
- LivePlot: event counts ticked at whole numbers; the heatmap has a colour bar.
- RunBrowser: a table; a click on a header sorts; Ctrl-click selects a second
  run and both are compared side by side; the paused run's row is flagged.
- PlannerReview: "no data yet" before data; Reject on screen at 1280 px; ids
  on one line; a running campaign's suggestion locked ("running as
  experiment 1 of 2", finding 4).
- QueueWidget: Remove asks first (Cancel keeps the item); the state in words.
- LabMonitor: "Power ... kW" and the energy button's whole label.
- SampleTracker on ``lab.lims``: register, transition, the list follows (finding 5).

Screenshots of each widget go to ``tests/artifacts/conventions_*.png``.
Skipped when chromium or jupyter is missing, unless ``CI=true`` (then it fails).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page


def _sibling(name: str) -> ModuleType:
    """Import ``tests/browser/<name>.py`` (not a package; pytest runs in importlib mode)."""
    key = f"_smartlab_browser_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_widgets = _sibling("test_notebook_widgets")
_monitor = _sibling("test_lab_monitor_browser")
jupyter = _widgets.jupyter  # the module-scoped JupyterLab server fixture: (base url, token)
ARTIFACTS: Path = _widgets.ARTIFACTS
expect = _widgets.expect

NOTEBOOK = "widget_conventions_browser_test.ipynb"
WIDTH = 1280
RED = "rgb(176, 0, 32)"  # setpoint_entry.INVALID_BORDER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

_FAKE_QUEUE = '''
class FakeQueue:
    """A served lab's queue as an instructor sees it (QueueWidget's QueueSource)."""

    user, is_instructor = "ta", True

    def __init__(self):
        self.items = [
            {"item_uid": f"u{i}", "name": "measure_recipe", "user": who,
             "kwargs": {"hold_s": 60 * i}}
            for i, who in enumerate(["alice", "bob", "carol"], start=1)
        ]

    def queue(self):
        return [{**item, "position": p, "mine": False} for p, item in enumerate(self.items, 1)]

    def status(self):
        running = {"name": "measure_recipe", "user": "dave", "kwargs": {"hold_s": 30}}
        return {"manager_state": "executing_queue", "running": running, "my_positions": []}

    def history(self):
        return [{"name": "measure_recipe", "user": "bob", "kwargs": {}, "exit_status": "completed"}]

    def remove(self, item_uid):
        self.items = [i for i in self.items if i["item_uid"] != item_uid]

    def move(self, item_uid, position):
        item = next(i for i in self.items if i["item_uid"] == item_uid)
        self.items.remove(item)
        self.items.insert(position - 1, item)
'''


def _notebook(directory: Path) -> dict[str, Any]:
    """The notebook run in the browser; later steps are typed into new cells."""
    cells = [
        "import time\n"
        "from pathlib import Path\n\n"
        "from IPython.display import display\n\n"
        "from smartlab_kernel import Lab\n"
        "from smartlab_kernel.campaign.loop import bench_planner, campaign\n"
        "from smartlab_kernel.plans import Recipe, measure_recipe\n"
        "from smartlab_kernel.widgets import (DevicePanel, LabMonitor, LivePlot, PlannerReview,\n"
        "    QueueWidget, RunBrowser, SampleTracker)\n\n"
        f"lab = Lab.simulated(seed=0, directory=Path({str(directory)!r}), time_scale=1000,\n"
        "    room=True, lims=True)\n"
        'bench = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}',
        'panel = DevicePanel(lab.devices["reactor"], lab=lab)\npanel',
        "# two events and two spectra, fed by hand: few points are where fractional ticks showed\n"
        'counts = LivePlot(None, y="reactor_temperature", title="two events")\n'
        'counts.add_class("smartlab-conventions-counts")\n'
        'counts.add_document("start", {"uid": "s"})\n'
        'units = {"reactor_temperature": {"units": "degC", "dtype": "number", "shape": []}}\n'
        'counts.add_document("descriptor", {"uid": "d", "name": "primary", "data_keys": units})\n'
        "for i, value in enumerate([41.5, 43.0]):\n"
        '    counts.add_document("event", {"descriptor": "d", "seq_num": i + 1,\n'
        '                                  "data": {"reactor_temperature": value}})\n'
        'heat = LivePlot(lab, y="spectrometer_spectrum", kind="heatmap", title="spectra")\n'
        'heat.add_class("smartlab-conventions-heatmap")\n'
        "display(counts, heat)",
        "# four runs; the last one paused during its hold (flagged in the RunBrowser)\n"
        'for i, (name, temperature) in enumerate([("alpha", 40), ("gamma", 70), ("beta", 55)]):\n'
        "    recipe = Recipe({'a': 2.0 + i, 'b': 2.0}, temperature_c=temperature, hold_s=30)\n"
        "    # the LIMS link registers each run's sample and names it in sample_ids\n"
        "    lab.submit(measure_recipe(recipe, **bench), campaign_id=name).wait(120)\n"
        "held = lab.submit(measure_recipe(Recipe({'a': 1.0, 'b': 1.0}, temperature_c=45,\n"
        '    hold_s=3000), **bench), campaign_id="delta")\n'
        'while lab.devices["reactor"].hold.seconds.get() != 3000:\n'
        "    time.sleep(0.05)\n"
        'lab.pause(reason="checking the stirrer")\n'
        'while held.state != "paused":\n'
        "    time.sleep(0.05)\n"
        "lab.resume()\n"
        "held.wait(120)\n"
        "lab.wait(60)\n"
        'print("runs done")',
        "browser = RunBrowser(lab)\nbrowser.search()\nbrowser",
        "planner = bench_planner(seed=3, initial_design=2)\n"
        "review = PlannerReview(planner, lab=lab)\nreview",
        _FAKE_QUEUE + "\nqueue = QueueWidget(FakeQueue())\nqueue",
        'monitor = LabMonitor(lab.room, operator="ta")\n'
        'monitor.add_class("smartlab-lab-monitor")\nmonitor',
        'tracker = SampleTracker(lab.lims, operator="ta")\n'
        'tracker.add_class("smartlab-sample-tracker")\ntracker',
    ]
    return dict(_monitor.python3_notebook(cells))


def _shot(locator: Locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"conventions_{name}.png"))


def _right(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None, locator
    return float(box["x"] + box["width"])


def _ticks(plot: Locator, axis: str) -> list[float]:
    text = plot.get_attribute(f"data-{axis}-ticks") or ""
    return [float(v) for v in text.split(",") if v]


def test_widget_conventions_in_jupyterlab(jupyter: tuple[str, str], tmp_path: Path) -> None:
    base, token = jupyter
    _monitor._upload(base, token, NOTEBOOK, _notebook(tmp_path / "lab"))
    _monitor.in_chromium(lambda page: _drive(page, base, token), WIDTH, 1000, "conventions_failure")


def _drive(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    try:  # JupyterLab may ask which kernel to start: the notebook's own (python3)
        page.click(".jp-Dialog .jp-mod-accept", timeout=10_000)
    except Exception as exc:  # no dialog: the kernel started by itself
        if "Timeout" not in type(exc).__name__:
            raise
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    # Keep every cell in the DOM (the fixture's settings) and run them all.
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    expect(page.locator(".jp-OutputArea").filter(has_text="runs done")).to_have_count(
        1, timeout=240_000
    )
    expect(page.locator(".smartlab-sample-tracker")).to_be_visible(timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)

    _device_panel(page)
    _live_plots(page)
    _run_browser(page)
    _queue_widget(page)
    _lab_monitor(page)
    _sample_tracker(page)
    _planner_review(page)  # last: its campaign runs on the lab
    closed = _monitor._run_new_cell(
        page, 'monitor.close()\nheat.close()\nlab.close()\nprint("lab closed")'
    )
    expect(closed).to_contain_text("lab closed", timeout=60_000)


def _device_panel(page: Page) -> None:
    """Enter submits; a refused entry is marked at its field and says what is allowed."""
    panel = page.locator(".smartlab-device-panel")
    entry = panel.locator(".smartlab-entry-setpoint")
    field = panel.locator(".smartlab-field-message-setpoint")
    expect(panel.locator(".smartlab-label-setpoint")).to_have_text("Setpoint (degC)")
    expect(panel.locator(".smartlab-label-hold-seconds")).to_have_text("Hold (s)")
    # Keys typed in the field stay there: in command mode "d d" deletes a cell, "a" adds one.
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    entry.locator("input").click()
    entry.locator("input").press_sequentially("ddab")
    expect(entry.locator("input")).to_have_value("ddab")
    page.wait_for_timeout(500)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells, "keys reached JupyterLab"
    entry.locator("input").fill("hot")
    entry.locator("input").press("Enter")  # no click on Set
    expect(field).to_have_text(
        "'hot' is not a number: enter a number from 15 to 150 degC", timeout=20_000
    )
    expect(entry.locator("input")).to_have_css("border-top-color", RED)
    expect(panel.locator(".smartlab-device-message")).to_have_text("")  # not beside Stop
    # the message is beside its field, on the same row
    entry_box, field_box = entry.bounding_box(), field.bounding_box()
    assert entry_box is not None and field_box is not None
    assert abs(entry_box["y"] - field_box["y"]) < entry_box["height"], (entry_box, field_box)
    _shot(panel, "device_panel_refused")
    entry.locator("input").fill("60")
    entry.locator("input").press("Enter")
    expect(field).to_contain_text("60 degC", timeout=20_000)
    expect(field.locator(".smartlab-error")).to_have_count(0)
    expect(entry.locator("input")).not_to_have_css("border-top-color", RED)
    expect(panel.locator(".smartlab-readback-setpoint")).to_have_text("60 degC")
    _shot(panel, "device_panel_moving")


def _live_plots(page: Page) -> None:
    """Counts at whole numbers; units on the axis; the heatmap's colour bar."""
    counts = page.locator(".smartlab-conventions-counts .smartlab-live-plot")
    expect(counts).to_have_attribute("data-points", "2", timeout=30_000)
    x_ticks = _ticks(counts, "x")
    assert x_ticks and all(v.is_integer() for v in x_ticks), x_ticks
    _shot(counts, "live_plot_counts")
    heat = page.locator(".smartlab-conventions-heatmap .smartlab-live-plot")
    expect(heat).to_have_attribute("data-points", "4", timeout=30_000)
    assert " to " in (heat.get_attribute("data-colourbar") or ""), "no colour bar"
    y_ticks = _ticks(heat, "y")
    assert y_ticks and all(v.is_integer() for v in y_ticks), y_ticks
    _shot(heat, "live_plot_heatmap")


def _run_browser(page: Page) -> None:
    """A sortable table; two runs compared; the paused run flagged."""
    browser = page.locator(".smartlab-run-browser")
    table = browser.locator(".smartlab-run-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    campaigns = table.locator("tbody .smartlab-cell-campaign")
    assert campaigns.all_inner_texts() == ["delta", "beta", "gamma", "alpha"]  # newest first
    flagged = table.locator(".smartlab-run-interrupted")
    expect(flagged).to_have_count(1)
    expect(flagged.locator(".smartlab-interrupted-badge")).to_have_text("⚠ paused 1x")
    expect(flagged.locator(".smartlab-cell-campaign")).to_have_text("delta")
    outcomes = table.locator("tbody .smartlab-cell-outcome")
    expect(outcomes.first).not_to_have_text("", timeout=30_000)  # read in the background

    table.locator(".smartlab-sort-campaign").click()
    expect(campaigns.first).to_have_text("alpha", timeout=20_000)
    assert campaigns.all_inner_texts() == ["alpha", "beta", "delta", "gamma"]
    expect(table.locator("th[aria-sort='ascending']")).to_contain_text("Campaign ▲")
    table.locator(".smartlab-sort-campaign").click()
    expect(campaigns.first).to_have_text("gamma", timeout=20_000)
    assert campaigns.all_inner_texts() == ["gamma", "delta", "beta", "alpha"]

    rows.nth(0).click()
    expect(browser.locator(".smartlab-run-details")).to_contain_text("gamma")
    rows.nth(3).click(modifiers=["Control"])
    details = browser.locator(".smartlab-run-details")
    expect(details).to_contain_text("2 runs side by side", timeout=20_000)
    expect(details).to_contain_text("alpha")
    expect(details).to_contain_text("gamma")
    expect(table.locator("tr.smartlab-selected")).to_have_count(2)
    expect(browser.locator("img")).to_be_visible()
    assert '"' not in details.inner_text(), "values in words, not JSON"
    _shot(browser, "run_browser")


def _queue_widget(page: Page) -> None:
    """Remove asks first; Cancel keeps the item; the state in words and colour."""
    queue = page.locator(".smartlab-queue")
    state = queue.locator(".smartlab-queue-state")
    expect(state).to_have_text("running the queue")
    expect(state).to_have_css("color", "rgb(27, 122, 27)")
    assert "executing_queue" not in queue.inner_text()
    items = queue.locator("select option")
    expect(items).to_have_count(3)
    queue.locator("select").select_option(index=1)  # 2. ... by bob
    queue.locator(".smartlab-queue-remove").click()
    confirm = queue.locator(".smartlab-queue-confirm-remove")
    expect(confirm).to_be_visible(timeout=20_000)
    expect(queue).to_contain_text("Remove 2. measure_recipe(hold_s=120) by bob?")
    expect(items).to_have_count(3)  # nothing removed yet
    _shot(queue, "queue_confirm_remove")
    queue.locator(".smartlab-queue-cancel-remove").click()
    expect(confirm).to_be_hidden()
    expect(items).to_have_count(3)
    queue.locator(".smartlab-queue-remove").click()
    confirm.click()
    expect(items).to_have_count(2, timeout=20_000)
    expect(queue).to_contain_text("removed measure_recipe(hold_s=120) by bob")
    _shot(queue, "queue")


def _lab_monitor(page: Page) -> None:
    """Readable values; the energy button's whole label."""
    monitor = page.locator(".smartlab-lab-monitor")
    expect(monitor.locator("table")).to_contain_text("Power", timeout=60_000)
    assert "e+0" not in monitor.locator("table").inner_text()
    expect(monitor.locator("table")).to_contain_text(" kW")
    button = monitor.locator(".smartlab-energy-update")
    expect(button).to_contain_text("Update energy chart")
    fits = button.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert fits, "the energy button's label is cut off"
    _shot(monitor, "lab_monitor")
    # The monitor is taller than the page: the energy chart and its button on their own.
    button.scroll_into_view_if_needed()
    chart, under = monitor.locator("img").last.bounding_box(), button.bounding_box()
    assert chart is not None and under is not None
    bottom = under["y"] + under["height"] + 4
    page.screenshot(
        path=str(ARTIFACTS / "conventions_lab_monitor_energy.png"),
        clip={"x": chart["x"], "y": chart["y"] - 4, "width": 520, "height": bottom - chart["y"]},
    )


def _sample_tracker(page: Page) -> None:
    """Finding 5 in the browser: SampleTracker(lab.lims); the list follows each change."""
    tracker = page.locator(".smartlab-sample-tracker")
    tracker.locator(".widget-text").filter(has_text="Type").first.locator("input").fill("mixture")
    tracker.get_by_role("button", name="Register").click()
    expect(tracker).to_contain_text("registered S-", timeout=20_000)
    listed = tracker.locator(".widget-select select option")  # not the State dropdown
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("mixture")
    before = listed.first.inner_text()
    state = "prepared"  # registered -> prepared: the sample's first transition button
    tracker.get_by_role("button", name=state, exact=True).click()
    expect(tracker).to_contain_text(f"is now {state}", timeout=20_000)
    expect(listed.first).to_contain_text(f"[{state}]")  # the list was read again
    assert listed.first.inner_text() != before
    _shot(tracker, "sample_tracker")


def _planner_review(page: Page) -> None:
    """No data yet; Reject on screen at 1280 px; ids on one line; a campaign's row locked."""
    review = page.locator(".smartlab-planner-review")
    expect(review).to_contain_text("no data yet")
    expect(review.locator("img")).to_be_hidden()  # no empty 0-1 axes
    review.locator(".smartlab-suggest").click()
    expect(review.locator(".smartlab-accept")).to_have_count(2, timeout=90_000)
    review.scroll_into_view_if_needed()
    for reject in review.locator(".smartlab-reject").all():
        assert _right(reject) <= WIDTH, "Reject is off-screen"
        assert reject.is_visible()
    ident = review.locator(".smartlab-suggestion-id code").first
    assert ident.evaluate("el => getComputedStyle(el).whiteSpace") == "nowrap"
    line = float(ident.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 16"))
    box = ident.bounding_box()
    assert box is not None and box["height"] < 1.8 * line, box  # one line
    _shot(review, "planner_review_1280")

    # Finding 4: a campaign on the lab holds its own suggestion; the row says so, locked.
    _monitor._run_new_cell(
        page, 'locked = lab.submit(campaign(lab, planner, budget=2, campaign_id="locked"))'
    )
    held = review.locator(".smartlab-row-actions").filter(has_text="running as experiment")
    try:
        expect(held.first).to_contain_text("of 2", timeout=120_000)
    except AssertionError:
        _shot(review, "planner_review_not_locked")
        said = _monitor._run_new_cell(
            page, "print('campaign', locked.state, locked.error, planner.history[-3:])"
        )
        expect(said).to_contain_text("campaign", timeout=30_000)
        raise AssertionError(f"no locked row; the lab says: {said.inner_text()}") from None
    held = held.first
    expect(held.locator(".smartlab-accept")).to_be_disabled()
    expect(held.locator(".smartlab-reject")).to_be_disabled()
    _shot(review, "planner_review_locked")
    done = _monitor._run_new_cell(
        page, 'locked.wait(300)\nlab.wait(60)\nprint("campaign", locked.state)'
    )
    expect(done).to_contain_text("campaign finished", timeout=300_000)
    expect(review).not_to_contain_text("no data yet", timeout=30_000)
    expect(review.locator("img")).to_be_visible()
    _shot(review, "planner_review_data")
