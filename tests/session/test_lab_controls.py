"""The non-blocking session: submit returns at once; pause, resume and abort from this thread."""

from __future__ import annotations

import time
from collections.abc import Callable

import bluesky.plans as bp
import pytest

from smartlab_kernel import Lab
from smartlab_kernel.session import Run, SessionError


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)


def long_count(lab: Lab, num: int = 60, delay: float = 0.04):  # type: ignore[no-untyped-def]
    bench = lab.bench
    assert bench is not None
    if bench.world.vial_at("spectrometer") is None:
        bench.world.new_vial("spectrometer")
    bench.spectrometer.integration_time.put(0.01)
    return bp.count([bench.spectrometer], num=num, delay=delay)


def test_pause_resume_from_the_test_thread(lab: Lab) -> None:
    started = time.monotonic()
    run = lab.submit(long_count(lab))
    assert time.monotonic() - started < 0.5  # returned at once
    assert run.state in ("queued", "running")
    wait_for(lambda: run.events >= 3)
    lab.pause()
    wait_for(lambda: run.state == "paused")
    assert lab.state == "paused"
    assert lab.current is run
    paused_at = run.events
    time.sleep(0.3)
    assert run.events == paused_at  # nothing happens while paused
    lab.resume()
    wait_for(lambda: run.state != "paused")
    (uid,) = run.wait(30)
    assert run.state == "finished" and run.events == 60
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    assert stored["primary"].read()["spectrometer_readout"].shape == (60,)


def test_abort_with_a_reason(lab: Lab) -> None:
    run = lab.submit(long_count(lab))
    wait_for(lambda: run.events >= 2)
    lab.abort("operator saw smoke")
    (uid,) = run.wait(30)  # an abort is not an error of the plan
    assert run.state == "aborted" and run.reason == "operator saw smoke"
    assert run.events < 60
    lab.wait(30)
    stop = lab.catalog[uid].metadata["stop"]
    assert stop["exit_status"] == "abort"
    assert stop["reason"] == "operator saw smoke"


def test_abort_while_paused(lab: Lab) -> None:
    run = lab.submit(long_count(lab))
    wait_for(lambda: run.events >= 1)
    lab.pause()
    wait_for(lambda: run.state == "paused")
    lab.abort("changed my mind")
    (uid,) = run.wait(30)
    assert run.state == "aborted"
    lab.wait(30)
    reason = lab.catalog[uid].metadata["stop"]["reason"]
    # the operator's pause before the abort is recorded with it (issue 15)
    assert reason.startswith("changed my mind; interrupted 1 time: paused")
    assert reason.endswith("(paused by the operator)")


def test_queued_plans_run_in_order(lab: Lab) -> None:
    runs = [lab.submit(long_count(lab, num=5, delay=0.02)) for _ in range(3)]
    assert runs[1].state == "queued" and runs[2].state == "queued"
    for run in runs:
        run.wait(30)
    assert [r.state for r in runs] == ["finished"] * 3
    assert runs[0].ended <= runs[1].started <= runs[1].ended <= runs[2].started  # type: ignore[operator]
    lab.wait(30)
    scan_ids = [lab.catalog[r.uids[0]].metadata["start"]["scan_id"] for r in runs]
    assert scan_ids == sorted(scan_ids) and len(set(scan_ids)) == 3


def test_abort_drops_queued_plans(lab: Lab) -> None:
    first = lab.submit(long_count(lab))
    second = lab.submit(long_count(lab, num=3))
    wait_for(lambda: first.events >= 1)
    lab.abort("stop everything")
    first.wait(30)
    assert second.wait(5) == []
    assert second.state == "aborted" and second.reason == "stop everything"


def test_abort_in_the_moment_before_the_engine_starts(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run is marked running just before the RunEngine starts it: abort must not be lost."""
    worker = lab._worker
    prepare = worker._prepare

    def slow_prepare(plan, run):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # widens the gap between "running" and the engine starting
        return prepare(plan, run)

    monkeypatch.setattr(worker, "_prepare", slow_prepare)
    run = lab.submit(long_count(lab))
    wait_for(lambda: run.state == "running")
    assert lab.engine.state == "idle"
    lab.abort("too early")
    run.wait(30)
    assert run.state == "aborted" and run.reason == "too early"
    assert run.events < 60


def test_abort_right_after_resume_is_not_lost(lab: Lab) -> None:
    """The worker may see the resume and the abort together, or the abort mid-resume."""
    for _ in range(3):
        run = lab.submit(long_count(lab))
        wait_for(lambda run=run: run.events >= 2)  # type: ignore[misc]
        lab.pause()
        wait_for(lambda run=run: run.state == "paused")  # type: ignore[misc]
        lab.resume()
        lab.abort("changed my mind")
        wait_for(lambda run=run: run.done, timeout=30)  # type: ignore[misc]
        assert run.state == "aborted" and run.reason == "changed my mind"
        assert run.events < 60


def test_a_stale_command_does_not_reach_the_next_run(lab: Lab) -> None:
    lab._worker._commands.put(("abort", "meant for an earlier run"))
    run = lab.submit(long_count(lab, num=5, delay=0.02))
    wait_for(lambda: run.events >= 1)
    lab.pause()
    wait_for(lambda: run.state == "paused")
    lab.resume()
    run.wait(30)
    assert run.state == "finished"


def test_controls_refuse_when_nothing_runs(lab: Lab) -> None:
    with pytest.raises(SessionError, match="nothing to pause: the RunEngine is idle"):
        lab.pause()
    with pytest.raises(SessionError, match="cannot resume: no plan is paused"):
        lab.resume()
    lab.abort("nothing to abort")  # harmless


def test_progress_listeners_and_estimates(lab: Lab) -> None:
    seen: list[tuple[str, int]] = []
    run = lab.submit(long_count(lab, num=10, delay=0.01))
    run.on_change(lambda r: seen.append((r.state, r.events)))
    run.wait(30)
    assert run.expected_events == 10
    assert seen[-1] == ("finished", 10)
    assert run.remaining == 0.0 and run.elapsed > 0
    assert isinstance(run, Run) and "finished" in repr(run)
