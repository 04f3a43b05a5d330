"""Every tutorial notebook in JupyterLab on the Smart Lab kernel, Run All twice.

Starts JupyterLab (free localhost port, random token) on a temporary copy of
``notebooks/``, with the "Smart Lab (Python 3)" kernelspec of this
repository's Python, and drives headless Debian chromium. Each notebook is
opened on its own kernel (the one its metadata names: ``smartlab``), run
with Run All, then run with Run All again in the same kernel and folder
(issue 18 #2: the second run must work as the first). After each run every
code cell has executed, none shows an error or a traceback, and nothing was
written to stderr; the saved notebook says the same. A screenshot of each
notebook after its second run goes to ``tests/artifacts/``.

The notebooks run at the same time (``SMARTLAB_BROWSER_PARALLEL`` limits how
many), each one's second Run All as soon as its first is done: much of their
time is simulated time passing, not work. About 7 minutes on two cores.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smartlab_kernel.kernel import KERNEL_NAME, kernel_json
from smartlab_kernel.testing import missing_component, require_module

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
PARALLEL = max(1, int(os.environ.get("SMARTLAB_BROWSER_PARALLEL", str(len(NOTEBOOKS)))))
#: Seconds one Run All of one notebook may take (they take well under a minute alone).
RUN_TIMEOUT_S = 420
PROMPT = re.compile(r"\[(\d+|\*| )\]:")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on a temp copy of notebooks/; yields (base url, token, notebook folder)."""
    if not CHROMIUM.exists():
        missing_component(
            f"no chromium at {CHROMIUM}: install it with `apt-get install -y chromium`"
        )
    jupyter_bin = Path(sys.executable).with_name("jupyter")
    if (
        not jupyter_bin.exists()
        or shutil.which("jupyter-lab", path=str(jupyter_bin.parent)) is None
    ):
        missing_component(f"jupyterlab is not installed next to {sys.executable}")
    require_module("playwright.sync_api", "pip install playwright")
    tmp = tmp_path_factory.mktemp("jupyter-all")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    # The Smart Lab kernel of this repository's Python, found before any other install.
    spec_dir = tmp / "data" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps(kernel_json(sys.executable)))
    env = {
        **os.environ,
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_PATH": str(tmp / "data"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "SMARTLAB_OPERATOR": "browser-test",
    }
    settings = tmp / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    # Every cell in the DOM, so each one's prompt and outputs can be read.
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    # Saved only by the test (Control+S): an autosave (every 120 s) that overlapped a
    # save made JupyterLab ask "File Changed ... overwrite or revert?", and that
    # dialog blocked the second Run All (a CI run, on 01_getting_started).
    (settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False})
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
        assert specs[KERNEL_NAME]["spec"]["argv"][0] == sys.executable, specs.get(KERNEL_NAME)
        yield base, token, root
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@dataclass
class Opened:
    """A notebook open in its own browser page."""

    name: str
    page: Page
    code_cells: int = 0
    last_count: int = 0
    timings: list[float] = field(default_factory=list)
    started: float = 0.0


def _open(browser: Browser, base: str, token: str, name: str) -> Opened:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.set_default_timeout(90_000)
    # A workspace of its own: a page does not restore the notebooks other pages opened.
    workspace = Path(name).stem.replace("_", "-")
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    # The kernel the notebook names starts by itself: no "select a kernel" dialog.
    kernel = page.locator(".jp-Toolbar-kernelName").first
    expect(kernel).to_have_text("Smart Lab (Python 3)", timeout=120_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator").first).to_have_attribute(
        "data-status", "idle", timeout=120_000
    )
    opened = Opened(name, page)
    opened.code_cells = page.locator(".jp-Notebook .jp-CodeCell").count()
    return opened


