"""The embedded tiled server runs in a child process that never outlives its lab."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from smartlab_kernel.storage import EmbeddedCatalog
from smartlab_kernel.storage.embedded_server import SubprocessTiledServer
from smartlab_kernel.testing import simulated_lab


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited, unreaped zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_catalog_server_runs_in_a_child_process_stopped_by_close(tmp_path: Path) -> None:
    catalog = EmbeddedCatalog(tmp_path / "catalog")
    try:
        pid = catalog.server_pid
        assert pid is not None and pid != os.getpid() and running(pid)
        assert list(catalog.reconnect()) == []  # it serves
        # A session of its own: an interrupt to the notebook's process group misses it.
        assert os.getpgid(pid) != os.getpgid(0)
    finally:
        catalog.close()
    assert wait_gone(pid, 1.0)  # close() returns once the child has exited
    catalog.close()  # idempotent


def test_thread_server_is_still_available(tmp_path: Path) -> None:
    catalog = EmbeddedCatalog(tmp_path / "catalog", server="thread")
    try:
        assert catalog.server_pid is None
        assert list(catalog.reconnect()) == []
    finally:
        catalog.close()
    with pytest.raises(ValueError, match="server must be"):
        EmbeddedCatalog(tmp_path / "other", server="fork")  # type: ignore[arg-type]


def test_server_ignores_sigint_sent_to_it(tmp_path: Path) -> None:
    catalog = EmbeddedCatalog(tmp_path / "catalog")
    try:
        assert catalog.server_pid is not None
        os.kill(catalog.server_pid, signal.SIGINT)
        time.sleep(0.3)
        assert running(catalog.server_pid)
        assert list(catalog.reconnect()) == []
    finally:
        catalog.close()


def test_lab_close_stops_its_catalog_server(tmp_path: Path) -> None:
    with simulated_lab(tmp_path / "lab") as lab:
        catalog = lab._catalog
        assert isinstance(catalog, EmbeddedCatalog)
        pid = catalog.server_pid
        assert pid is not None and running(pid)
    assert wait_gone(pid, 1.0)


def test_server_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from smartlab_kernel.storage import EmbeddedCatalog
        catalog = EmbeddedCatalog({str(tmp_path / "catalog")!r})
        print(catalog.server_pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip(), "the parent process did not start its catalog"
        server_pid = int(line)
        assert running(server_pid)
        parent.kill()
        parent.wait(10)
        assert wait_gone(server_pid, 15.0), "the server outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_failed_start_raises_and_leaves_no_process(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    directory.mkdir()
    (directory / "data").write_text("a file where the data folder goes")
    before = set(_children())
    with pytest.raises(RuntimeError, match="server process exited"):
        SubprocessTiledServer(directory, api_key="k")
    assert "FileExistsError" in (directory / "server-process.log").read_text()
    assert [p for p in set(_children()) - before if running(p)] == []


def test_start_timeout_kills_the_child(tmp_path: Path) -> None:
    before = set(_children())
    with pytest.raises(RuntimeError, match="did not answer in time"):
        SubprocessTiledServer(tmp_path / "catalog", api_key="k", startup_timeout=0.01)
    assert [p for p in set(_children()) - before if running(p)] == []


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def _children() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == me]
