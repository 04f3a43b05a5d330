"""A served lab's files are its own: journals, data, databases, logs (issue 16 #9)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab

pytestmark = pytest.mark.slow


def open_to_others(root: Path) -> list[str]:
    """Paths under ``root`` (and ``root`` itself) that group or others may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{oct(stat.S_IMODE(mode))} {path}")
    return found


def test_the_lab_creates_everything_private(sandbox: Sandbox) -> None:
    lab = Lab.connect(sandbox.url, api_key=sandbox.keys["student09"])
    run = lab.submit("measure", hold_s=1.0)
    assert run.wait(timeout=90)  # journal, data files, LIMS head and databases all written
    config = sandbox.config
    names = {p.name for p in config.state_path.rglob("*")}
    assert {"journal", "logs", "queue-auth.sqlite", "tiled-auth.sqlite"} <= names
    assert any(config.data_path.rglob("*"))
    assert open_to_others(config.state_path) == []
    assert open_to_others(config.data_path) == []