def expect(target: Any) -> Any:
    """playwright's ``expect``, imported late: playwright is an optional test dependency."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def _run_all(notebook: Opened) -> None:
    page = notebook.page
    page.bring_to_front()
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    notebook.started = time.monotonic()


def _prompts(page: Page) -> list[str]:
    return page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()


def _problems(page: Page) -> list[str]:
    """Error outputs and anything on stderr, as the page shows them."""
    shown = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    return [text[:2000] for text in shown]


def _finished(notebook: Opened) -> bool:
    """True once every code cell ran in this Run All; raises on the first error shown."""
    problems = _problems(notebook.page)
    if problems:
        raise AssertionError(f"{notebook.name}: the notebook shows an error: {problems}")
    counts = []
    for prompt in _prompts(notebook.page):
        match = PROMPT.search(prompt)
        if match is None or not match.group(1).isdigit():
            return False
        counts.append(int(match.group(1)))
    # every cell has run since Run All was clicked: its count is past the last run's
    if len(counts) != notebook.code_cells or min(counts) <= notebook.last_count:
        return False
    indicator = notebook.page.locator(".jp-Notebook-ExecutionIndicator").first
    if indicator.get_attribute("data-status") != "idle":
        return False
    notebook.last_count = max(counts)
    notebook.timings.append(time.monotonic() - notebook.started)
    return True


def _run_twice(group: list[Opened], root: Path) -> None:
    """Run All in each notebook, and again as soon as its first run is done and saved."""
    for notebook in group:
        _run_all(notebook)
    deadline = time.monotonic() + 2 * RUN_TIMEOUT_S
    waiting = list(group)
    while waiting:
        for notebook in [n for n in waiting if _finished(n)]:
            _check_saved(root, notebook)
            if len(notebook.timings) == 2:
                waiting.remove(notebook)
            else:
                _run_all(notebook)  # Run All again, in the same kernel and folder
        if waiting and time.monotonic() > deadline:
            names = {n.name: _prompts(n.page) for n in waiting}
            raise AssertionError(f"not done after {2 * RUN_TIMEOUT_S} s: {names}")
        time.sleep(0.5)


def _check_saved(root: Path, notebook: Opened) -> None:
    """Save the notebook; the file says every code cell ran and none failed."""
    page = notebook.page
    page.bring_to_front()
    page.keyboard.press("Control+s")
    path = root / notebook.name
    deadline = time.monotonic() + 30
    while True:
        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError:  # read while JupyterLab was writing it: read again
            assert time.monotonic() < deadline, f"{notebook.name} is not valid JSON"
            time.sleep(0.3)
            continue
        cells = [cell for cell in saved["cells"] if cell["cell_type"] == "code"]
        if (
            all(cell.get("execution_count") for cell in cells)
            and max(cell["execution_count"] for cell in cells) == notebook.last_count
        ):
            break
        assert time.monotonic() < deadline, f"{notebook.name} was not saved"
        time.sleep(0.3)
    bad: list[Any] = [
        output
        for cell in cells
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
        or (output["output_type"] == "stream" and output["name"] == "stderr")
        or "Traceback" in json.dumps(output.get("data", {}))
    ]
    assert not bad, f"{notebook.name}: {bad}"


def _shut_down_kernels(base: str, token: str) -> None:
    """Free the cores for the next notebooks (a room simulation runs until its lab closes)."""
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}") as reply:
        kernels = json.load(reply)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def test_every_notebook_runs_twice_in_jupyterlab(
    jupyter: tuple[str, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import sync_playwright

    base, token, root = jupyter
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for first in range(0, len(NOTEBOOKS), PARALLEL):
                group = [
                    _open(browser, base, token, n) for n in NOTEBOOKS[first : first + PARALLEL]
                ]
                try:
                    _run_twice(group, root)
                    for notebook in group:
                        stem = Path(notebook.name).stem
                        notebook.page.screenshot(
                            path=str(ARTIFACTS / f"notebook_{stem}.png"), full_page=True
                        )
                        timings[notebook.name] = notebook.timings
                except Exception:
                    for notebook in group:
                        stem = Path(notebook.name).stem
                        notebook.page.screenshot(
                            path=str(ARTIFACTS / f"notebook_{stem}_failure.png"), full_page=True
                        )
                    raise
                finally:
                    for notebook in group:
                        notebook.page.close()
                    _shut_down_kernels(base, token)
        finally:
            browser.close()
    assert set(timings) == set(NOTEBOOKS)
    with capsys.disabled():
        for name, (once, twice) in timings.items():
            print(f"\n{name}: Run All {once:.0f} s, again {twice:.0f} s", end="")
