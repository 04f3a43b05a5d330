"""Journal files: round trip with numpy arrays, torn and corrupted records, durability modes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import (
    DURABILITY_MODES,
    JournalFile,
    RunJournal,
    StorageError,
    pack_record,
    read_journal,
)
from smartlab_kernel.storage.codec import decode, encode


def test_codec_round_trips_documents_with_numpy_values() -> None:
    doc = {
        "uid": "u1",
        "data": {
            "spectrum": np.linspace(0.0, 1.0, 7),
            "image": np.arange(12, dtype=np.uint16).reshape(3, 4),
            "mask": np.array([True, False]),
            "label": np.array(["a", "bc"]),
            "count": np.int64(3),
            "value": np.float32(1.5),
        },
        "shape": (3, 4),
        "nested": {"list": [1, 2.5, None, "x"], 3: "int key"},
    }
    back = decode(encode(doc))
    np.testing.assert_array_equal(back["data"]["spectrum"], doc["data"]["spectrum"])
    assert back["data"]["spectrum"].dtype == np.float64
    np.testing.assert_array_equal(back["data"]["image"], doc["data"]["image"])
    assert back["data"]["image"].dtype == np.uint16 and back["data"]["image"].shape == (3, 4)
    np.testing.assert_array_equal(back["data"]["mask"], [True, False])
    np.testing.assert_array_equal(back["data"]["label"], ["a", "bc"])
    assert back["data"]["count"] == 3 and back["data"]["value"] == 1.5
    assert back["shape"] == [3, 4]
    assert back["nested"] == {"list": [1, 2.5, None, "x"], 3: "int key"}
    assert back["data"]["image"].flags.writeable  # a copy, not a view of the buffer


def test_codec_refuses_objects_it_cannot_store() -> None:
    with pytest.raises(TypeError, match="cannot store a object in a document"):
        encode({"x": object()})


def write_records(path: Path, count: int) -> list[tuple[int, str, dict]]:
    journal = JournalFile(path)
    records = [
        (i, "event", {"seq_num": i + 1, "data": {"x": np.full(4, float(i))}}) for i in range(count)
    ]
    for record in records:
        journal.append(*record)
    journal.close()
    journal.close()  # idempotent
    return records


def test_journal_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.jnl"
    records = write_records(path, 5)
    contents = read_journal(path)
    assert contents.damage is None
    assert contents.good_bytes == path.stat().st_size
    assert [(s, n) for s, n, _ in contents.records] == [(s, n) for s, n, _ in records]
    for (_, _, got), (_, _, want) in zip(contents.records, records, strict=True):
        np.testing.assert_array_equal(got["data"]["x"], want["data"]["x"])


@pytest.mark.parametrize("cut", [1, 5, 11, 30])
def test_torn_last_record_is_detected_and_earlier_ones_recovered(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "run.jnl"
    write_records(path, 4)
    size = path.stat().st_size
    last = len(pack_record(3, "event", {"seq_num": 4, "data": {"x": np.full(4, 3.0)}}))
    with open(path, "r+b") as handle:
        handle.truncate(size - cut)
    contents = read_journal(path)
    assert [s for s, _, _ in contents.records] == [0, 1, 2]
    assert contents.good_bytes == size - last
    assert contents.damage is not None and "cut short" in contents.damage
    assert contents.lost == [3] and contents.damaged[0].to_end


def test_corrupted_records_are_skipped_and_named(tmp_path: Path) -> None:
    path = tmp_path / "run.jnl"
    write_records(path, 3)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last payload
    path.write_bytes(bytes(data))
    contents = read_journal(path)
    assert len(contents.records) == 2 and contents.damage == "checksum mismatch"
    assert contents.lost == [2]
    data[0:2] = b"XX"
    path.write_bytes(bytes(data))
    contents = read_journal(path)
    assert [seq for seq, _, _ in contents.records] == [1]  # found again after the bad marker
    assert contents.damage == "bad record marker b'XXJ2'" and contents.lost == [0, 2]
    assert contents.good_bytes == 0


@pytest.mark.parametrize("durability", DURABILITY_MODES)
def test_run_journal_writes_one_file_per_run(
    tmp_path: Path, bench: SimulatedBench, run_engine: RunEngine, durability: str
) -> None:
    seen: list[tuple[str, int, str]] = []
    journal = RunJournal(
        tmp_path,
        durability=durability,
        listener=lambda run, seq, name, doc: seen.append((run, seq, name)),  # type: ignore[arg-type]
    )
    run_engine.subscribe(journal)
    uids = [*run_engine(bp.count([bench.reactor], num=3)), *run_engine(bp.count([bench.robot]))]
    journal.close()
    files = sorted((tmp_path / "pending").glob("*.jnl"))
    assert sorted(p.stem for p in files) == sorted(uids)
    first = read_journal(tmp_path / "pending" / f"{uids[0]}.jnl")
    names = [name for _, name, _ in first.records]
    assert names == ["start", "descriptor", "event", "event", "event", "stop"]
    assert [seq for seq, _, _ in first.records] == list(range(6))
    assert [s for s in seen if s[0] == uids[0]] == [(uids[0], i, n) for i, n in enumerate(names)]
    assert journal.open_runs() == []


def test_run_journal_refuses_bad_settings_and_orphans(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability must be one of"):
        RunJournal(tmp_path, durability="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sync_interval must be 0\.001-60 seconds"):
        RunJournal(tmp_path, sync_interval=0)
    journal = RunJournal(tmp_path, durability="process")
    with pytest.raises(StorageError, match="event document belongs to no open run"):
        journal("event", {"descriptor": "nope", "seq_num": 1})
    journal.close()


def test_a_full_disk_gives_a_clear_error_and_no_partial_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = RunJournal(tmp_path, durability="process")
    journal("start", {"uid": "run-1", "time": 0.0})
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(StorageError, match=r"the disk is full: free space, then resume"):
        journal("descriptor", {"uid": "d-1", "run_start": "run-1", "name": "primary"})
    monkeypatch.undo()
    journal("descriptor", {"uid": "d-1", "run_start": "run-1", "name": "primary"})
    journal.close()
    contents = read_journal(tmp_path / "pending" / "run-1.jnl")
    assert contents.damage is None
    assert [(seq, name) for seq, name, _ in contents.records] == [(0, "start"), (1, "descriptor")]


def test_append_makes_one_system_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each system call gives up the interpreter lock, and getting it back can
    # cost the RunEngine's thread a switch interval: one per record, no more.
    journal = JournalFile(tmp_path / "run.jnl")
    calls: list[str] = []
    for name in ("write", "fstat", "stat", "lseek", "ftruncate", "fsync"):
        real = getattr(os, name)

        def spy(*args: object, _name: str = name, _real: object = real) -> object:
            calls.append(_name)
            return _real(*args)  # type: ignore[operator]

        monkeypatch.setattr(os, name, spy)
    for seq in range(3):
        journal.append(seq, "event", {"seq_num": seq + 1, "data": {"x": np.zeros(4)}})
    monkeypatch.undo()
    journal.close()
    assert calls == ["write"] * 3
    assert len(read_journal(tmp_path / "run.jnl").records) == 3


def test_failed_append_to_a_reopened_file_keeps_its_earlier_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.jnl"
    write_records(path, 3)
    size = path.stat().st_size
    journal = JournalFile(path)  # as recovery does, to append a stop
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[:5])

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(OSError, match="short write"):
        journal.append(3, "stop", {"uid": "s", "exit_status": "fail"})
    monkeypatch.undo()
    assert path.stat().st_size == size  # cut back to the earlier records, not to zero
    journal.append(3, "stop", {"uid": "s", "exit_status": "fail"})
    journal.close()
    contents = read_journal(path)
    assert contents.damage is None
    assert [seq for seq, _, _ in contents.records] == [0, 1, 2, 3]


def test_with_an_error_handler_unwritable_documents_are_held_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[StorageError] = []
    seen: list[tuple[int, str]] = []
    journal = RunJournal(
        tmp_path,
        durability="process",
        listener=lambda run, seq, name, doc: seen.append((seq, name)),
        on_error=errors.append,
    )
    journal("start", {"uid": "run-1", "time": 0.0})
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    journal("descriptor", {"uid": "d-1", "run_start": "run-1", "name": "primary"})
    journal("event", {"uid": "e-1", "descriptor": "d-1", "seq_num": 1})
    assert journal.held == 2 and len(errors) == 1
    assert "the disk is full" in str(errors[0]) and "the disk is full" in str(journal.error)
    with pytest.raises(StorageError, match="the disk is full"):
        journal.retry_held()
    assert journal.held == 2
    monkeypatch.setattr(os, "write", real_write)
    journal.retry_held()
    journal("stop", {"uid": "s-1", "run_start": "run-1", "exit_status": "success"})
    assert journal.held == 0 and journal.error is None
    journal.close()
    contents = read_journal(tmp_path / "pending" / "run-1.jnl")
    names = [name for _, name, _ in contents.records]
    assert names == ["start", "descriptor", "event", "stop"]
    assert seen == [(0, "start"), (1, "descriptor"), (2, "event"), (3, "stop")]


def test_an_orphan_document_is_raised_even_with_an_error_handler(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path, durability="process", on_error=lambda error: None)
    with pytest.raises(StorageError, match="belongs to no open run"):
        journal("event", {"descriptor": "nope", "seq_num": 1})
    assert journal.held == 0
    journal.close()
