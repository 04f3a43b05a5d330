"""The LIMS stays in step with the runs on every failure path (issue 15, item 5).

After an empty reservoir, a device timeout, an abort, or a pause then an
abort: the run's own device error is reported, the run and its sample's
state are in the LIMS, and the LIMS stock equals the initial stock minus the
dispenses that succeeded (checked against the simulated reservoirs, which
are the physical truth). The kill -9 path is in ``test_lims_kill9.py``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from bluesky.utils import RequestAbort

from smartlab_kernel import Lab
from smartlab_kernel.campaign import bench_planner, campaign
from smartlab_kernel.devices.errors import ReservoirEmptyError
from smartlab_kernel.lims import LimsError, LimsStore, LimsTransaction
from smartlab_kernel.lims_link.link import LimsLink, attach_lims
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.testing import empty_reservoir, inject, plan_devices, reset_bench

pytestmark = pytest.mark.timeout(180)

PUMP_ITEMS = {"a": "stock_A", "b": "stock_B", "solvent": "stock_SOLVENT"}


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab.simulated(
        seed=5,
        directory=tmp_path_factory.mktemp("lims-failures"),
        time_scale=5000,
        operator="ana",
        device_timeout=1.0,
    )
    token = lab.subscribe(_keep_start)
    yield lab
    lab.unsubscribe(token)
    lab.close()


@pytest.fixture
def linked(shared_lab: Lab, lims: LimsStore) -> Iterator[tuple[Lab, LimsLink]]:
    reset_bench(shared_lab)
    link = attach_lims(shared_lab, lims)
    yield shared_lab, link
    shared_lab.lims = None


class Ledger:
    """LIMS stock and reservoir levels at the start, to check the stock invariant later."""

    def __init__(self, lab: Lab, store: LimsStore) -> None:
        self.lab, self.store = lab, store
        self.lims = _amounts(store)
        self.reservoirs = _reservoirs(lab)

    def dispensed(self) -> dict[str, float]:
        """Millilitres each pump really dispensed since the start (reservoir drop)."""
        now = _reservoirs(self.lab)
        return {pump: self.reservoirs[pump] - now[pump] for pump in now}

    def check(self) -> None:
        """LIMS stock == initial LIMS stock - what the pumps really dispensed."""
        expected = {
            PUMP_ITEMS[p]: self.lims[PUMP_ITEMS[p]] - v for p, v in self.dispensed().items()
        }
        assert _amounts(self.store) == pytest.approx(expected, abs=1e-9)


def _amounts(store: LimsStore) -> dict[str, float]:
    return {item.name: item.amount for item in store.items()}


def _reservoirs(lab: Lab) -> dict[str, float]:
    bench = lab.bench
    assert bench is not None
    return bench.dispenser.remaining()


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        time.sleep(0.01)


def _lims_run(store: LimsStore, uid: str) -> dict[str, object]:
    """The LIMS's record of a run (its metadata), failing if it has none."""
    with store.engine.connect() as conn:
        text = conn.execute(
            sa.text("SELECT metadata_json FROM runs WHERE run_uid = :uid"), {"uid": uid}
        ).scalar_one_or_none()
    assert text is not None, f"run {uid} is not in the LIMS"
    return dict(json.loads(text))


_STARTS: dict[str, dict[str, Any]] = {}


def _keep_start(name: str, doc: dict[str, Any]) -> None:
    if name == "start":
        _STARTS[doc["uid"]] = doc


def _sample_of(lab: Lab, uid: str) -> str:
    """The sample a recipe run made, from its start document (seen live, not in the catalog)."""
    (sample_id,) = _STARTS[uid]["sample_ids"]
    return str(sample_id)


