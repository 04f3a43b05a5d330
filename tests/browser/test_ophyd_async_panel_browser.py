"""An ophyd-async device's DevicePanel in a real browser (issue 20): units, limits, move, Stop.

JupyterLab 4 + headless Debian chromium via playwright, with the JupyterLab
server fixture of ``test_notebook_widgets.py``. A caproto motor record
(the instruments IOC, mm, soft limits 0 to 50) serves on 127.0.0.1; the
notebook builds ophyd-async's ``epics.motor.Motor`` on it from a lab config
(``kind: ophyd_async``) and shows ``DevicePanel(motor)``. In the browser:
the units and limits read from the IOC are on screen, -1 mm is refused at its
field with nothing moving, Enter on 2.5 moves the motor there, and Stop ends a
long move short of its target, which the panel says.

Screenshots go to ``tests/artifacts/ophyd_async_panel_*.png``.
Skipped when chromium, jupyter, caproto or ophyd-async is missing, unless
``CI=true`` (then it fails).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from smartlab_kernel.testing import require_module

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

TESTS = Path(__file__).resolve().parents[1]


def _load(path: Path, key: str) -> ModuleType:
    """Import a test helper module by its path (tests/ is not a package)."""
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_widgets = _load(
    TESTS / "browser" / "test_notebook_widgets.py", "_smartlab_browser_test_notebook_widgets"
)
_monitor = _load(
    TESTS / "browser" / "test_lab_monitor_browser.py", "_smartlab_browser_test_lab_monitor_browser"
)
_peers = _load(TESTS / "adapters" / "peers.py", "_smartlab_adapter_peers")
jupyter = _widgets.jupyter  # the module-scoped JupyterLab server fixture: (base url, token)
ARTIFACTS: Path = _widgets.ARTIFACTS
expect = _widgets.expect

NOTEBOOK = "ophyd_async_panel_browser_test.ipynb"
PREFIX = "BRW:"
RED = "rgb(176, 0, 32)"  # setpoint_entry.INVALID_BORDER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def motor_ioc() -> Iterator[dict[str, str]]:
    """The instruments IOC (motor record ``BRW:M1``) in real time; yields its CA environment."""
    require_module("caproto", "pip install caproto")
    require_module("ophyd_async", "pip install 'smartlab-kernel[ophyd-async]'")
    ca_env = {
        "EPICS_CA_SERVER_PORT": str(_peers.free_port()),
        "EPICS_CA_REPEATER_PORT": str(_peers.free_port()),
        "EPICS_CA_ADDR_LIST": "127.0.0.1",
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
    }
    command = [
        *_peers.python_script("instruments_ioc.py"),
        "--prefix",
        PREFIX,
        "--interfaces",
        "127.0.0.1",
        "--time-scale",
        "1",
    ]
    ioc = _peers.PeerProcess(command, "Server startup complete", {**os.environ, **ca_env})
    ioc.start()
    try:
        yield ca_env
    finally:
        ioc.kill()


def _notebook(config: Path, ca_env: dict[str, str]) -> dict[str, Any]:
    """Build the motor from a lab config and show its panel (the kernel reads CA's env first)."""
    config.write_text(
        "devices:\n"
        "  stage:\n"
        "    kind: ophyd_async\n"
        "    device_class: ophyd_async.epics.motor:Motor\n"
        f'    prefix: "{PREFIX}M1"\n'
        "    connection_timeout: 10\n",
        encoding="utf-8",
    )
    cells = [
        "import os\n"
        f"os.environ.update({ca_env!r})  # Channel Access reads these once, when it starts\n"
        "from pathlib import Path\n"
        "from smartlab_kernel.devices.labconfig import build_devices, load_lab_config\n"
        "from smartlab_kernel.widgets import DevicePanel\n"
        f'motor = build_devices(load_lab_config(Path({str(config)!r})))["stage"]\n'
        "panel = DevicePanel(motor, poll_interval=0.1)\n"
        "panel",
    ]
    return dict(_monitor.python3_notebook(cells))


def test_an_ophyd_async_motor_s_panel_in_jupyterlab(
    jupyter: tuple[str, str], motor_ioc: dict[str, str], tmp_path: Path
) -> None:
    base, token = jupyter
    _monitor._upload(base, token, NOTEBOOK, _notebook(tmp_path / "lab.yaml", motor_ioc))
    _monitor.in_chromium(
        lambda page: _drive(page, base, token), 1280, 900, "ophyd_async_panel_failure"
    )


def _shot(locator: Locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / f"ophyd_async_panel_{name}.png"))


