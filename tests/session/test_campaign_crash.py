"""kill -9 a process running a campaign, reopen, resume: the planner agrees with the catalog.

A worker process (``tests/session/campaign_crash_worker.py``) runs
``campaign(lab, bench_planner(seed=0, initial_design=3), batch=b)`` and writes a
progress line when an experiment's start document is journaled and after
each result. The test kills it with SIGKILL inside an experiment or between
experiments (batch 1 to 4, the first round included), reopens the lab in
this process, waits for recovery and rebuilds the planner with
``resume_planner``. Then:

- every experiment that finished is an observation of the resumed planner
  exactly once, with the value the catalog holds;
- the experiment the kill interrupted is failed in the catalog and in the
  planner, with the reason "process died ...";
- suggestion ids are never used twice, also after the campaign goes on;
- ``reproduce`` on the recovered campaign matches, taking the crashed
  experiment as its recorded failure.
"""

from __future__ import annotations

import math
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel import Lab
from smartlab_kernel.campaign.loop import campaign, resume_planner
from smartlab_kernel.campaign.reproduce import reproduce
from smartlab_kernel.campaign.stored_runs import campaign_runs, stored_readout
from smartlab_kernel.planner import Planner
from smartlab_kernel.storage import DIED_REASON
from smartlab_kernel.testing import kill_process_during_run

WORKER = Path(__file__).with_name("campaign_crash_worker.py")
SEED = 0
TIME_SCALE = 5000.0
BUDGET = 5


def _worker_command(directory: Path, progress: Path, campaign_id: str, batch: int) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        str(directory),
        str(progress),
        f"--campaign-id={campaign_id}",
        f"--seed={SEED}",
        "--initial-design=3",
        f"--budget={BUDGET}",
        f"--batch={batch}",
        f"--time-scale={TIME_SCALE}",
    ]


def _experiments(lab: Lab, campaign_id: str) -> list[dict[str, Any]]:
    """Each stored experiment: suggestion id, exit status, stop reason and readout."""
    found = []
    for run in campaign_runs(lab.catalog, campaign_id):
        stop = run.metadata.get("stop") or {}
        found.append(
            {
                "uid": run.metadata["start"]["uid"],
                "id": run.metadata["start"]["suggestion"]["id"],
                "exit_status": stop.get("exit_status"),
                "reason": stop.get("reason") or "",
                "value": stored_readout(run),
            }
        )
    return found


def _check_planner_agrees_with_catalog(planner: Planner, experiments: list[dict[str, Any]]) -> None:
    """Every stored experiment is closed in the planner exactly once, as the catalog says."""
    ids = [e["id"] for e in experiments]
    assert [i for i, n in Counter(ids).items() if n > 1] == [], "a suggestion id is used twice"
    closes = [r for r in planner.history if r["event"] in ("observe", "fail")]
    by_id = Counter(r["suggestion_id"] for r in closes)
    assert sorted(by_id) == sorted(ids), "the planner's experiments are not the catalog's"
    assert set(by_id.values()) == {1}, f"an experiment is closed twice: {by_id}"
    for experiment in experiments:
        (record,) = [r for r in closes if r["suggestion_id"] == experiment["id"]]
        assert experiment["exit_status"] is not None, f"{experiment['uid']} has no stop"
        if experiment["value"] is not None and math.isfinite(experiment["value"]):
            assert record["event"] == "observe", experiment
            assert record["outcomes"]["yield"] == pytest.approx(experiment["value"])
        else:
            assert record["event"] == "fail", experiment
        if experiment["reason"] == DIED_REASON:
            assert record["reason"].startswith("process died"), record
    successes = sum(e["value"] is not None for e in experiments)
    assert len(planner.observations.dropna()) == successes
    assert planner.pending == []


# (batch, progress lines before the kill, extra delay): 2k lines = k results and
# between experiments, 2k + 1 = inside experiment k + 1.
CASES = [
    pytest.param(2, 7, 0.05, id="batch2-inside-4th-after-3-results"),
    pytest.param(1, 5, 0.05, id="batch1-inside-3rd-after-2-results"),
    pytest.param(4, 3, 0.05, id="batch4-inside-2nd-of-first-round"),
    pytest.param(3, 8, 0.0, id="batch3-between-after-4-results"),
    pytest.param(2, 8, 0.0, id="batch2-at-round-end-after-4-results"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("batch", "lines", "delay"), CASES)
def test_a_campaign_killed_at_any_point_resumes_in_step_with_the_catalog(
    tmp_path: Path, batch: int, lines: int, delay: float
) -> None:
    directory = tmp_path / "lab"
    campaign_id = f"crash{batch}x{lines}"
    killed = kill_process_during_run(
        _worker_command(directory, tmp_path / "progress.txt", campaign_id, batch),
        tmp_path / "progress.txt",
        after_events=lines,
        extra_delay=delay,
        timeout=240,
    )
    assert killed.returncode == -signal.SIGKILL, killed.output[-3000:]

    with Lab.simulated(seed=SEED, directory=directory, time_scale=TIME_SCALE) as lab:
        lab.wait(120)
        experiments = _experiments(lab, campaign_id)
        results = (lines - 1) // 2 if lines % 2 else lines // 2
        assert len(experiments) >= results
        if lines % 2:  # killed inside an experiment: it is the recorded failure
            assert experiments[-1]["exit_status"] == "fail"
            assert experiments[-1]["reason"] == DIED_REASON
        planner = resume_planner(lab, campaign_id)
        _check_planner_agrees_with_catalog(planner, experiments)

        # the campaign goes on with fresh ids, and resumes again in step; on a
        # slow machine the kill can land after the last experiment finished
        remaining = BUDGET - len(experiments)
        if remaining > 0:
            lab.submit(campaign(lab, planner, budget=remaining, batch=batch)).wait(240)
            lab.wait(120)
        experiments = _experiments(lab, campaign_id)
        assert len(experiments) == BUDGET  # and _check... finds no id used twice
        _check_planner_agrees_with_catalog(resume_planner(lab, campaign_id), experiments)

        report = reproduce(lab.catalog, campaign_id, directory=tmp_path / "again")
        assert report.matches, report.summary()
        assert len(report.comparisons) == BUDGET