def test_issue_15_item_5_empty_reservoir_with_lims_true(tmp_path: Path) -> None:
    """The issue's reproduction: three runs, the reservoir runs dry on the second."""
    lab = Lab.simulated(
        seed=0, directory=tmp_path, time_scale=1000, lims=True, stocks={"a": 5.0, "b": 50.0}
    )
    try:
        lab.subscribe(_keep_start)
        assert lab.lims is not None and lab.bench is not None
        store = lab.lims.store
        lab.bench.dispenser.a.fill(3.0)  # the reservoir holds less than the LIMS thinks
        ledger = Ledger(lab, store)
        runs = []
        for _ in range(3):
            run = lab.submit(
                measure_recipe(Recipe({"a": 2.0, "b": 1.0}, hold_s=10), **plan_devices(lab))
            )
            with contextlib.suppress(Exception):  # the runs that fail raise
                run.wait(60)
            runs.append(run)
        lab.wait(60)
        assert [r.state for r in runs] == ["finished", "failed", "failed"]
        for run in runs[1:]:
            assert isinstance(run.error, ReservoirEmptyError), repr(run.error)
            assert run.reason.startswith("ReservoirEmptyError: dispenser_a")
            (uid,) = run.uids
            stop = lab.catalog[uid].metadata["stop"]
            assert stop["exit_status"] == "fail" and stop["reason"] == run.reason
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM runs")).scalar_one() == 3
        states = []
        for run in runs:
            (uid,) = run.uids
            metadata = _lims_run(store, uid)
            states.append((metadata["exit_status"], store.get_sample(_sample_of(lab, uid)).state))
            if run.state == "failed":
                assert metadata["reason"] == run.reason
        assert states == [
            ("success", "measured"),
            ("fail", "invalidated"),
            ("fail", "invalidated"),
        ]
        ledger.check()
        assert store.verify_audit().ok
    finally:
        lab.close()


def test_an_empty_reservoir_is_reported_and_recorded(linked: tuple[Lab, LimsLink]) -> None:
    lab, link = linked
    store = link.store
    bench = lab.bench
    assert bench is not None
    with empty_reservoir(bench.dispenser.b, 1.0):
        ledger = Ledger(lab, store)
        run = lab.submit(
            measure_recipe(Recipe({"a": 3.0, "b": 2.0}, hold_s=60), **plan_devices(lab)),
            campaign_id="camp-empty",
        )
        with pytest.raises(ReservoirEmptyError, match="dispenser_b"):
            run.wait(60)
        lab.wait(60)
        ledger.check()
    assert run.state == "failed" and run.reason.startswith("ReservoirEmptyError: dispenser_b")
    (uid,) = run.uids
    assert lab.catalog[uid].metadata["stop"]["reason"] == run.reason
    metadata = _lims_run(store, uid)
    assert metadata["exit_status"] == "fail" and metadata["reason"] == run.reason
    assert store.get_sample(_sample_of(lab, uid)).state == "invalidated"
    assert [r.run_uid for r in store.runs_of_campaign("camp-empty")] == [uid]
    assert store.verify_audit().ok
    # the LIMS is usable afterwards: no transaction was left open on the RunEngine's thread
    run = lab.submit(measure_recipe(Recipe({"a": 1.0}, hold_s=10), **plan_devices(lab)))
    run.wait(60)
    lab.wait(60)
    assert _lims_run(store, run.uids[0])["exit_status"] == "success"


