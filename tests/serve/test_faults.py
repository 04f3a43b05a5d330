"""Faults: the RE worker killed mid-plan, Redis restarted."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smartlab_kernel.serve.sandbox import RedisProcess, Sandbox
from smartlab_kernel.serve.supervisor import WORKER_DIED_MESSAGE
from smartlab_kernel.session import Lab
from smartlab_kernel.session.errors import SessionError

from .conftest import require_packages, require_service

pytestmark = pytest.mark.slow


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def test_worker_killed_mid_plan_fails_the_item_and_the_queue_goes_on(sandbox: Sandbox) -> None:
    student = Lab.connect(sandbox.url, api_key=sandbox.keys["student05"])
    ta = Lab.connect(sandbox.url, api_key=sandbox.keys["ta"])
    doomed = student.submit("measure", hold_s=60000.0)
    after = student.submit("measure", hold_s=10.0)
    wait_for(lambda: doomed.state == "running", 30, "the long plan to start")
    time.sleep(0.5)
    worker = sandbox.server.worker_pid()
    assert worker is not None
    os.kill(worker, signal.SIGKILL)

    wait_for(lambda: doomed.state == "failed", 60, "the killed item to be marked failed")
    assert WORKER_DIED_MESSAGE in doomed.reason
    with pytest.raises(SessionError, match="failed on the server"):
        doomed.wait(timeout=1)
    assert after.wait(timeout=90)
    assert after.state == "finished"
    assert doomed.item_uid not in [q["item_uid"] for q in ta.queue()]
    assert all(h["name"] != "measure" or h["kwargs"] != {"hold_s": 60000.0} for h in ta.queue())
    supervisor = sandbox.server.supervisor
    assert supervisor is not None
    wait_for(lambda: any("worker died" in e for e in supervisor.events), 30, "the report")

    # The killed run was journaled: the new worker recovered it and stored it as failed.
    def killed_run_stored() -> bool:
        runs = [student.catalog[uid] for uid in student.catalog]
        return any(
            r.metadata["start"]["recipe"]["hold_s"] == 60000.0
            and (r.metadata.get("stop") or {}).get("exit_status") == "fail"
            for r in runs
        )

    wait_for(killed_run_stored, 30, "the killed run, recovered from the journal, in the catalog")


def test_queue_survives_a_redis_restart(tmp_path: Path) -> None:
    require_packages()
    require_service("PostgreSQL", "127.0.0.1", 5432)
    redis = RedisProcess(tmp_path / "redis")
    redis.start()
    lab = Sandbox(tmp_path / "server", students=1, redis_address=redis.address)
    try:
        lab.start()
        student = Lab.connect(lab.url, api_key=lab.keys["student01"])
        blocker = student.submit("measure", hold_s=5000.0)
        queued = [student.submit("measure", hold_s=10.0) for _ in range(3)]
        wait_for(lambda: blocker.state == "running", 30, "the first plan to start")
        redis.stop()
        time.sleep(1.0)
        redis.start()
        for run in [blocker, *queued]:
            run.wait(timeout=90)
        history = [h["item_uid"] for h in student.history()]
        assert history == [r.item_uid for r in [blocker, *queued]]
        # Every queued item ran once; the one running across the restart may read "unknown".
        assert all(r.state == "finished" for r in queued)
        assert blocker.state in ("finished", "unknown")
        wait_for(lambda: len(student.catalog) == 4, 30, "all four runs in the catalog")
        late = student.submit("measure", hold_s=10.0)
        assert late.wait(timeout=60)
    finally:
        lab.close()
        redis.stop()
