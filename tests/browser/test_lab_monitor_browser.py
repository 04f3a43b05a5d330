"""LabMonitor in a real browser: JupyterLab 4 + headless Debian chromium via playwright.

Reuses the JupyterLab server fixture of ``test_notebook_widgets.py`` (a free
localhost port, a random token, a kernelspec running this repository's Python).
Uploads a notebook that starts a simulated lab with its room, shows
``LabMonitor(lab.room, operator="ta")`` and makes hood_1's exhaust fan fail.
In the browser: runs all cells, waits for the live values and the alarm row,
acknowledges the alarm through the widget's form, then checks the page and,
in cells typed into the notebook, the alarm log; the last cell closes the lab.
Screenshots: ``tests/artifacts/lab_monitor.png`` and ``lab_monitor_acknowledged.png``.

Skipped when chromium or jupyter is missing, unless ``CI=true`` (then it fails).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import nbformat
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
jupyter = _widgets.jupyter  # the module-scoped JupyterLab server fixture: (base url, token)
ARTIFACTS: Path = _widgets.ARTIFACTS
CHROMIUM: Path = _widgets.CHROMIUM
CHROMIUM_ARGS: list[str] = _widgets.CHROMIUM_ARGS

NOTEBOOK = "lab_monitor_browser_test.ipynb"
OPERATOR = "ta"
COMMENT = "fan belt replaced (browser test)"
ALARM_SOURCE = "interlock:hood_1_face_velocity"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _notebook(directory: Path) -> dict[str, Any]:
    """The notebook run in the browser; the check and close cells are typed in later."""
    cells = [
        "import time\n"
        "from pathlib import Path\n\n"
        "from smartlab_kernel import Lab\n"
        "from smartlab_kernel.widgets.lab_monitor import LabMonitor\n\n"
        f"lab = Lab.simulated(seed=0, directory=Path({str(directory)!r}), "
        "time_scale=1000, room=True)",
        f"monitor = LabMonitor(lab.room, operator={OPERATOR!r})\n"
        'monitor.add_class("smartlab-lab-monitor")\n'
        "monitor",
        "# the exhaust fan of hood_1 fails: the face-velocity interlock trips, an alarm is raised\n"
        'lab.room.room.hoods["hood_1"].faults.inject("fan_failure")\n'
        'print("fan failure injected")',
    ]
    return python3_notebook(cells)


def python3_notebook(cells: list[str]) -> dict[str, Any]:
    """A notebook of these code cells on the server's python3 kernel (this repository's Python).

    Shared by the browser tests that upload a notebook of their own.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (smartlab test)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.validate(nb)
    return dict(json.loads(nbformat.writes(nb)))


def in_chromium(drive: Callable[[Page], None], width: int, height: int, failure: str) -> None:
    """Run ``drive(page)`` on a page of headless chromium ``width`` x ``height`` px.

    If it raises, a full-page screenshot goes to ``tests/artifacts/<failure>.png``.
    Shared by the browser tests.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(60_000)
        try:
            drive(page)
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{failure}.png"), full_page=True)
            raise
        finally:
            browser.close()


def _upload(base: str, token: str, path: str, content: dict[str, object]) -> None:
    """Save a notebook on the server through its contents API."""
    body = json.dumps({"type": "notebook", "format": "json", "content": content}).encode()
    request = urllib.request.Request(
        f"{base}/api/contents/{path}",
        data=body,
        method="PUT",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status in (200, 201), reply.status


def _shot(locator: Locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_lab_monitor_acknowledge_in_jupyterlab(jupyter: tuple[str, str], tmp_path: Path) -> None:
    base, token = jupyter
    _upload(base, token, NOTEBOOK, _notebook(tmp_path / "lab"))
    # Tall enough that the whole widget (values, alarms, energy chart) fits on screen.
    in_chromium(lambda page: _drive(page, base, token), 1400, 2000, "lab_monitor_failure")


def _open_and_run_all(page: Page, base: str, token: str, notebook: str = NOTEBOOK) -> None:
    page.goto(f"{base}/lab/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    try:  # JupyterLab may ask which kernel to start: the notebook's own (python3)
        page.click(".jp-Dialog .jp-mod-accept", timeout=10_000)
    except Exception as exc:  # no dialog: the kernel started by itself
        if "Timeout" not in type(exc).__name__:
            raise
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")


def _run_new_cell(page: Page, source: str) -> Locator:
    """Append a code cell at the end of the notebook, type ``source``, run it; its outputs."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    count = cells.count()
    page.locator(".jp-Notebook-footer").click()  # "Click to add a cell."
    cell = cells.nth(count)
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(source)  # no key events: no auto-closed brackets
    page.keyboard.press("Control+Enter")  # run, stay on this cell
    return cell.locator(".jp-OutputArea")


