"""Per-service supervision: each service of a served lab killed in turn (issue 16.1, 16.5).

Each test kills one child of the lab server with SIGKILL and checks that the
others keep serving, that the killed one comes back on its own, and that no
plan is lost. They share one lab (module scope); each leaves it healthy.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from smartlab_kernel.serve.sandbox import Sandbox, reachable
from smartlab_kernel.session import Lab

from .conftest import start_sandbox

# Starting a lab takes one to three minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: Seconds a killed service may take to answer again (it starts in seconds; the
#: machine running the tests may be busy).
COME_BACK_S = 120.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A lab of its own: these tests kill its services."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("supervision") / "server", 2)
    try:
        yield sandbox
    finally:
        sandbox.close()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # a service being restarted refuses connections meanwhile
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def port_of(lab: Sandbox, name: str) -> int:
    """The port a service listens on."""
    return {
        "tiled": lab.config.catalog.port,
        "http-server": lab.config.queue.http_port,
        "re-manager": lab.config.queue.zmq_control_port,
    }[name]


def group_pids(pgid: int) -> list[int]:
    """Process ids of the live members of process group ``pgid``."""
    pids = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != "zombie":
                pids.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return pids


def service_state(lab: Sandbox, name: str) -> str:
    """What the lab server reports of a service (``running``, ``restarting``, ...)."""
    return str(lab.server.status()["services"][name]["state"])


def healthy(lab: Sandbox) -> bool:
    """Every service running and the queue ready (environment open)."""
    status = lab.server.status()
    if status["lab"] != "ok":
        return False
    queue = lab.server.api()
    try:
        manager = queue.status(reload=True)
    finally:
        queue.close()
    return bool(manager["worker_environment_exists"]) and manager["manager_state"] == "idle"


def kill_and_time_return(lab: Sandbox, name: str) -> tuple[int, float]:
    """SIGKILL service ``name``; return its old pid and the time it was killed."""
    pid = lab.server.pid(name)
    os.kill(pid, signal.SIGKILL)
    return pid, time.monotonic()


def wait_back(lab: Sandbox, name: str, old_pid: int, killed_at: float) -> float:
    """Wait until ``name`` runs again as a new process and answers; return seconds taken."""
    wait_for(
        lambda: (
            lab.server.pid(name) != old_pid
            and reachable("127.0.0.1", port_of(lab, name), 0.5)
            and service_state(lab, name) == "running"
        ),
        COME_BACK_S,
        f"{name} to come back",
    )
    taken = time.monotonic() - killed_at
    back = [e for e in lab.server.status()["events"] if e.split(" ", 3)[2:3] == [name]]
    print(f"{name} killed with SIGKILL answered again after {taken:.1f} s; {back[-2:]}")
    return taken


def test_killed_tiled_comes_back_and_a_plan_run_meanwhile_is_stored(lab: Sandbox) -> None:
    student = Lab.connect(lab.url, api_key=lab.keys["student01"])
    others = {name: lab.server.pid(name) for name in ("re-manager", "http-server")}
    old, killed_at = kill_and_time_return(lab, "tiled")
    wait_for(lambda: not reachable("127.0.0.1", port_of(lab, "tiled"), 0.5), 10, "tiled gone")

    # The queue goes on: a plan submitted with the catalog down runs (and is journaled).
    run = student.submit("measure", hold_s=10.0)
    wait_for(lambda: run.state == "finished", 60, "the plan to run with tiled down")
    assert {name: lab.server.pid(name) for name in others} == others

    wait_back(lab, "tiled", old, killed_at)
    # Shipped once tiled is back: nothing lost.
    uids = run.wait(timeout=COME_BACK_S)
    assert len(uids) == 1
    assert student.catalog[uids[0]].metadata["stop"]["exit_status"] == "success"
    wait_for(lambda: healthy(lab), 60, "the lab to report itself ok")
    status = lab.server.status()
    assert status["services"]["tiled"]["restarts"] >= 1
    assert any("tiled" in event and "-9" in event for event in status["events"])


def test_lab_reports_degraded_while_tiled_is_down(lab: Sandbox) -> None:
    old, killed_at = kill_and_time_return(lab, "tiled")
    status = wait_for(
        lambda: (s := lab.server.status())["lab"] == "degraded" and s, 10, "degraded mode"
    )
    assert status["services"]["tiled"]["state"] in ("restarting", "starting")
    assert status["services"]["re-manager"]["state"] == "running"
    assert any("tiled" in problem for problem in status["problems"])
    written = json.loads((lab.config.state_path / "status.json").read_text())
    assert written["lab"] in ("degraded", "ok")  # it may be back already
    wait_back(lab, "tiled", old, killed_at)
    wait_for(lambda: healthy(lab), 60, "the lab to report itself ok")


def test_killed_http_server_comes_back_while_the_queue_goes_on(lab: Sandbox) -> None:
    student = Lab.connect(lab.url, api_key=lab.keys["student01"])
    long = student.submit("measure", hold_s=15000.0)  # 15 s at the sandbox's time scale
    wait_for(lambda: long.state == "running", 60, "the long plan to start")
    worker = lab.server.worker_pid()
    others = {name: lab.server.pid(name) for name in ("re-manager", "tiled")}
    old, killed_at = kill_and_time_return(lab, "http-server")

    # The catalog keeps serving meanwhile.
    assert len(list(student.catalog)) >= 0
    assert reachable("127.0.0.1", port_of(lab, "tiled"))
    wait_back(lab, "http-server", old, killed_at)
    assert long.wait(timeout=COME_BACK_S)
    assert long.state == "finished"
    assert lab.server.worker_pid() == worker  # the queue went on: same worker
    assert {name: lab.server.pid(name) for name in others} == others
    wait_for(lambda: healthy(lab), 60, "the lab to report itself ok")


def test_killed_re_manager_comes_back_and_runs_the_queue(lab: Sandbox) -> None:
    student = Lab.connect(lab.url, api_key=lab.keys["student02"])
    doomed = student.submit("measure", hold_s=60000.0)
    queued = student.submit("measure", hold_s=10.0)
    wait_for(lambda: doomed.state == "running", 60, "the long plan to start")
    time.sleep(0.5)  # its run is journaled
    others = {name: lab.server.pid(name) for name in ("tiled", "http-server")}
    old_group = group_pids(lab.server.pid("re-manager"))
    assert len(old_group) >= 3  # watchdog, manager, worker
    old, killed_at = kill_and_time_return(lab, "re-manager")

    # The catalog keeps serving meanwhile.
    assert len(list(student.catalog)) >= 1
    wait_back(lab, "re-manager", old, killed_at)
    assert not any(psutil.pid_exists(pid) for pid in old_group if pid != old)
    assert {name: lab.server.pid(name) for name in others} == others

    # The item queued behind the killed one runs; the killed one is not run again.
    assert queued.wait(timeout=COME_BACK_S)
    assert queued.state == "finished"
    assert doomed.state in ("unknown", "failed")
    ta = Lab.connect(lab.url, api_key=lab.keys["ta"])
    assert doomed.item_uid not in [q["item_uid"] for q in ta.queue()]

    def killed_run_stored_as_failed() -> bool:
        runs = [student.catalog[uid] for uid in student.catalog]
        return any(
            r.metadata["start"]["recipe"]["hold_s"] == 60000.0
            and (r.metadata.get("stop") or {}).get("exit_status") == "fail"
            for r in runs
        )

    wait_for(killed_run_stored_as_failed, 60, "the killed run, closed as failed, in the catalog")
    wait_for(lambda: healthy(lab), 60, "the lab to report itself ok")


def test_manager_stuck_without_a_running_item_is_recovered(lab: Sandbox) -> None:
    """An item written into the Redis queue behind the manager's back leaves it stuck.

    The manager runs it, then fails to file it (its uid is unknown to it) and
    stays ``executing_queue`` with no running item, starting nothing else.
    """
    import redis

    supervisor = lab.server.supervisor
    assert supervisor is not None
    supervisor.stuck_after = 3.0
    injected = {
        "item_type": "plan",
        "name": "measure",
        "args": [],
        "kwargs": {"hold_s": 10.0},
        "user": "student02",
        "user_group": "primary",
        "item_uid": str(uuid.uuid4()),
    }
    client = redis.Redis(host="127.0.0.1", port=6379)
    client.rpush(f"{lab.config.redis.prefix}_plan_queue", json.dumps(injected))
    client.close()
    student = Lab.connect(lab.url, api_key=lab.keys["student01"])
    victim = student.submit("measure", hold_s=10.0)

    queue = lab.server.api()
    try:

        def stuck() -> bool:
            status = queue.status(reload=True)
            return bool(
                status["manager_state"] == "executing_queue" and status["running_item_uid"] is None
            )

        wait_for(stuck, 60, "the manager to be stuck with no running item")
    finally:
        queue.close()
    assert victim.wait(timeout=COME_BACK_S)
    assert victim.state == "finished"
    assert any("no running item" in event for event in supervisor.events)
    wait_for(lambda: healthy(lab), 60, "the lab to report itself ok")


def test_status_file_lists_every_service(lab: Sandbox) -> None:
    status = json.loads(Path(lab.config.state_path / "status.json").read_text())
    assert set(status["services"]) == {"tiled", "re-manager", "http-server"}
    assert status["pid"] == os.getpid()
    for name, service in status["services"].items():
        assert service["pid"] == lab.server.pid(name)
