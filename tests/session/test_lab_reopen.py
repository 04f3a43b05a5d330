"""A later session on the same directory sees the earlier runs, failed ones included."""

from __future__ import annotations

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import pytest

from smartlab_kernel.session import SessionError

from .conftest import SharedLab


def test_reopen_sees_earlier_runs(shared_lab: SharedLab) -> None:
    lab = shared_lab.lab
    assert lab.bench is not None
    lab.bench.world.new_vial("spectrometer")
    lab.bench.spectrometer.integration_time.put(0.01)
    (good,) = lab.submit(bp.count([lab.bench.spectrometer], num=4), md={"tag": "kept"}).wait(30)

    def failing():  # type: ignore[no-untyped-def]
        yield from bps.open_run()
        raise ValueError("deliberate")

    failed = lab.submit(failing())
    with pytest.raises(ValueError, match="deliberate"):
        failed.wait(30)
    lab.wait(30)
    before = {uid: run.metadata["stop"]["exit_status"] for uid, run in lab.catalog.items()}
    old_directory = lab.directory

    lab.close()
    with pytest.raises(SessionError, match="this lab is closed"):
        lab.submit(bp.count([lab.bench.spectrometer]))

    reopened = shared_lab.reopen()
    assert reopened.directory == old_directory
    after = {uid: run.metadata["stop"]["exit_status"] for uid, run in reopened.catalog.items()}
    assert after == before
    assert after[good] == "success" and after[failed.uids[0]] == "fail"
    stored = reopened.catalog[good]
    assert stored.metadata["start"]["tag"] == "kept"
    assert stored["primary"].read()["spectrometer_readout"].shape == (4,)
    assert reopened.storage.reports == []  # nothing needed recovering
    assert not list((old_directory / "journal" / "pending").glob("*.jnl"))
