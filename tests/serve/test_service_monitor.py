"""The service monitor on stand-in processes: backoff, stop, leftovers, the status file.

Fast checks of :mod:`smartlab_kernel.serve.services` without the lab's
services (``sleep`` processes stand in for them); the real services are
killed in ``test_supervision.py`` and ``test_serve_command.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from smartlab_kernel.serve.errors import ServeError
from smartlab_kernel.serve.services import (
    STATUS_FILE,
    Backoff,
    Child,
    ServiceMonitor,
    StopRequested,
    format_status,
    read_status,
    reap_leftovers,
    status_exit_code,
    stop_group,
    write_status,
)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


def spawn_group(children: int = 1) -> subprocess.Popen[bytes]:
    """A process-group leader (a shell) with ``children`` sleeping children of its own."""
    script = " ".join(["sleep 300 &"] * children) + " wait"
    return subprocess.Popen(["sh", "-c", script], start_new_session=True)


def started(pid: int) -> float:
    return psutil.Process(pid).create_time()


def live(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class StandIn:
    """A service stand-in that the monitor can respawn; records every process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.processes = [spawn_group()]
        self.stopping = False
        self.respawned_at: list[float] = []

    def process(self) -> subprocess.Popen[bytes]:
        return self.processes[-1]

    def respawn(self) -> subprocess.Popen[bytes]:
        if self.stopping:
            raise StopRequested("stopping")
        self.respawned_at.append(time.monotonic())
        self.processes.append(spawn_group())
        return self.processes[-1]

    def child(self) -> Child:
        return Child(self.name, self.process, self.respawn, answers=lambda: True)

    def close(self) -> None:
        self.stopping = True
        for process in self.processes:
            stop_group(process, 0.0)


@pytest.fixture
def stand_ins() -> Iterator[dict[str, StandIn]]:
    services = {name: StandIn(name) for name in ("alpha", "beta")}
    try:
        yield services
    finally:
        for service in services.values():
            service.close()


