"""RunControl and PlannerReview in a real browser, 1280 px wide (issue 18 findings 7 and 9).

JupyterLab 4 + headless Debian chromium via playwright, with the JupyterLab
server fixture of ``test_notebook_widgets.py``. Uploads a notebook that opens a
simulated lab with its room (hoods, interlocks), shows a RunControl, and a
PlannerReview whose user ("alice") has rejected one of two suggestions. Then:

- a plan runs into its reactor hold and hood 1's fan fails: RunControl says
  "suspended" in the suspension's colour with the interlock's justification,
  and its clock stands still while the plan is held;
- the fan is mended, the plan goes on and is paused: "paused", in its colour,
  the clock stopped; Abort (confirmed in the widget) ends it;
- the rejected suggestion is still in the review, greyed, with "rejected by
  alice, <when>: <reason>".

Screenshots go to ``tests/artifacts/run_control_*.png`` and
``tests/artifacts/planner_review_rejected.png``. Skipped when chromium or
jupyter is missing, unless ``CI=true`` (then it fails).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
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

NOTEBOOK = "run_control_review_browser_test.ipynb"
WIDTH = 1280


def _rgb(colour: str) -> str:
    """``"#d84315"`` -> ``"rgb(216, 67, 21)"``, as the browser computes it."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _notebook(directory: Path) -> dict[str, Any]:
    cells = [
        "from pathlib import Path\n\n"
        "from smartlab_kernel import Lab\n"
        "from smartlab_kernel.campaign.loop import bench_planner\n"
        "from smartlab_kernel.plans import Recipe, measure_recipe\n"
        "from smartlab_kernel.widgets import PlannerReview, RunControl\n\n"
        f"lab = Lab.simulated(seed=0, directory=Path({str(directory)!r}), time_scale=1000,\n"
        "    room=True)\n"
        'bench = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}\n'
        'hood = lab.room.room.hoods["hood_1"]',
        "control = RunControl(lab)\ncontrol",
        "planner = bench_planner(seed=3, initial_design=2)\n"
        'review = PlannerReview(planner, user="alice")\n'
        "first, second = review.suggest(2).result(60)\n"
        'review.reject(first.id, "vial rack full")\n'
        "review",
    ]
    return dict(_monitor.python3_notebook(cells))


