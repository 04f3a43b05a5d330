"""A damaged journal record loses that record only: the reader finds the next one and names the gap.

The property tests are exhaustive rather than sampled: every byte of a
journal flipped in turn, and the file cut at every offset, in both the
current record format and the older one (journals already on disk).
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartlab_kernel.storage import JournalFile, pack_record, read_journal
from smartlab_kernel.storage.codec import encode
from smartlab_kernel.storage.journal import DamagedRegion, JournalContents, parse_journal

Record = tuple[int, str, dict[str, Any]]
SEED = 20261207


def make_records(count: int) -> list[Record]:
    """A start, a descriptor, then events of varied size (scalars and small arrays)."""
    records: list[Record] = [
        (0, "start", {"uid": "run-1", "time": 0.0, "plan_name": "count"}),
        (1, "descriptor", {"uid": "d-1", "run_start": "run-1", "name": "primary"}),
    ]
    for seq in range(2, count):
        data: dict[str, Any] = {"x": float(seq)}
        if seq % 3 == 0:
            data["spectrum"] = np.linspace(0.0, 1.0, seq % 7 + 1)
        records.append((seq, "event", {"descriptor": "d-1", "seq_num": seq - 1, "data": data}))
    return records


def pack_record_v1(seq: int, name: str, doc: dict[str, Any]) -> bytes:
    """A record in the format journals were written in before the sync marker (format 1)."""
    payload = encode([seq, name, doc])
    return struct.pack("<2sII", b"SJ", len(payload), zlib.crc32(payload)) + payload


def journal_bytes(records: list[Record], v1: bool = False) -> tuple[bytes, list[int]]:
    """The file's bytes and the offset of each record (plus the file size at the end)."""
    pack = pack_record_v1 if v1 else pack_record
    chunks = [pack(*record) for record in records]
    offsets = [0]
    for chunk in chunks:
        offsets.append(offsets[-1] + len(chunk))
    return b"".join(chunks), offsets


def seqs(contents: JournalContents) -> list[int]:
    return [seq for seq, _, _ in contents.records]


def assert_same_docs(got: list[Record], want: list[Record]) -> None:
    assert [(s, n) for s, n, _ in got] == [(s, n) for s, n, _ in want]
    for (_, _, got_doc), (_, _, want_doc) in zip(got, want, strict=True):
        assert got_doc.keys() == want_doc.keys()
        assert got_doc.get("seq_num") == want_doc.get("seq_num")
        if "data" in want_doc:
            for key, value in want_doc["data"].items():
                np.testing.assert_array_equal(got_doc["data"][key], value)


def test_one_flipped_byte_mid_journal_loses_that_record_only(tmp_path: Path) -> None:
    # The issue: one flipped byte in the middle dropped every record after it.
    records = make_records(40)
    data, offsets = journal_bytes(records)
    damaged = bytearray(data)
    middle = (offsets[15] + offsets[16]) // 2
    damaged[middle] ^= 0x10
    path = tmp_path / "run.jnl"
    path.write_bytes(bytes(damaged))

    contents = read_journal(path)

    assert_same_docs(contents.records, records[:15] + records[16:])
    assert contents.lost == [15]
    assert contents.damaged == [
        DamagedRegion(offsets[15], offsets[16], "checksum mismatch", (15,), False)
    ]
    assert (
        contents.damaged[0].describe()
        == f"record seq 15 lost (checksum mismatch at byte {offsets[15]})"
    )
    assert contents.good_bytes == offsets[15] and contents.damage == "checksum mismatch"
    assert contents.intact_spans() == [(0, offsets[15]), (offsets[16], len(data))]
    assert contents.next_seq == 40


@pytest.mark.parametrize("length", [0, 1, 200, 0xFFFFFFFF])
def test_a_corrupted_length_field_cannot_swallow_later_records(length: int) -> None:
    records = make_records(30)
    data, offsets = journal_bytes(records)
    damaged = bytearray(data)
    struct.pack_into("<I", damaged, offsets[10] + 4, length)
    contents = parse_journal(bytes(damaged))
    assert seqs(contents) == [s for s in range(30) if s != 10]
    assert [(r.start, r.end, r.reason, r.lost) for r in contents.damaged] == [
        (offsets[10], offsets[11], "header checksum mismatch", (10,))
    ]


@pytest.mark.parametrize("v1", [False, True], ids=["format2", "format1"])
def test_every_single_flipped_byte_loses_exactly_its_record(v1: bool) -> None:
    records = make_records(40)
    data, offsets = journal_bytes(records, v1=v1)
    rng = random.Random(SEED)
    record_of = [k for k in range(len(records)) for _ in range(offsets[k], offsets[k + 1])]
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= rng.randrange(1, 256)
        contents = parse_journal(bytes(damaged))
        k = record_of[position]
        where = f"byte {position} (record {k})"
        assert seqs(contents) == [s for s in range(len(records)) if s != k], where
        assert len(contents.damaged) == 1, where
        region = contents.damaged[0]
        assert (region.start, region.end, region.lost) == (offsets[k], offsets[k + 1], (k,)), where
        assert region.to_end == (k == len(records) - 1), where
    assert_same_docs(parse_journal(data).records, records)


