"""kill -9 a real process mid-run (3 times, seeded): every event it emitted is recovered.

A worker process (``smartlab_kernel.testing.crash_worker``) runs a long count
on ``Lab.simulated``. Its side channel appends one line per event *after*
the lab's journal has the event. The test kills it with SIGKILL at seeded
random points; the next worker starts on the same directory (recovering
the killed run while it records its own), and finally a Lab in this process
recovers the last one. Every event the side channel saw must be in the
catalog, and every killed run must be closed as failed with the died reason.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from smartlab_kernel.storage import DIED_REASON
from smartlab_kernel.testing import (
    crash_worker_command,
    kill_process_during_run,
    read_side_channel,
    simulated_lab,
)

SEED = 20261125
KILLS = 3


@pytest.mark.slow
def test_kill_9_loses_no_emitted_event(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    directory = tmp_path / "lab"
    emitted: dict[str, list[int]] = {}
    for attempt in range(KILLS):
        side_channel = tmp_path / f"side-channel-{attempt}.txt"
        result = kill_process_during_run(
            crash_worker_command(directory, side_channel, seed=attempt),
            side_channel,
            after_events=rng.randint(1, 120),
            extra_delay=rng.uniform(0.0, 0.3),
            timeout=180,
        )
        assert result.returncode == -signal.SIGKILL, result.output[-2000:]
        record = read_side_channel(side_channel)
        assert len(record.runs) == 1 and record.total >= result.events_before_kill
        emitted.update(record.runs)

    with simulated_lab(directory) as lab:
        lab.wait(120)
        reports = list(lab.storage.reports)
        for uid, seq_nums in emitted.items():
            run = lab.catalog[uid]
            stop = run.metadata["stop"]
            assert stop["exit_status"] == "fail", stop
            assert stop["reason"] == DIED_REASON
            assert run.metadata["start"]["purpose"] == "crash test"
            stored = run["primary"].base["internal"].read(["seq_num"])["seq_num"].tolist()
            assert set(seq_nums) <= set(stored), f"run {uid}: events lost"
            assert stored == list(range(1, len(stored) + 1))  # in order, no gap
            assert stop["num_events"] == {"primary": len(stored)}
        pending = list((directory / "journal" / "pending").glob("*.jnl"))
        assert pending == []
    last = list(emitted)[-1]
    assert f"run {last}: closed as failed ({DIED_REASON})" in reports
