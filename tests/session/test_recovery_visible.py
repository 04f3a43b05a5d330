"""Recovery of a crashed session is visible until it is done (issue 15, case 7).

Right after reopening a lab whose process was killed, the catalog may show the
killed run without its stop document; ``lab.recovering`` (and ``%lab``,
RunControl, RunBrowser) say so until recovery has closed and shipped it.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from smartlab_kernel import Lab
from smartlab_kernel.storage import DIED_REASON
from smartlab_kernel.testing import crash_worker_command, kill_process_during_run


def test_a_run_without_its_stop_document_is_only_seen_while_recovering(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    side_channel = tmp_path / "side-channel.txt"
    result = kill_process_during_run(
        crash_worker_command(directory, side_channel, seed=0),
        side_channel,
        after_events=40,
        timeout=180,
    )
    assert result.returncode == -signal.SIGKILL
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as lab:
        seen_recovering = lab.recovering
        assert lab.status()["recovering"] == seen_recovering
        deadline = time.monotonic() + 120
        while True:
            recovering = lab.recovering
            runs = list(lab.catalog.values())
            unfinished = [r for r in runs if not r.metadata.get("stop")]
            if unfinished:
                assert recovering >= 1, "a run without a stop document while nothing recovers"
            if runs and not unfinished and recovering == 0:
                break
            assert time.monotonic() < deadline, "recovery did not finish"
            time.sleep(0.01)
        lab.wait(60)
        (run,) = lab.catalog.values()
        assert run.metadata["stop"]["reason"] == DIED_REASON
        assert lab.recovering == 0 and lab.status()["recovering"] == 0