def test_a_device_timeout_takes_only_the_stock_that_was_dispensed(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    store = link.store
    bench = lab.bench
    assert bench is not None
    ledger = Ledger(lab, store)
    with inject(bench.dispenser.b, "timeout"):
        run = lab.submit(
            measure_recipe(Recipe({"a": 3.0, "b": 2.0}, hold_s=60), **plan_devices(lab))
        )
        with pytest.raises(Exception, match="dispenser_b"):
            run.wait(60)
    lab.wait(60)
    assert run.state == "failed" and run.reason.startswith("DeviceTimeoutError: dispenser_b")
    assert ledger.dispensed() == pytest.approx({"a": 3.0, "b": 0.0, "solvent": 0.0})
    ledger.check()  # pump a's 3 mL are gone (into the failed vial); pump b's 2 mL are not
    (uid,) = run.uids
    metadata = _lims_run(store, uid)
    assert metadata["exit_status"] == "fail" and metadata["reason"] == run.reason
    assert store.get_sample(_sample_of(lab, uid)).state == "invalidated"


def test_an_abort_during_the_hold_is_recorded(linked: tuple[Lab, LimsLink]) -> None:
    lab, link = linked
    store = link.store
    ledger = Ledger(lab, store)
    run = lab.submit(
        measure_recipe(Recipe({"a": 1.5, "b": 1.0}, hold_s=80000), **plan_devices(lab))
    )
    _until(lambda: bool(run.uids))
    sample_id = _sample_of(lab, run.uids[0])
    _until(lambda: store.get_sample(sample_id).state == "prepared")
    lab.abort("test abort during the hold")
    _until(lambda: run.done)
    lab.wait(60)
    assert run.state == "aborted"
    metadata = _lims_run(store, run.uids[0])
    assert metadata["exit_status"] == "abort"
    assert metadata["reason"] == "test abort during the hold"
    assert store.get_sample(sample_id).state == "invalidated"
    assert ledger.dispensed() == pytest.approx({"a": 1.5, "b": 1.0, "solvent": 0.0})
    ledger.check()


def test_pause_then_abort_during_a_dispense(linked: tuple[Lab, LimsLink]) -> None:
    lab, link = linked
    store = link.store
    bench = lab.bench
    assert bench is not None
    ledger = Ledger(lab, store)
    pump_b = bench.dispenser.b
    pump_b.timeout = 20.0  # pump b hangs mid-dispense for 20 s: pause and abort meanwhile
    try:
        with inject(pump_b, "timeout"):
            run = lab.submit(
                measure_recipe(Recipe({"a": 1.25, "b": 2.25}, hold_s=60), **plan_devices(lab))
            )
            _until(lambda: float(pump_b.volume.get()) == 2.25 and ledger.dispensed()["a"] > 0)
            lab.pause()
            _until(lambda: run.state == "paused")
            # While the run is paused the LIMS takes other writers (nothing holds its lock).
            with ThreadPoolExecutor(1) as pool:
                other = pool.submit(store.register_sample, "buffer", operator="bob")
                assert other.result(timeout=10).state == "registered"
            lab.abort("test pause then abort")
            _until(lambda: run.done)
    finally:
        pump_b.timeout = 1.0
    lab.wait(60)
    assert run.state == "aborted"
    (uid,) = run.uids
    metadata = _lims_run(store, uid)
    assert metadata["exit_status"] == "abort"
    # the operator's pause before the abort is recorded with it
    assert metadata["reason"].startswith("test pause then abort; interrupted 1 time: paused")
    assert store.get_sample(_sample_of(lab, uid)).state == "invalidated"
    assert ledger.dispensed() == pytest.approx({"a": 1.25, "b": 0.0, "solvent": 0.0})
    ledger.check()
    assert store.verify_audit().ok


class _AbortAsThePumpStarts:
    """Between the LIMS link and the RunEngine: loses the reply to one pump ``set``.

    It throws ``RequestAbort`` at the ``set`` once the pump has finished, as
    the RunEngine does when an abort lands just after it started the pump
    and before it handed the status to the plan (found by the fault campaign).
    """

    def __init__(self, pump: Any) -> None:
        self.pump = pump

    def wrap(self, plan: Any, run: Any = None) -> Any:
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                msg = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                return stop.value
            error = None
            reply = yield msg
            if msg.command == "set" and msg.obj is self.pump:
                reply.wait(30)  # the dispense happened, its status never reaches the plan
                error, reply = RequestAbort(), None


def test_an_abort_as_the_pump_starts_still_takes_what_it_dispensed(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    bench = lab.bench
    assert bench is not None
    ledger = Ledger(lab, link.store)
    lab.attach("abort-as-pump-starts", _AbortAsThePumpStarts(bench.dispenser.b))
    try:
        recipe = Recipe({"a": 1.0, "b": 2.5}, hold_s=60)
        run = lab.submit(measure_recipe(recipe, **plan_devices(lab)))
        with contextlib.suppress(Exception):
            run.wait(60)
        lab.wait(60)
    finally:
        lab.attachments.pop("abort-as-pump-starts")
    assert run.state == "aborted"  # before: "finished", though its stop says abort
    (uid,) = run.uids
    assert _lims_run(link.store, uid)["exit_status"] == "abort"
    assert ledger.dispensed() == pytest.approx({"a": 1.0, "b": 2.5, "solvent": 0.0})
    ledger.check()  # before: stock_B 2.5 mL above its reservoir
    assert link.problems == []


def test_a_campaign_aborted_in_its_second_experiment_closes_that_run_in_the_lims(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    ledger = Ledger(lab, link.store)
    starts: list[str] = []

    def started(name: str, doc: dict[str, Any]) -> None:
        if name == "start" and doc.get("plan_name") == "measure_recipe":
            starts.append(doc["uid"])

    token = lab.subscribe(started)
    try:
        planner = bench_planner(seed=3, initial_design=3)
        run = lab.submit(campaign(lab, planner, budget=3))
        _until(lambda: len(starts) == 2)
        time.sleep(0.05)  # inside the second experiment
        lab.abort("test abort in the second experiment")
        _until(lambda: run.done)
    finally:
        lab.unsubscribe(token)
    lab.wait(60)
    first, second = (_lims_run(link.store, uid) for uid in starts)
    assert first["exit_status"] == "success"
    # each run of the campaign's plan has its own record, the aborted one closed
    assert second["exit_status"] == "abort"
    assert second["reason"].startswith("test abort in the second experiment")
    assert link.store.get_sample(_sample_of(lab, starts[1])).state == "invalidated"
    ledger.check()


def test_a_failed_dispense_in_a_campaign_does_not_stand_for_the_next_one(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    bench = lab.bench
    assert bench is not None
    pump_b = bench.dispenser.b
    level = float(pump_b.remaining.get())
    pump_b.fill(0.0)  # the first experiment's dispense of b fails at once (set's own error)
    ledger = Ledger(lab, link.store)

    def refill(result: Any) -> None:
        if float(pump_b.remaining.get()) == 0.0:
            pump_b.fill(level)
            ledger.reservoirs["b"] = level

    planner = bench_planner(seed=3, initial_design=3)
    started = time.monotonic()
    run = lab.submit(campaign(lab, planner, budget=2, on_result=refill))
    run.wait(120)
    results = run.result
    lab.wait(60)
    assert [r.outcomes is None for r in results] == [True, False]
    # before: the second dispense of b was taken as the first run's, and its
    # own waited 60 s for a report that had gone to the other
    assert time.monotonic() - started < 45
    taken = [
        e.after
        for e in link.store.audit_entries("item:stock_B")
        if e.action == "consume" and e.after["run_uid"] in {r.run_uid for r in results}
    ]
    assert [t["run_uid"] for t in taken] == [results[1].run_uid]
    ledger.check()
    assert link.problems == []


def test_a_lims_failure_never_hides_the_runs_own_error(
    linked: tuple[Lab, LimsLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, link = linked
    bench = lab.bench
    assert bench is not None

    def unreachable(*_args: object, **_kwargs: object) -> None:
        raise LimsError("the LIMS database is unreachable")

    monkeypatch.setattr(LimsTransaction, "finish_run", unreachable)
    with inject(bench.dispenser.b, "timeout"):
        run = lab.submit(measure_recipe(Recipe({"a": 1.0, "b": 1.0}), **plan_devices(lab)))
        with pytest.raises(Exception, match="dispenser_b"):
            run.wait(60)
    lab.wait(60)
    assert run.state == "failed" and run.reason.startswith("DeviceTimeoutError: dispenser_b")
    message = f"run {run.uids[0]}: its end (fail) not recorded: the LIMS database is unreachable"
    assert f"LIMS: {message}" in getattr(run.error, "__notes__", [])
    assert message in link.status()["problems"]
