"""The widgets in a real browser: JupyterLab 4 + headless Debian chromium via playwright.

Starts JupyterLab on a free localhost port with a random token, on a temporary
copy of ``notebooks/``, with a kernelspec that runs this repository's Python.
Runs ``01_getting_started.ipynb``, pauses and resumes the plan from RunControl,
edits a planner suggestion (a bad value first), accepts it and sees it run,
and saves a screenshot of each widget under ``tests/artifacts/``.

Skipped when chromium or jupyter is missing, unless ``CI=true`` (then it fails).
Install chromium with ``apt-get install -y chromium`` (never a playwright download).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartlab_kernel.testing import missing_component, require_module

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


def _shot(locator: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_notebook_widgets_in_jupyterlab(jupyter: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyter
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            _drive(page, expect, base, token)
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _drive(page: object, expect: object, base: str, token: str) -> None:
    pg: object = page  # kept loosely typed: playwright is an optional test dependency
    pg.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")  # type: ignore[attr-defined]
    pg.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)  # type: ignore[attr-defined]
    try:  # JupyterLab may ask which kernel to start: the notebook's own (python3)
        pg.click(".jp-Dialog .jp-mod-accept", timeout=15_000)  # type: ignore[attr-defined]
    except Exception as exc:  # no dialog: the kernel started by itself
        if "Timeout" not in type(exc).__name__:
            raise
    pg.wait_for_selector(  # type: ignore[attr-defined]
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000
    )
    pg.click(".lm-MenuBar-itemLabel:text-is('Run')")  # type: ignore[attr-defined]
    pg.click(".lm-Menu-itemLabel:text-is('Run All Cells')")  # type: ignore[attr-defined]

    control = pg.locator(".smartlab-run-control")  # type: ignore[attr-defined]
    state = control.locator(".smartlab-run-state")
    expect(state).to_contain_text("running", timeout=120_000)  # type: ignore[operator]
    # Pause during the reactor hold (hold.seconds = 3001 s), not in a robot move.
    hold = pg.locator(".smartlab-readback-hold-seconds")  # type: ignore[attr-defined]
    expect(hold).to_contain_text("3001", timeout=60_000)  # type: ignore[operator]
    _shot(pg.locator(".smartlab-device-panel"), "device_panel")  # type: ignore[attr-defined]

    control.locator(".smartlab-pause").click()
    expect(state).to_contain_text("paused", timeout=20_000)  # type: ignore[operator]
    _shot(control, "run_control_paused")
    control.locator(".smartlab-resume").click()
    expect(state).not_to_contain_text("paused", timeout=20_000)  # type: ignore[operator]
    expect(state).to_contain_text("finished", timeout=90_000)  # type: ignore[operator]
    _shot(control, "run_control")

    plots = pg.locator(".smartlab-live-plot")  # type: ignore[attr-defined]
    expect(plots.first).to_have_attribute("data-points", "5", timeout=30_000)  # type: ignore[operator]
    assert int(plots.first.get_attribute("data-frames") or 0) >= 2
    _shot(plots.nth(0), "live_plot_readout")
    _shot(plots.nth(1), "live_plot_spectra")
    _shot(pg.locator(".smartlab-run-browser"), "run_browser")  # type: ignore[attr-defined]

    review = pg.locator(".smartlab-planner-review")  # type: ignore[attr-defined]
    expect(review.locator(".smartlab-accept").first).to_be_visible(timeout=90_000)  # type: ignore[operator]
    cell = review.locator(".smartlab-cell-temperature_c input").first
    message = review.locator(".smartlab-planner-message")
    cell.fill("999")
    review.locator(".smartlab-accept").first.click()
    expect(message).to_contain_text("outside its bounds", timeout=20_000)  # type: ignore[operator]
    _shot(review, "planner_review_bad_edit")
    cell.fill("55")
    review.locator(".smartlab-accept").first.click()
    executed = review.locator(".smartlab-executed")
    expect(executed).to_contain_text("55", timeout=20_000)  # type: ignore[operator]
    expect(executed).to_contain_text("run running", timeout=60_000)  # type: ignore[operator]
    expect(state).to_contain_text("running", timeout=20_000)  # type: ignore[operator]
    expect(control).to_contain_text("measure_recipe")  # type: ignore[operator]
    expect(executed).to_contain_text("run finished", timeout=60_000)  # type: ignore[operator]
    _shot(review, "planner_review")
    _shot(control, "run_control_suggestion_finished")
