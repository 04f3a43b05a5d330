"""Load, bounded: many students submit plans and poll; every plan runs exactly once."""

from __future__ import annotations

import pytest

from smartlab_kernel.serve.load import run_load
from smartlab_kernel.serve.sandbox import Sandbox

from .conftest import TEST_STUDENTS

pytestmark = pytest.mark.slow


def test_every_plan_of_every_student_runs_once(sandbox: Sandbox) -> None:
    report = run_load(sandbox, students=TEST_STUDENTS, plans_per_student=3, timeout=150)
    assert report.submitted == TEST_STUDENTS * 3
    assert report.lost == [] and report.duplicated == [] and report.failed == []
    assert report.completed == report.submitted
    assert report.throughput_per_s > 0
    assert report.status_latency_p95_s < 5.0
