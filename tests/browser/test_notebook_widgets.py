"""The widgets in a real browser: JupyterLab 4 + headless Debian chromium via playwright.

Starts JupyterLab on a free localhost port with a random token, on a temporary
copy of ``notebooks/``, with a kernelspec that runs this repository's Python.
Runs ``01_getting_started.ipynb``, pauses and resumes the plan from RunControl,
edits a planner suggestion (a bad value first), accepts it and sees it run.
Then, in the same notebook: the reactor's DevicePanel refuses 500 degC (an
error, nothing moves), follows a valid setpoint and stops; ``dashboard(lab,
planner)`` typed into a cell follows a short campaign live (progress, best so
far, live plot, planner tab) and aborts a plan from its RunControl; the
RunBrowser searches again and by status and campaign, and its table filters.
Saves a screenshot of each widget under ``tests/artifacts/``.

Skipped when chromium or jupyter is missing, unless ``CI=true`` (then it fails).
Install chromium with ``apt-get install -y chromium`` (never a playwright download).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smartlab_kernel.testing import missing_component, require_module

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("SMARTLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOTEBOOK = "01_getting_started.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


_missing = missing_component


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a temp copy of notebooks/; yields (base url, token)."""
    if not CHROMIUM.exists():
        _missing(f"no chromium at {CHROMIUM}: install it with `apt-get install -y chromium`")
    jupyter_bin = Path(sys.executable).with_name("jupyter")
    if (
        not jupyter_bin.exists()
        or shutil.which("jupyter-lab", path=str(jupyter_bin.parent)) is None
    ):
        _missing(f"jupyterlab is not installed next to {sys.executable}")
    require_module("playwright.sync_api", "pip install playwright")
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    env = {
        **os.environ,
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        # JUPYTER_PATH comes first even where the venv's own kernelspecs are preferred.
        "JUPYTER_PATH": str(tmp / "data"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "SMARTLAB_OPERATOR": "browser-test",
    }
    # The kernel must be this repository's Python, whatever else is installed.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipykernel",
            "install",
            "--user",
            "--name",
            "python3",
            "--display-name",
            "Python 3 (smartlab test)",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    spec = json.loads((tmp / "data" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    settings = tmp / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    # Keep every cell in the DOM so widgets far down the page can be found and shot.
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    (tmp / "config" / "labconfig").mkdir(parents=True)
    (tmp / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = (tmp / "jupyter.log").open("w")
    server = subprocess.Popen(
        [
            str(jupyter_bin),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp / 'ws'}",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not start: {(tmp / 'jupyter.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}") as reply:
            specs = json.load(reply)["kernelspecs"]
        assert specs["python3"]["spec"]["argv"][0] == sys.executable, specs["python3"]
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _shot(locator: Locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def expect(target: Any) -> Any:
    """playwright's ``expect``, imported late: playwright is an optional test dependency."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


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


def _number(text: str) -> float:
    """The number a readback shows: ``"54.98 degC"`` -> 54.98."""
    return float(text.split()[0])


def _right(locator: Locator) -> float:
    """Where the element's right edge is on the page, in pixels."""
    box = locator.bounding_box()
    assert box is not None, locator
    return float(box["x"] + box["width"])


def _observed(summary: str) -> int:
    """The dashboard summary's count of experiments observed."""
    match = re.search(r"(\d+) experiment\(s\) observed", summary)
    assert match is not None, summary
    return int(match.group(1))


def test_notebook_widgets_in_jupyterlab(jupyter: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, token = jupyter
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # Tall enough for the dashboard's planner tab (table and plots) in one screenshot.
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        try:
            _drive(page, base, token)
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _drive(page: Page, base: str, token: str) -> None:
    _run_notebook_control_and_review(page, base, token)
    # The plan above is finished: the lab is idle, so the DevicePanel may move the reactor.
    _device_panel_refuses_then_moves_then_stops(page)
    _dashboard_follows_a_campaign(page)
    _run_browser_filters(page)
    closed = _run_new_cell(page, 'board.close()\nlab.close()\nprint("lab closed")')
    expect(closed).to_contain_text("lab closed", timeout=60_000)


def _run_notebook_control_and_review(page: Page, base: str, token: str) -> None:
    """Run the notebook; Pause / Resume in RunControl; edit and accept a suggestion."""
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    try:  # JupyterLab may ask which kernel to start: the notebook's own (python3)
        page.click(".jp-Dialog .jp-mod-accept", timeout=15_000)
    except Exception as exc:  # no dialog: the kernel started by itself
        if "Timeout" not in type(exc).__name__:
            raise
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

    control = page.locator(".smartlab-run-control")
    state = control.locator(".smartlab-run-state")
    expect(state).to_contain_text("running", timeout=120_000)
    # Pause during the reactor hold (hold.seconds = 3001 s), not in a robot move.
    hold = page.locator(".smartlab-readback-hold-seconds")
    expect(hold).to_contain_text("3001", timeout=60_000)
    _shot(page.locator(".smartlab-device-panel"), "device_panel")

    control.locator(".smartlab-pause").click()
    expect(state).to_contain_text("paused", timeout=20_000)
    expect(control).to_contain_text("paused by the operator")
    _shot(control, "run_control_paused")
    control.locator(".smartlab-resume").click()
    expect(state).not_to_contain_text("paused", timeout=20_000)
    # the hold goes on for its remaining time and the pause is said afterwards
    expect(control).to_contain_text("interrupted 1 time", timeout=20_000)
    expect(state).to_contain_text("finished", timeout=90_000)
    _shot(control, "run_control")

    plots = page.locator(".smartlab-live-plot")
    expect(plots.first).to_have_attribute("data-points", "5", timeout=30_000)
    assert int(plots.first.get_attribute("data-frames") or 0) >= 2
    _shot(plots.nth(0), "live_plot_readout")
    _shot(plots.nth(1), "live_plot_spectra")
    _shot(page.locator(".smartlab-run-browser"), "run_browser")

    review = page.locator(".smartlab-planner-review")
    expect(review.locator(".smartlab-accept").first).to_be_visible(timeout=90_000)
    cell = review.locator(".smartlab-cell-temperature_c input").first
    message = review.locator(".smartlab-planner-message")
    cell.fill("999")
    review.locator(".smartlab-accept").first.click()
    expect(message).to_contain_text("outside its bounds", timeout=20_000)
    _shot(review, "planner_review_bad_edit")
    cell.fill("55")
    review.locator(".smartlab-accept").first.click()
    executed = review.locator(".smartlab-executed")
    expect(executed).to_contain_text("55", timeout=20_000)
    expect(executed).to_contain_text("run running", timeout=60_000)
    expect(state).to_contain_text("running", timeout=20_000)
    expect(control).to_contain_text("measure_recipe")
    expect(executed).to_contain_text("run finished", timeout=60_000)
    _shot(review, "planner_review")
    _shot(control, "run_control_suggestion_finished")


def _device_panel_refuses_then_moves_then_stops(page: Page) -> None:
    """The reactor's DevicePanel: 500 degC refused with nothing moving; 120 degC followed; Stop."""
    panel = page.locator(".smartlab-device-panel")  # the notebook's only one: the reactor's
    message = panel.locator(".smartlab-device-message")
    setpoint = panel.locator(".smartlab-readback-setpoint")
    temperature = panel.locator(".smartlab-readback-temperature")

    def enter(signal: str, text: str) -> None:
        row = panel.locator(".widget-hbox").filter(has=page.locator(f".smartlab-entry-{signal}"))
        row.locator("input").fill(text)
        row.get_by_role("button", name="Set").click()

    expect(setpoint).to_contain_text("degC")
    setpoint_before, temperature_before = setpoint.inner_text(), temperature.inner_text()

    enter("setpoint", "500")
    field = panel.locator(".smartlab-field-message-setpoint")
    expect(field.locator(".smartlab-error")).to_contain_text(
        "500 degC is too high: enter a number from 15 to 150 degC", timeout=20_000
    )
    expect(message).to_have_text("")  # said at the field, not beside Stop
    page.wait_for_timeout(1_500)  # six polls of the readbacks
    assert setpoint.inner_text() == setpoint_before, "a refused setpoint changed the setpoint"
    assert temperature.inner_text() == temperature_before, "the reactor moved after a refusal"
    _shot(panel, "device_panel_refused")

    # Slow the reactor down (time constant 3600 s: ~40 s to 120 degC at 400x) so that
    # the temperature readback can be watched on its way, and Stop has a move to stop.
    enter("time_constant", "3600")
    expect(panel.locator(".smartlab-readback-time_constant")).to_have_text("3600 s")
    enter("setpoint", "120")
    expect(field).to_contain_text("moving to 120 degC", timeout=20_000)
    expect(field.locator(".smartlab-error")).to_have_count(0)
    expect(setpoint).to_have_text("120 degC")
    start = _number(temperature.inner_text())
    seen = [start]
    deadline = time.monotonic() + 30
    while seen[-1] < start + 5:  # the readback follows the setpoint, upwards
        assert time.monotonic() < deadline, f"temperature readback did not follow: {seen}"
        page.wait_for_timeout(250)
        seen.append(_number(temperature.inner_text()))
    assert seen[-1] < 120, f"reached the setpoint too soon to stop the move: {seen}"
    _shot(panel, "device_panel_moving")

    panel.locator(".smartlab-device-stop").click()
    expect(message).to_contain_text("reactor stopped", timeout=20_000)
    expect(field).not_to_contain_text("moving")
    _shot(panel, "device_panel_stopped")
    enter("time_constant", "60")  # back to the notebook's reactor for the campaign below
    expect(panel.locator(".smartlab-readback-time_constant")).to_have_text("60 s")


def _dashboard_follows_a_campaign(page: Page) -> None:
    """``dashboard(lab, planner)`` from a cell; it follows a 3-experiment campaign live."""
    _run_new_cell(
        page,
        "from smartlab_kernel.campaign.loop import bench_planner, campaign\n"
        "from smartlab_kernel.widgets import dashboard\n\n"
        "board_planner = bench_planner(seed=6, initial_design=3)\n"
        "board = dashboard(lab, board_planner)\n"
        "board",
    )
    board = page.locator(".smartlab-dashboard")
    expect(board).to_be_visible(timeout=60_000)
    summary = board.locator(".smartlab-campaign-summary")
    expect(summary).to_contain_text("3 finished")
    expect(summary).to_contain_text("0 active | 0 experiment(s) observed")
    expect(summary).not_to_contain_text("best so far")
    review = board.locator(".smartlab-planner-review")
    control = board.locator(".smartlab-run-control")
    state = control.locator(".smartlab-run-state")
    counts = control.locator(".widget-html").filter(has_text="points")
    plot = board.locator(".smartlab-live-plot")

    _run_new_cell(
        page,
        "board_run = lab.submit(\n"
        '    campaign(lab, board_planner, budget=3, campaign_id="dashboard-demo")\n'
        ")",
    )
    expect(state).to_contain_text("running", timeout=30_000)
    expect(control).to_contain_text("campaign")
    summaries: list[str] = []
    progress: list[str] = []
    shot_while_running = False
    deadline = time.monotonic() + 150
    while True:
        text, points = summary.inner_text(), counts.inner_text()
        if not summaries or summaries[-1] != text:
            summaries.append(text)
        if "1 active" in text and "best so far" in text and not shot_while_running:
            _shot(board, "dashboard_running")
            shot_while_running = True
        if not progress or progress[-1] != points:
            progress.append(points)
        if "4 finished" in text:
            break
        assert time.monotonic() < deadline, f"campaign did not finish: {summaries}"
        page.wait_for_timeout(200)
    expect(state).to_contain_text("finished")
    # Live while it ran: experiments observed counted up, the best so far appeared and
    # changed before the campaign ended, and RunControl counted the points.
    observed = [_observed(text) for text in summaries]
    assert observed[0] == 0 and observed[-1] == 3 and observed == sorted(observed), summaries
    assert any(0 < _observed(t) < 3 and "1 active" in t for t in summaries), summaries
    bests = {t.split("best so far:")[1] for t in summaries if "best so far" in t}
    assert len(bests) >= 2, summaries  # seed 6: point 2 (75 %) beats the centre (51 %)
    assert len(progress) >= 3, progress
    assert progress[-1] == "3 / 3 points", progress  # the campaign's budget, not one run's
    assert "0 active" in summaries[-1], summaries
    expect(plot).to_have_attribute("data-points", "3", timeout=20_000)
    best = _run_new_cell(
        page,
        "print(len(board_planner.observations), 'observed;', "
        "f\"yield = {board_planner.best()['outcomes']['yield']:.4g}\")",
    )
    expect(best).to_contain_text("3 observed;", timeout=30_000)
    best_text = best.inner_text().split(";")[1].strip()
    expect(summary).to_contain_text(f"best so far: {best_text}")
    _shot(board, "dashboard")

    # The Planner tab followed the campaign too (best-so-far and model plot), and
    # gives the next suggestions, each with its prediction.
    board.locator(".lm-TabBar-tab").filter(has_text="Planner").click()
    expect(review).to_be_visible()
    expect(review).not_to_contain_text("needs two observations", timeout=20_000)
    review.locator(".smartlab-suggest").click()
    expect(review.locator(".smartlab-accept")).to_have_count(2, timeout=90_000)
    expect(review.locator(".smartlab-suggestions")).to_contain_text("±")
    _shot(board, "dashboard_planner")
    # Each row starts with its actions: the reject reason and button are on screen in the
    # dashboard's tab, however wide the parameters make the row (no sideways scrolling).
    reason = review.locator("input[placeholder='reason to reject']").last
    right_edge = _right(board)
    assert _right(review.locator(".smartlab-reject").last) <= right_edge
    assert _right(reason) <= right_edge
    reason.fill("too close to the first one")
    review.locator(".smartlab-reject").last.click()
    expect(review.locator(".smartlab-planner-message")).to_contain_text(
        "too close to the first one"
    )
    expect(review.locator(".smartlab-accept")).to_have_count(1)
    board.locator(".lm-TabBar-tab").filter(has_text="Run").click()

    # A plan aborted from the dashboard's RunControl (confirmation first): a run whose
    # status differs from the rest, for the RunBrowser search below.
    _run_new_cell(
        page,
        'aborted = lab.submit(recipe_scan(long_recipes, **devices), campaign_id="getting-started")',
    )
    expect(state).to_contain_text("running", timeout=30_000)
    expect(page.locator(".smartlab-readback-hold-seconds").first).to_contain_text(
        "3001", timeout=60_000
    )
    control.locator(".smartlab-abort").click()
    expect(control.locator(".smartlab-confirm-abort")).to_be_visible()
    control.locator(".widget-text input").fill("browser test abort")
    control.locator(".smartlab-confirm-abort").click()
    expect(state).to_contain_text("aborted", timeout=30_000)
    expect(control.locator(".smartlab-run-error")).to_contain_text("browser test abort")
    synced = _run_new_cell(
        page, 'await asyncio.to_thread(lab.wait, 60)\nprint("catalog synced", aborted.state)'
    )
    expect(synced).to_contain_text("catalog synced aborted", timeout=90_000)


def _run_browser_filters(page: Page) -> None:
    """The notebook's RunBrowser: search again, then by status and by campaign."""
    browser = page.locator(".smartlab-run-browser").first  # the notebook's, not the dashboard's
    count = browser.locator(".widget-html").filter(has_text="run(s) found")
    options = browser.locator(".smartlab-run-table tbody tr")  # one row per run
    campaign = browser.locator(".widget-text").filter(has_text="Campaign").locator("input")
    status = browser.locator(".widget-dropdown select")
    search = browser.locator(".smartlab-search")

    expect(count).to_have_text("3 run(s) found")  # as searched when the cell ran
    expect(campaign).to_have_value("getting-started")
    search.click()  # 3 + 2 (the long scan) + 1 (the suggestion) + 1 (aborted)
    expect(count).to_have_text("7 run(s) found", timeout=20_000)
    expect(options).to_have_count(7)
    for text in browser.locator(".smartlab-run-table .smartlab-cell-campaign").all_inner_texts():
        assert text == "getting-started", text

    status.select_option("abort")
    search.click()
    expect(count).to_have_text("1 run(s) found", timeout=20_000)
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("abort")
    expect(options.first).to_contain_text("measure_recipe")
    options.first.click()  # open it
    expect(browser.locator(".smartlab-run-details")).to_contain_text("abort")
    expect(browser.locator(".smartlab-run-details")).to_contain_text("browser test abort")
    expect(browser.locator("img")).to_be_visible()  # its plot, hidden until a run is open
    _shot(browser, "run_browser_status_abort")

    status.select_option("success")
    search.click()
    expect(count).to_have_text("6 run(s) found", timeout=20_000)
    expect(options).to_have_count(6)
    expect(options.filter(has_text="success")).to_have_count(6)
    # the run paused from RunControl during its hold is flagged
    expect(options.filter(has_text="paused 1x")).to_have_count(1)
    expect(browser.locator(".smartlab-run-interrupted")).to_have_count(1)

    campaign.fill("dashboard-demo")
    status.select_option("any")
    search.click()
    # 3 experiments and, after each round, the planner's record of its decisions
    # (the count alone could be the previous search's: 6 too)
    expect(options.filter(has_text="dashboard-demo")).to_have_count(6, timeout=20_000)
    expect(options).to_have_count(6)
    expect(count).to_have_text("6 run(s) found")
    expect(options.filter(has_text="measure_recipe")).to_have_count(3)
    expect(options.filter(has_text="planner_record")).to_have_count(3)
    _shot(browser, "run_browser_campaign")