@pytest.mark.parametrize("v1", [False, True], ids=["format2", "format1"])
def test_a_journal_cut_at_any_offset_keeps_every_whole_record(v1: bool) -> None:
    records = make_records(40)
    data, offsets = journal_bytes(records, v1=v1)
    for cut in range(len(data) + 1):
        contents = parse_journal(data[:cut])
        whole = sum(1 for end in offsets[1:] if end <= cut)
        assert seqs(contents) == list(range(whole)), cut
        if cut in offsets:
            assert contents.damaged == [], cut
        else:
            (region,) = contents.damaged
            assert (region.start, region.end, region.lost, region.to_end) == (
                offsets[whole],
                cut,
                (whole,),
                True,
            ), cut
            assert "cut short" in region.reason, cut


def test_several_damaged_records_are_each_named() -> None:
    rng = random.Random(SEED)
    records = make_records(60)
    data, offsets = journal_bytes(records)
    for _ in range(200):
        hit = sorted(rng.sample(range(len(records)), rng.randint(1, 4)))
        damaged = bytearray(data)
        for k in hit:
            damaged[rng.randrange(offsets[k], offsets[k + 1])] ^= 1 << rng.randrange(8)
        contents = parse_journal(bytes(damaged))
        assert seqs(contents) == [s for s in range(len(records)) if s not in hit]
        assert contents.lost == hit  # damaged neighbours make one region naming both
        assert all(
            (region.start, region.end) == (offsets[region.lost[0]], offsets[region.lost[-1] + 1])
            for region in contents.damaged
        )


def test_bytes_between_records_lose_no_record() -> None:
    records = make_records(10)
    data, offsets = journal_bytes(records)
    junk = b"\x00" * 7 + b"SJ" + b"\xff" * 20
    contents = parse_journal(data[: offsets[4]] + junk + data[offsets[4] :])
    assert seqs(contents) == list(range(10))
    (region,) = contents.damaged
    assert (region.start, region.end, region.lost) == (offsets[4], offsets[4] + len(junk), ())
    marker = repr(b"\x00" * 4)
    assert region.describe() == (
        f"{len(junk)} damaged bytes, no record lost "
        f"(bad record marker {marker} at byte {offsets[4]})"
    )


def test_an_older_journal_with_records_appended_in_the_current_format() -> None:
    # Recovery appends a stop (format 2) to a journal written by an older version (format 1).
    records = make_records(12)
    old, old_offsets = journal_bytes(records[:11], v1=True)
    new = pack_record(*records[11])
    assert_same_docs(parse_journal(old + new).records, records)
    damaged = bytearray(old + new)
    damaged[old_offsets[10] + 3] ^= 0x01  # the length of the last format-1 record
    contents = parse_journal(bytes(damaged))
    assert seqs(contents) == [*range(10), 11] and contents.lost == [10]


def test_a_record_appended_after_a_torn_one_is_read(tmp_path: Path) -> None:
    # The torn record's intact header claims bytes that now belong to the next record.
    records = make_records(6)
    path = tmp_path / "run.jnl"
    journal = JournalFile(path)
    for record in records[:5]:
        journal.append(*record)
    journal.close()
    torn_at = path.stat().st_size - 5
    with open(path, "r+b") as handle:
        handle.truncate(torn_at)
    journal = JournalFile(path)
    journal.append(*records[5])
    journal.close()
    contents = read_journal(path)
    assert seqs(contents) == [0, 1, 2, 3, 5]
    assert contents.lost == [4] and not contents.damaged[0].to_end


def test_a_torn_tail_names_the_seq_from_its_intact_header() -> None:
    # Records 0-9 intact, then record 12 torn: 10 and 11 never written (say, a disk-full
    # rollback that failed); its intact header names it, and so the gap.
    records = make_records(13)
    data, _ = journal_bytes(records[:10])
    torn = pack_record(*records[12])[:-3]
    contents = parse_journal(data + torn)
    assert seqs(contents) == list(range(10))
    assert contents.lost == [10, 11, 12] and contents.next_seq == 13
    assert contents.damaged[0].describe() == (
        f"records seq 10-12 lost (record cut short ({len(torn) - 24} of {len(torn) - 21} bytes) "
        f"at byte {len(data)}, to the end of the file)"
    )


def test_the_documented_header_layout() -> None:
    record = pack_record(7, "event", {"seq_num": 6})
    magic, length, seq, crc, header_crc = struct.unpack_from("<4sIQII", record)
    assert magic == b"\xa5SJ2" and seq == 7 and length == len(record) - 24
    assert crc == zlib.crc32(record[24:]) and header_crc == zlib.crc32(record[:20])