def _shot(locator: Locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_run_control_and_review_in_jupyterlab(jupyter: tuple[str, str], tmp_path: Path) -> None:
    base, token = jupyter
    _monitor._upload(base, token, NOTEBOOK, _notebook(tmp_path / "lab"))
    _monitor.in_chromium(lambda page: _drive(page, base, token), WIDTH, 1000, "run_control_failure")


def _drive(page: Page, base: str, token: str) -> None:
    from smartlab_kernel.widgets.planner_review import REJECTED_COLOUR
    from smartlab_kernel.widgets.run_control import STATE_COLOURS

    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    try:  # JupyterLab may ask which kernel to start: the notebook's own (python3)
        page.click(".jp-Dialog .jp-mod-accept", timeout=10_000)
    except Exception as exc:  # no dialog: the kernel started by itself
        if "Timeout" not in type(exc).__name__:
            raise
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    control = page.locator(".smartlab-run-control")
    review = page.locator(".smartlab-planner-review")
    expect(review.locator(".smartlab-rejected-status")).to_have_count(1, timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    state = control.locator(".smartlab-run-state")
    expect(state).to_have_text("idle")

    # A plan in its reactor hold; hood 1's fan fails: the interlock suspends it.
    said = _monitor._run_new_cell(
        page,
        "import time\n"
        "run = lab.submit(measure_recipe(Recipe({'a': 2.0, 'b': 2.0}, temperature_c=50,\n"
        "    hold_s=60_000), **bench))\n"
        'while lab.devices["reactor"].hold.seconds.get() != 60_000:\n'
        "    time.sleep(0.02)\n"
        "time.sleep(2.5)  # the clock runs a little first\n"
        'hood.faults.inject("fan_failure")\n'
        "while run.interruption is None:\n"
        "    time.sleep(0.02)\n"
        'print("suspended", run.state)',
    )
    expect(said).to_contain_text("suspended running", timeout=60_000)
    expect(state).to_have_text("suspended", timeout=20_000)
    expect(state.locator("span")).to_have_css("color", _rgb(STATE_COLOURS["suspended"]))
    held = control.locator(".smartlab-run-interruption")
    expect(held).to_contain_text("suspended by interlock hood_1_face_velocity tripped")
    expect(held).to_contain_text("goes on by itself")
    expect(held.locator("span")).to_have_css("color", _rgb(STATE_COLOURS["suspended"]))
    expect(control).to_contain_text("0 / 1 points")
    clock = _stands_still(control)
    _shot(control, "run_control_suspended")

    # Mended: the plan goes on by itself; then paused from the notebook.
    said = _monitor._run_new_cell(
        page,
        'hood.faults.clear("fan_failure")\n'
        "while run.interruption is not None:\n"
        "    time.sleep(0.02)\n"
        "time.sleep(2.0)  # the clock goes on once the plan does\n"
        'lab.pause(reason="checking the stirrer")\n'
        'while run.state != "paused":\n'
        "    time.sleep(0.02)\n"
        'print("now", run.state)',
    )
    expect(said).to_contain_text("now paused", timeout=60_000)
    expect(state).to_have_text("paused", timeout=20_000)
    expect(state.locator("span")).to_have_css("color", _rgb(STATE_COLOURS["paused"]))
    expect(held).to_contain_text("paused (checking the stirrer)")
    expect(control).to_contain_text("0 / 1 points")  # the interruptions are no points
    paused_clock = _stands_still(control)
    assert _seconds(clock) >= 2, f"the clock ran before the trip: {clock}"
    assert _seconds(paused_clock) > _seconds(clock), f"and after it: {clock} -> {paused_clock}"
    _shot(control, "run_control_paused")

    control.locator(".smartlab-abort").click()
    control.locator(".smartlab-confirm-abort").click()
    expect(state).to_have_text("aborted", timeout=60_000)
    expect(control.locator(".smartlab-run-error")).to_contain_text("aborted")
    _shot(control, "run_control_aborted")

    # The rejected suggestion is still in the review: greyed, why, who and when.
    rejected = review.locator(".smartlab-rejected-status")
    expect(rejected).to_have_count(1)
    assert re.search(
        r"rejected by alice, \d{4}-\d\d-\d\d \d\d:\d\d UTC: vial rack full", rejected.inner_text()
    ), rejected.inner_text()
    expect(rejected).to_have_css("color", _rgb(REJECTED_COLOUR))
    greyed = review.locator(".smartlab-rejected-row code")
    expect(greyed).to_have_css("color", _rgb(REJECTED_COLOUR))
    expect(review.locator(".smartlab-accept")).to_have_count(1)  # the other one is still open
    assert _widgets._right(rejected) <= WIDTH
    _shot(review, "planner_review_rejected")

    closed = _monitor._run_new_cell(page, 'lab.close()\nprint("lab closed")')
    expect(closed).to_contain_text("lab closed", timeout=60_000)


def _clock_text(control: Locator) -> str:
    text = control.locator(".smartlab-run-timing").inner_text()
    match = re.search(r"elapsed ([^(,]+)", text)
    assert match, text
    return match.group(1).strip()


def _seconds(clock: str) -> float:
    """``"1 min 5 s"`` or ``"3 s"`` -> seconds (as :func:`_format.duration` writes them)."""
    units = {"h": 3600.0, "min": 60.0, "s": 1.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)\s*(h|min|s)\b", clock))


def _stands_still(control: Locator) -> str:
    """The elapsed clock shown, the same 2 s later (the widget ticks every 0.5 s)."""
    before = _clock_text(control)
    time.sleep(2.0)
    after = _clock_text(control)
    assert after == before, f"the clock ran on while held: {before} -> {after}"
    return after