def test_backoff_doubles_up_to_the_longest() -> None:
    backoff = Backoff(first=1.0, factor=2.0, longest=30.0)
    assert [backoff.delay(i) for i in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_killed_service_is_restarted_alone_with_growing_delays(
    stand_ins: dict[str, StandIn], tmp_path: Path
) -> None:
    alpha, beta = stand_ins["alpha"], stand_ins["beta"]
    monitor = ServiceMonitor(
        [alpha.child(), beta.child()],
        tmp_path / STATUS_FILE,
        backoff=Backoff(first=0.3, factor=2.0, longest=5.0, stable_after=60.0),
        interval=0.05,
    )
    monitor.start()
    try:
        first = alpha.process()
        left = wait_for(lambda: psutil.Process(first.pid).children(), 5, "its child")[0].pid
        os.kill(first.pid, signal.SIGKILL)  # its child goes on: the monitor ends it
        killed = time.monotonic()
        wait_for(lambda: alpha.respawned_at, 5, "the first restart")
        assert alpha.respawned_at[0] - killed >= 0.3
        wait_for(lambda: monitor.health["alpha"].state == "running", 5, "alpha running")
        assert not live(first.pid)
        assert not live(left)

        os.kill(alpha.process().pid, signal.SIGKILL)  # again, at once: the delay doubles
        killed = time.monotonic()
        wait_for(lambda: len(alpha.respawned_at) == 2, 5, "the second restart")
        assert alpha.respawned_at[1] - killed >= 0.6
        wait_for(lambda: monitor.health["alpha"].state == "running", 5, "alpha running")

        assert beta.respawned_at == []  # the other one was left alone
        status = monitor.status()
        assert status["lab"] == "ok"
        assert status["services"]["alpha"]["restarts"] == 2
        assert status["services"]["alpha"]["last_exit"] == -signal.SIGKILL
        assert status["services"]["alpha"]["pid"] == alpha.process().pid
        assert any("alpha exited (-9)" in event for event in status["events"])
        assert any("alpha is back" in event for event in status["events"])
    finally:
        monitor.stop()


def test_degraded_while_a_service_waits_to_restart(
    stand_ins: dict[str, StandIn], tmp_path: Path
) -> None:
    alpha = stand_ins["alpha"]
    monitor = ServiceMonitor(
        [alpha.child()],
        tmp_path / STATUS_FILE,
        backoff=Backoff(first=30.0),
        interval=0.05,
    )
    monitor.start()
    try:
        os.kill(alpha.process().pid, signal.SIGKILL)
        wait_for(lambda: monitor.status()["lab"] == "degraded", 5, "degraded")
        status = monitor.status()
        assert status["services"]["alpha"]["state"] == "restarting"
        assert status["problems"][0].startswith("alpha restarting (exited (-9); restart in 30 s)")
        on_disk = wait_for(
            lambda: (s := read_status(tmp_path))["lab"] == "degraded" and s, 5, "the file"
        )
        assert status_exit_code(on_disk) == 1
        assert "alpha        restarting" in format_status(on_disk)
        assert (tmp_path / STATUS_FILE).stat().st_mode & 0o777 == 0o600
    finally:
        monitor.stop()
    assert alpha.respawned_at == []  # stopped during the backoff: no restart


def test_stop_group_ends_what_the_leader_left(tmp_path: Path) -> None:
    leader = spawn_group(children=2)
    wait_for(lambda: len(psutil.Process(leader.pid).children()) == 2, 5, "the children")
    children = [c.pid for c in psutil.Process(leader.pid).children()]
    os.kill(leader.pid, signal.SIGKILL)  # as kill -9 of a watchdog: its children go on
    leader.wait()
    assert all(live(pid) for pid in children)
    stop_group(leader, 1.0)
    assert not any(live(pid) for pid in children)


def test_leftovers_of_a_killed_lab_server_are_killed_at_the_next_start(tmp_path: Path) -> None:
    dead_server = subprocess.Popen(["sleep", "0"])
    dead_server.wait()
    service = spawn_group(children=1)
    wait_for(lambda: psutil.Process(service.pid).children(), 5, "the child")
    child = psutil.Process(service.pid).children()[0].pid
    write_status(
        tmp_path / STATUS_FILE,
        {
            "lab": "degraded",
            "pid": dead_server.pid,
            "pid_started": time.time() - 100.0,
            "updated": time.time() - 100.0,
            "services": {"tiled": {"pid": service.pid, "pid_started": started(service.pid)}},
        },
    )
    status = read_status(tmp_path)
    assert status["lab"] == "stopped"
    assert status["services"]["tiled"]["state"] == "orphaned"
    assert status_exit_code(status) == 3

    killed = reap_leftovers(tmp_path)
    service.wait(5)
    assert killed and "tiled" in killed[0]
    wait_for(lambda: not live(child), 5, "the service's child to be killed")


def test_a_running_lab_server_is_not_started_twice(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        write_status(
            tmp_path / STATUS_FILE,
            {
                "lab": "ok",
                "pid": other.pid,
                "pid_started": started(other.pid),
                "updated": time.time(),
                "services": {},
            },
        )
        with pytest.raises(ServeError, match="another smartlab serve"):
            reap_leftovers(tmp_path)
        assert read_status(tmp_path)["lab"] == "ok"
    finally:
        other.kill()
        other.wait()


def test_a_stale_status_reads_degraded(tmp_path: Path) -> None:
    this = psutil.Process()
    write_status(
        tmp_path / STATUS_FILE,
        {
            "lab": "ok",
            "pid": this.pid,
            "pid_started": this.create_time(),
            "updated": time.time() - 60.0,
            "services": {},
        },
    )
    status = read_status(tmp_path)
    assert status["lab"] == "degraded"
    assert "may hang" in status["problems"][0]
    assert json.loads((tmp_path / STATUS_FILE).read_text())["lab"] == "ok"  # only read
