"""One writer per lab directory (issue 15, case 2).

Before the lock, a second process opening a lab directory in use recovered
(closed as crashed) the first one's live journal; the first one's finished
run then failed to re-ship and a fresh lab showed 5 of 6 runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import bluesky.plans as bp
import pytest

from smartlab_kernel import Lab
from smartlab_kernel.session import SessionError
from smartlab_kernel.storage import LabInUseError

SECOND_OPENER = textwrap.dedent(
    """
    import sys
    from smartlab_kernel import Lab
    from smartlab_kernel.storage import LabInUseError
    try:
        Lab.simulated(seed=1, directory=sys.argv[1], time_scale=1000)
    except LabInUseError as exc:
        print("REFUSED", exc.holder["pid"], exc)
        sys.exit(3)
    print("OPENED")
    """
)


def count_plan(lab: Lab, num: int = 3):  # type: ignore[no-untyped-def]
    assert lab.bench is not None
    if lab.bench.world.vial_at("spectrometer") is None:
        lab.bench.world.new_vial("spectrometer")
    lab.bench.spectrometer.integration_time.put(0.01)
    return bp.count([lab.bench.spectrometer], num=num, delay=0.05)


def test_a_second_process_is_refused_naming_the_holder_and_loses_nothing(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "lab"
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as lab:
        runs = [lab.submit(count_plan(lab)) for _ in range(3)]
        second = subprocess.run(
            [sys.executable, "-c", SECOND_OPENER, str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"REFUSED {os.getpid()}" in second.stdout
        assert socket.gethostname() in second.stdout and "read_only=True" in second.stdout
        runs += [lab.submit(count_plan(lab)) for _ in range(3)]
        for run in runs:
            run.wait(60)
        lab.wait(60)
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as fresh:
        assert len(list(fresh.catalog)) == 6
        assert fresh.status()["recovery"] == []


def test_a_second_lab_in_the_same_process_is_refused_until_the_first_closes(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "lab"
    first = Lab.simulated(seed=0, directory=directory, time_scale=1000)
    try:
        with pytest.raises(LabInUseError, match=f"pid {os.getpid()}"):
            Lab.simulated(seed=0, directory=directory, time_scale=1000)
        first.submit(count_plan(first)).wait(60)
        first.wait(60)
        with Lab.simulated(seed=0, directory=directory, read_only=True) as reader:
            assert len(list(reader.catalog)) == 1
            assert reader.status()["read_only"] is True
            with pytest.raises(SessionError, match="read-only"):
                reader.submit(count_plan(first))
    finally:
        first.close()
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as again:
        assert len(list(again.catalog)) == 1


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from smartlab_kernel.storage import LabDirectoryLock\n"
            "LabDirectoryLock(sys.argv[1]).acquire()\n"
            "print('HELD', flush=True)\n"
            "time.sleep(600)\n",
            str(directory),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        with pytest.raises(LabInUseError, match=f"pid {holder.pid}"):
            Lab.simulated(seed=0, directory=directory, time_scale=1000)
    finally:
        holder.kill()
        holder.wait(30)
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as lab:
        assert lab.status()["read_only"] is False


def test_read_only_cannot_attach_a_lims(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="read-only lab cannot attach"):
        Lab.simulated(directory=tmp_path / "lab", read_only=True, lims=True)


def test_a_lab_that_fails_to_open_releases_the_lock(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    directory.mkdir()
    (directory / "journal").write_text("a file where the journal folder should be")
    with pytest.raises(OSError):
        Lab.simulated(seed=0, directory=directory, time_scale=1000)
    (directory / "journal").unlink()
    with Lab.simulated(seed=0, directory=directory, time_scale=1000) as lab:
        assert lab.status()["read_only"] is False