def _readback(panel: Locator) -> float:
    """The motor's position as the panel shows it ("12.3 mm")."""
    text = panel.locator(".smartlab-readback-user_readback").inner_text()
    value, units = text.split()
    assert units == "mm", text
    return float(value)


def _drive(page: Page, base: str, token: str) -> None:
    _monitor._open_and_run_all(page, base, token, NOTEBOOK)
    panel = page.locator(".smartlab-device-panel")
    expect(panel).to_be_visible(timeout=180_000)  # the kernel imports the lab stack first
    expect(panel).to_contain_text("stage (Motor)")

    # The position and the setpoint are the first rows, before two dozen of configuration.
    labels = panel.locator(".widget-hbox .widget-html:first-child").all_inner_texts()
    assert labels[:2] == ["User readback (mm)", "User setpoint (mm)"], labels[:4]
    # Units and limits as the IOC gives them (EGU, and .VAL's soft limits as control limits).
    expect(panel.locator(".smartlab-label-user_setpoint")).to_contain_text("(mm)")
    entry = panel.locator(".smartlab-entry-user_setpoint")
    field = panel.locator(".smartlab-field-message-user_setpoint")
    expect(entry.locator("input")).to_have_attribute("placeholder", "0 to 50 mm")
    expect(panel.locator(".smartlab-readback-user_readback")).to_have_text("0 mm", timeout=30_000)
    expect(panel.locator(".smartlab-readback-motor_egu")).to_have_text("mm")

    # Past the limits: refused at the field, in red, and the motor stays where it is.
    entry.locator("input").fill("-1")
    entry.locator("input").press("Enter")
    expect(field).to_contain_text("-1 mm is too low", timeout=20_000)
    expect(entry.locator("input")).to_have_css("border-top-color", RED)
    _shot(panel, "refused")
    page.wait_for_timeout(500)  # a few polls: nothing moved
    assert _readback(panel) == 0.0

    # Enter moves it (Motor.set: done when the motor record says the move is).
    entry.locator("input").fill("2.5")
    entry.locator("input").press("Enter")
    expect(field).to_contain_text("done: 2.5 mm", timeout=30_000)
    expect(entry.locator("input")).not_to_have_css("border-top-color", RED)
    expect(panel.locator(".smartlab-readback-user_readback")).to_have_text("2.5 mm", timeout=20_000)
    _shot(panel, "moved")

    # A long move (10 mm/s), stopped on its way: the panel says it ended short.
    entry.locator("input").fill("50")
    entry.locator("input").press("Enter")
    page.wait_for_function(
        "() => { const e = document.querySelector('.smartlab-readback-user_readback');"
        " return e && parseFloat(e.innerText) > 4; }",
        timeout=30_000,
    )
    panel.locator(".smartlab-device-stop").click()
    expect(panel.locator(".smartlab-device-message")).to_have_text("stage stopped")
    expect(field).to_contain_text("50 mm", timeout=30_000)
    expect(field).not_to_contain_text("done: 50 mm")
    page.wait_for_timeout(1000)  # the record has stopped; the poll shows where
    stopped_at = _readback(panel)
    assert 4 < stopped_at < 45, stopped_at
    page.wait_for_timeout(1000)
    assert _readback(panel) == stopped_at  # it stays there
    _shot(panel, "stopped")

    closed = _monitor._run_new_cell(page, 'panel.close()\nprint("panel closed")')
    expect(closed).to_contain_text("panel closed", timeout=60_000)