def _drive(page: Page, base: str, token: str) -> None:
    from playwright.sync_api import expect

    _open_and_run_all(page, base, token)

    monitor = page.locator(".smartlab-lab-monitor")
    # Starting the kernel and the simulated lab can take a while on a busy machine.
    expect(monitor).to_be_visible(timeout=180_000)
    values = monitor.locator("table")
    expect(values).to_contain_text("Hood 1 face velocity")
    expect(values).to_contain_text("Power")
    expect(values).to_contain_text("kW")  # 5.47 kW, not 5.47e+03
    # The interlock trips on the room's monitor thread; the widget hears of it on the
    # kernel's loop: the banner over the values table and a row in the alarm list.
    expect(monitor).to_contain_text("Interlocks tripped", timeout=60_000)
    row = monitor.locator(".widget-hbox").filter(has_text=ALARM_SOURCE)
    expect(row).to_have_count(1, timeout=60_000)
    expect(row).to_contain_text("warning, active")
    expect(row).not_to_contain_text("acknowledged by")
    row_button = row.get_by_role("button", name="Acknowledge")
    expect(row_button).to_be_enabled()
    alarm_id = row.inner_text().split()[1]  # "Acknowledge A0001 [warning, ...": after the button
    assert alarm_id.startswith("A"), row.inner_text()
    _shot(monitor, "lab_monitor")

    row_button.click()
    form_buttons = monitor.locator(".widget-hbox").filter(
        has=page.get_by_role("button", name="Cancel")
    )
    confirm = form_buttons.get_by_role("button", name="Acknowledge")
    expect(confirm).to_be_visible(timeout=20_000)
    expect(monitor).to_contain_text(f"Acknowledge {alarm_id}:")
    who = monitor.locator(".widget-text input")
    expect(who).to_be_visible()
    if who.input_value() != OPERATOR:  # LabMonitor(operator="ta") pre-fills it
        who.fill(OPERATOR)
    expect(who).to_have_value(OPERATOR)
    monitor.locator(".widget-textarea textarea").fill(COMMENT)
    confirm.click()

    expect(row).to_contain_text(f"acknowledged by {OPERATOR}", timeout=20_000)
    expect(row_button).to_be_disabled()
    expect(confirm).to_be_hidden()
    expect(monitor).not_to_contain_text("say who acknowledges")
    _shot(monitor, "lab_monitor_acknowledged")

    by = _run_new_cell(page, "print([a.acknowledged_by for a in lab.room.alarms.all()])")
    expect(by).to_contain_text(f"['{OPERATOR}']", timeout=30_000)
    comments = _run_new_cell(
        page, "print([(a.alarm_id, a.source, a.comment) for a in lab.room.alarms.all()])"
    )
    expect(comments).to_contain_text(f"[('{alarm_id}', '{ALARM_SOURCE}', '{COMMENT}')]")
    closed = _run_new_cell(page, 'monitor.close()\nlab.close()\nprint("lab closed")')
    expect(closed).to_contain_text("lab closed", timeout=60_000)
