"""Recovery at start: unfinished runs closed as failed, damaged records named, the rest shipped."""

from __future__ import annotations

import struct
from pathlib import Path

import bluesky.plans as bp
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import (
    DIED_REASON,
    DurableCapture,
    EmbeddedCatalog,
    RunJournal,
    read_journal,
)
from smartlab_kernel.storage.journal import parse_journal


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
    assert reports[0] == (
        f"run {uid}: 7 records recovered, record seq 7 lost ({torn.damage} at byte "
        f"{torn.good_bytes}, to the end of the file); damaged bytes saved to "
        f"{uid}.torn-{torn.good_bytes}"
    )
    assert torn.damage is not None and torn.damage.startswith("record cut short")
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


def record_offsets(data: bytes) -> list[int]:
    """Offset of each record of an intact journal (format 2), then the file size."""
    offsets = [0]
    while offsets[-1] < len(data):
        _, length, _, _, _ = struct.unpack_from("<4sIQII", data, offsets[-1])
        offsets.append(offsets[-1] + 24 + length)
    return offsets


@pytest.mark.parametrize("with_stop", [False, True], ids=["died", "finished"])
def test_a_flipped_byte_mid_journal_loses_only_that_event(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    with_stop: bool,
) -> None:
    # Issue 15: one flipped byte dropped every record after it from the catalog.
    journal_dir = tmp_path / "journal"
    uid = journal_a_run(journal_dir, run_engine, bench, with_stop=with_stop, num=38)
    path = journal_dir / "pending" / f"{uid}.jnl"
    data = path.read_bytes()
    offsets = record_offsets(data)
    assert len(offsets) - 1 == 40 + with_stop  # start, descriptor, 38 events (stop)
    lost_seq = 16  # the event with seq_num 15
    damaged = bytearray(data)
    damaged[(offsets[lost_seq] + offsets[lost_seq + 1]) // 2] ^= 0x04
    path.write_bytes(bytes(damaged))

    capture = DurableCapture(embedded_catalog, journal_dir)
    try:
        assert capture.wait_shipped(60)
        reports = list(capture.reports)
    finally:
        capture.close()

    at = offsets[lost_seq]
    assert reports[0] == (
        f"run {uid}: {39 + with_stop} records recovered, record seq {lost_seq} lost "
        f"(checksum mismatch at byte {at}); damaged bytes saved to {uid}.torn-{at}"
    )
    if with_stop:
        assert len(reports) == 1
    else:
        assert reports[1:] == [f"run {uid}: closed as failed ({DIED_REASON})"]
    torn = journal_dir / "pending" / f"{uid}.torn-{at}"
    assert torn.read_bytes() == bytes(damaged[at : offsets[lost_seq + 1]])
    expected = [n for n in range(1, 39) if n != lost_seq - 1]
    run = embedded_catalog.reconnect()[uid]
    assert run["primary"].base["internal"].read(["seq_num"])["seq_num"].tolist() == expected
    stop = run.metadata["stop"]
    assert stop["exit_status"] == ("success" if with_stop else "fail")
    if not with_stop:
        assert stop["num_events"] == {"primary": 37}
    shipped = read_journal(journal_dir / "shipped" / f"{uid}.jnl")
    assert shipped.damaged == []  # rewritten without the damaged bytes; a died stop appended
    names = [name for _, name, _ in shipped.records]
    assert names == ["start", "descriptor", *["event"] * 37, "stop"]
    seqs = [seq for seq, _, _ in shipped.records]
    assert seqs == [s for s in range(41) if s != lost_seq]  # the stop comes after the lost one


def test_a_run_whose_start_record_is_lost_is_reported_and_left(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    journal_dir = tmp_path / "journal"
    uid = journal_a_run(journal_dir, run_engine, bench, with_stop=True, num=3)
    path = journal_dir / "pending" / f"{uid}.jnl"
    damaged = bytearray(path.read_bytes())
    damaged[30] ^= 0xFF
    path.write_bytes(bytes(damaged))
    capture = DurableCapture(embedded_catalog, journal_dir)
    try:
        assert capture.wait_shipped(30)  # not retried for ever
        reports = list(capture.reports)
    finally:
        capture.close()
    assert reports[0].startswith(f"run {uid}: 5 records recovered, record seq 0 lost (checksum")
    assert reports[1] == (
        f"run {uid}: cannot be shipped (its start document was lost); left in {path}"
    )
    left = parse_journal(path.read_bytes())
    assert left.damaged == [] and left.records[0][1] == "descriptor"
    assert uid not in embedded_catalog.reconnect()
