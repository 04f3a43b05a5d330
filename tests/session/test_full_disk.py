"""A full disk pauses the run; nothing recorded is lost once space is freed."""

from __future__ import annotations

import time
from collections.abc import Callable

import bluesky.plans as bp
import pytest

from smartlab_kernel import Lab
from smartlab_kernel.session import SessionError
from smartlab_kernel.testing import FullDisk


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


def test_a_full_disk_pauses_the_run_and_resume_after_freeing_space_loses_nothing(
    lab: Lab,
) -> None:
    bench = lab.bench
    assert bench is not None
    if bench.world.vial_at("spectrometer") is None:
        bench.world.new_vial("spectrometer")
    emitted: list[int] = []
    times: list[float] = []

    primary: set[str] = set()

    def count_events(name: str, doc: dict) -> None:  # type: ignore[type-arg]
        if name == "descriptor" and doc["name"] == "primary":
            primary.add(doc["uid"])
        if name == "event" and doc["descriptor"] in primary:  # not the interruptions stream
            emitted.append(doc["seq_num"])
            times.append(doc["time"])

    token = lab.subscribe(count_events)
    run = lab.submit(bp.count([bench.reactor], num=40, delay=0.03))
    wait_for(lambda: run.events >= 5, what="the first events")
    disk = FullDisk()
    try:
        disk.fill()
        wait_for(lambda: run.state == "paused", what="the run to pause")
        status = lab.status()
        assert status["storage_held"] >= 1
        assert "the disk is full: free space, then resume" in status["storage_error"]
        with pytest.raises(SessionError, match=r"cannot resume: .* held in memory"):
            lab.resume()
        assert run.state == "paused"
        with pytest.raises(SessionError, match="cannot start a plan"):
            lab.submit(bp.count([bench.reactor]))
        disk.free()
        lab.resume()
        run.wait(60)
    finally:
        disk.restore()
        lab.unsubscribe(token)
    lab.wait(60)
    assert run.state == "finished"
    assert lab.status()["storage_held"] == 0 and lab.status()["storage_error"] is None
    assert emitted == list(range(1, 41))
    stored = lab.catalog[run.uids[0]]
    assert list(stored["primary"].read()["time"].values) == pytest.approx(times)
    assert stored.metadata["stop"]["exit_status"] == "success"
