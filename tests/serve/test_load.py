"""Load, bounded: 30 students each submit 5 plans and poll; every plan runs exactly once.

The load runs on a lab server of its own, so the catalog's shipping backlog
it leaves (the server ships behind the queue) does not slow the other tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from smartlab_kernel.remote.lab import RemoteLab
from smartlab_kernel.serve.load import run_load, stopped_runs
from smartlab_kernel.serve.sandbox import Sandbox

from .conftest import start_sandbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

STUDENTS = 30
PLANS_PER_STUDENT = 5


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    lab = start_sandbox(tmp_path_factory.mktemp("load") / "server", STUDENTS)
    try:
        yield lab
    finally:
        lab.close()


def test_every_plan_of_every_student_runs_once(crowded: Sandbox) -> None:
    report = run_load(
        crowded,
        students=STUDENTS,
        plans_per_student=PLANS_PER_STUDENT,
        timeout=300,
        wait_stored=False,  # the catalog's shipping throughput is the benchmark's to report
    )
    assert report.submitted == STUDENTS * PLANS_PER_STUDENT
    assert report.lost == [] and report.duplicated == [] and report.failed == []
    assert report.completed == report.submitted
    assert report.runs == report.submitted  # one Bluesky run per measure item
    assert report.throughput_per_s > 0
    assert report.status_latency_p95_s < 5.0
    # A poll may meet a busy server on a loaded machine; a student polls again.
    # Nothing else may go wrong, and busy answers stay rare.
    assert all("did not answer" in message for message in report.errors), report.errors
    assert sum(report.errors.values()) <= 0.02 * report.status_calls, report.errors

    # Every run reaches the catalog, and the benchmark's one-search check of that
    # (stopped_runs) sees each of them, in pages, and only a student's own.
    ta = RemoteLab(crowded.url, api_key=crowded.keys["ta"])
    ran = {uid for item in ta.history() for uid in item["run_uids"]}
    assert len(ran) == report.runs
    deadline = time.monotonic() + 120
    while (stopped_runs(ta) or set()) != ran and time.monotonic() < deadline:
        time.sleep(1.0)
    assert stopped_runs(ta) == ran
    assert stopped_runs(ta, page=40) == ran  # four pages
    student = RemoteLab(crowded.url, api_key=crowded.keys["student07"])
    mine = {uid for item in student.history() if item["mine"] for uid in item["run_uids"]}
    assert len(mine) == PLANS_PER_STUDENT
    assert stopped_runs(student) == mine
