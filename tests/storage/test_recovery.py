"""Recovery at start: unfinished runs closed as failed, torn tails reported, the rest shipped."""

from __future__ import annotations

from pathlib import Path

import bluesky.plans as bp
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import (
    DIED_REASON,
    DurableCapture,
    EmbeddedCatalog,
    RunJournal,
    read_journal,
)


def journal_a_run(
    directory: Path, run_engine: RunEngine, bench: SimulatedBench, *, with_stop: bool, num: int
) -> str:
    """Journal a count as a process that dies before (or right after) the stop would."""
    journal = RunJournal(directory, durability="process")
    token = run_engine.subscribe(
        lambda name, doc: journal(name, doc) if with_stop or name != "stop" else None
    )
    (uid,) = run_engine(bp.count([bench.reactor], num=num))
    run_engine.unsubscribe(token)
    journal.close()
    return str(uid)


def test_torn_last_record_is_reported_and_the_rest_recovered(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    journal_dir = tmp_path / "journal"
    uid = journal_a_run(journal_dir, run_engine, bench, with_stop=False, num=6)
    path = journal_dir / "pending" / f"{uid}.jnl"
    full_size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(full_size - 7)  # tear the last event
    torn = read_journal(path)
    assert [n for _, n, _ in torn.records] == ["start", "descriptor", *["event"] * 5]

    capture = DurableCapture(embedded_catalog, journal_dir)
    try:
        assert capture.wait_shipped(60)
        reports = list(capture.reports)
    finally:
        capture.close()

    assert len(reports) == 2
    assert reports[0].startswith(f"run {uid}: journal damaged at byte {torn.good_bytes} (record")
    assert "7 records recovered" in reports[0]
    assert reports[1] == f"run {uid}: closed as failed ({DIED_REASON})"
    saved = journal_dir / "pending" / f"{uid}.torn-{torn.good_bytes}"
    assert saved.stat().st_size == full_size - 7 - torn.good_bytes  # the damaged tail, kept
    run = embedded_catalog.reconnect()[uid]
    stop = run.metadata["stop"]
    assert stop["exit_status"] == "fail" and stop["reason"] == DIED_REASON
    assert stop["num_events"] == {"primary": 5}
    assert run["primary"].read()["reactor_temperature"].shape == (5,)
    assert list(run["primary"].base["internal"].read(["seq_num"])["seq_num"]) == [1, 2, 3, 4, 5]
    shipped = journal_dir / "shipped" / f"{uid}.jnl"
    assert shipped.exists() and not path.exists()
    assert [n for _, n, _ in read_journal(shipped).records][-1] == "stop"


def test_a_journaled_but_unshipped_run_is_shipped_intact(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    journal_dir = tmp_path / "journal"
    uid = journal_a_run(journal_dir, run_engine, bench, with_stop=True, num=3)
    capture = DurableCapture(embedded_catalog, journal_dir)
    try:
        assert capture.wait_shipped(60)
        assert capture.reports == []
        assert capture.backlog == 0
    finally:
        capture.close()
    run = embedded_catalog.reconnect()[uid]
    assert run.metadata["stop"]["exit_status"] == "success"
    assert run["primary"].read()["reactor_temperature"].shape == (3,)


def test_a_journal_without_an_intact_record_is_left_and_reported(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog
) -> None:
    pending = tmp_path / "journal" / "pending"
    pending.mkdir(parents=True)
    (pending / "garbage.jnl").write_bytes(b"SJ\x01")
    capture = DurableCapture(embedded_catalog, tmp_path / "journal")
    try:
        assert capture.wait_shipped(30)
    finally:
        capture.close()
    assert any("record header cut short" in r for r in capture.reports)
    assert capture.reports[-1] == (
        f"run garbage: journal holds no intact record; left in {pending / 'garbage.jnl'}"
    )


def test_live_capture_ships_while_the_plan_runs(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", durability="always")
    run_engine.subscribe(capture)
    try:
        (uid,) = run_engine(bp.count([bench.reactor], num=20))
        assert capture.wait_shipped(60)
        latencies = list(capture.shipper.latencies)
    finally:
        capture.close()
    assert len(latencies) == 20 and all(0 <= t < 30 for t in latencies)
    run = embedded_catalog.reconnect()[uid]
    assert run["primary"].read()["reactor_temperature"].shape == (20,)
    assert (tmp_path / "journal" / "shipped" / f"{uid}.jnl").exists()
