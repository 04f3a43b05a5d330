r"""Append-only, checksummed journal files: one per run, written before the RunEngine moves on.

Record layout (format 2, the one written), all integers little-endian:

======  =====  ==============================================================
offset  bytes  field
======  =====  ==============================================================
0       4      sync marker ``b"\xa5SJ2"``
4       4      payload length (uint32)
8       8      ``seq`` of the record (uint64)
16      4      CRC-32 of the payload (uint32)
20      4      CRC-32 of bytes 0-19, the header itself (uint32)
24      n      payload: msgpack of ``[seq, name, doc]``
======  =====  ==============================================================

Format 1 (older journals, still read): ``b"SJ"``, payload length (uint32),
CRC-32 of the payload (uint32), payload. One file may hold format-1 records
followed by format-2 ones (a stop appended on recovery to an older journal).

A damaged record (a torn write, a flipped bit, bytes cut out) loses that
record only: :func:`read_journal` scans forward for the next position where
a whole record checks out (marker, header checksum, payload checksum, a
payload that decodes to a later ``seq``) and goes on from there. Because the
header has its own checksum, a corrupted length field is recognised as such
and cannot swallow the records after it. The sequence numbers of the intact
records on each side of a damaged region say exactly which records it held.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .codec import decode, encode

#: Sync marker of a format-2 record.
MAGIC = b"\xa5SJ2"
#: Marker of a format-1 record (read, no longer written).
MAGIC_V1 = b"SJ"
_HEADER = struct.Struct("<4sIQI")  # marker, payload length, seq, payload CRC
_HEADER_CRC = struct.Struct("<I")
_HEADER_SIZE = _HEADER.size + _HEADER_CRC.size
_HEADER_V1 = struct.Struct("<2sII")  # marker, payload length, payload CRC
_MAGIC_AT = MAGIC.index(MAGIC_V1)  # where a resync search for b"SJ" finds a format-2 marker

Record = tuple[int, str, dict[str, Any]]


@dataclass(frozen=True)
class DamagedRegion:
    """A stretch of a journal file that holds no intact record.

    Attributes:
        start: Offset of its first byte (where a record should have started).
        end: Offset just past it: where the next intact record starts, or the
            file size.
        reason: What was wrong with the record at ``start``, e.g.
            ``"checksum mismatch"`` or ``"record cut short (12 of 80 bytes)"``.
        lost: ``seq`` of each record lost here, in order. Between two intact
            records these are exactly the missing sequence numbers (none if the
            bytes were not a record at all). At the end of the file they run
            from the one after the last intact record to the highest ``seq``
            found in an intact header inside the region.
        to_end: Whether the region runs to the end of the file (a torn last
            write, usually); records written after the first lost one, if
            any, left no trace.
    """

    start: int
    end: int
    reason: str
    lost: tuple[int, ...]
    to_end: bool

    def describe(self) -> str:
        """One line for a report, e.g. ``record seq 15 lost (checksum mismatch at byte 5123)``."""
        where = f"{self.reason} at byte {self.start}"
        if self.to_end:
            where += ", to the end of the file"
        if not self.lost:
            return f"{self.end - self.start} damaged bytes, no record lost ({where})"
        if len(self.lost) == 1:
            return f"record seq {self.lost[0]} lost ({where})"
        return f"records seq {self.lost[0]}-{self.lost[-1]} lost ({where})"


@dataclass
class JournalContents:
    """What :func:`read_journal` found in a file.

    Attributes:
        records: ``(seq, name, doc)`` of every intact record, in file order.
        size: Size of the file in bytes.
        damaged: Each damaged region, in file order (empty when the file is
            intact). Every byte of the file is in an intact record or in one
            of these.
    """

    records: list[Record] = field(default_factory=list)
    size: int = 0
    damaged: list[DamagedRegion] = field(default_factory=list)

    @property
    def good_bytes(self) -> int:
        """Length of the intact prefix of the file (up to the first damaged region)."""
        return self.damaged[0].start if self.damaged else self.size

    @property
    def damage(self) -> str | None:
        """Reason of the first damaged region, or ``None`` when the file is intact."""
        return self.damaged[0].reason if self.damaged else None

    @property
    def lost(self) -> list[int]:
        """``seq`` of every record known to be lost, over all damaged regions."""
        return [seq for region in self.damaged for seq in region.lost]

    @property
    def next_seq(self) -> int:
        """A ``seq`` above every record written to the file, intact or lost."""
        seqs = [seq for seq, _, _ in self.records] + self.lost
        return max(seqs) + 1 if seqs else 0

    def intact_spans(self) -> list[tuple[int, int]]:
        """Byte ranges ``(start, end)`` of the file outside every damaged region."""
        spans = []
        offset = 0
        for region in self.damaged:
            if region.start > offset:
                spans.append((offset, region.start))
            offset = region.end
        if offset < self.size:
            spans.append((offset, self.size))
        return spans


def pack_record(seq: int, name: str, doc: dict[str, Any]) -> bytes:
    """Return one journal record (format 2) as bytes."""
    payload = encode([seq, name, doc])
    header = _HEADER.pack(MAGIC, len(payload), seq, zlib.crc32(payload))
    return header + _HEADER_CRC.pack(zlib.crc32(header)) + payload


class _Bad(NamedTuple):
    """Why no intact record starts at an offset."""

    reason: str
    seq: int | None = None  # from an intact format-2 header


class _Good(NamedTuple):
    record: Record
    end: int
    v2: bool


def _decode(payload: bytes, seq: int | None) -> Record | None:
    """The ``(seq, name, doc)`` in a checksummed payload, or ``None`` if it is not one."""
    try:
        item = decode(payload)
    except Exception:  # msgpack raises several types on bad input
        return None
    if not (isinstance(item, list) and len(item) == 3):
        return None
    got_seq, name, doc = item
    if not (isinstance(got_seq, int) and isinstance(name, str) and isinstance(doc, dict)):
        return None
    if seq is not None and got_seq != seq:
        return None
    return got_seq, name, doc


def _record_at(data: bytes, offset: int) -> _Good | _Bad:
    """Parse the record starting at ``offset``, checking everything that can be checked."""
    size = len(data)
    if data.startswith(MAGIC, offset):
        if size - offset < _HEADER_SIZE:
            return _Bad(f"record header cut short ({size - offset} bytes)")
        _, length, seq, crc = _HEADER.unpack_from(data, offset)
        (header_crc,) = _HEADER_CRC.unpack_from(data, offset + _HEADER.size)
        if zlib.crc32(data[offset : offset + _HEADER.size]) != header_crc:
            return _Bad("header checksum mismatch")
        start = offset + _HEADER_SIZE
        v2 = True
    elif data.startswith(MAGIC_V1, offset):
        if size - offset < _HEADER_V1.size:
            return _Bad(f"record header cut short ({size - offset} bytes)")
        _, length, crc = _HEADER_V1.unpack_from(data, offset)
        seq = None
        start = offset + _HEADER_V1.size
        v2 = False
    else:
        tail = data[offset : offset + len(MAGIC)]
        if len(tail) < len(MAGIC) and (MAGIC.startswith(tail) or MAGIC_V1.startswith(tail)):
            return _Bad(f"record header cut short ({len(tail)} bytes)")
        return _Bad(f"bad record marker {tail!r}")
    end = start + length
    if end > size:
        return _Bad(f"record cut short ({size - start} of {length} bytes)", seq)
    payload = data[start:end]
    if zlib.crc32(payload) != crc:
        return _Bad("checksum mismatch", seq)
    record = _decode(payload, seq)
    if record is None:
        return _Bad("payload does not decode to a record", seq)
    return _Good(record, end, v2)


def _resync(data: bytes, offset: int, after_seq: int, v1: bool) -> tuple[int, list[int]]:
    """Find the next intact record at or after ``offset``.

    A candidate counts only if its marker, checksums and payload all check out
    and its ``seq`` is above ``after_seq``: a false match would need a 32-bit
    checksum (two, for format 2) to match by chance.

    Args:
        data: The whole file.
        offset: Where to start looking.
        after_seq: ``seq`` of the last intact record before (-1 if none).
        v1: Whether format-1 records may still follow (none do once a
            format-2 record was read).

    Returns:
        The offset of that record (the file size if there is none), and the
        ``seq`` of each intact format-2 header on the way whose payload was
        damaged.
    """
    seen: list[int] = []
    while True:
        hit = data.find(MAGIC_V1, offset)
        if hit < 0:
            return len(data), seen
        candidates = []
        if hit - _MAGIC_AT >= offset and data.startswith(MAGIC, hit - _MAGIC_AT):
            candidates.append(hit - _MAGIC_AT)
        if v1:
            candidates.append(hit)
        for candidate in candidates:
            found = _record_at(data, candidate)
            if isinstance(found, _Good):
                if found.record[0] > after_seq:
                    return candidate, seen
            elif found.seq is not None and found.seq > after_seq:
                seen.append(found.seq)
        offset = hit + 1


def parse_journal(data: bytes) -> JournalContents:
    """Read every intact record of a journal held in memory, skipping damaged ones.

    Args:
        data: The bytes of a journal file.

    Returns:
        The intact records and every damaged region, with the ``seq`` of the
        records each one lost.
    """
    contents = JournalContents(size=len(data))
    records = contents.records
    # (start, end, reason, seqs from intact headers, index of the next intact record)
    regions: list[tuple[int, int, str, list[int], int]] = []
    offset = 0
    last_seq = -1
    v1 = True
    while offset < len(data):
        found = _record_at(data, offset)
        if isinstance(found, _Good):
            records.append(found.record)
            last_seq = found.record[0]
            v1 = v1 and not found.v2
            offset = found.end
            continue
        resume, seen = _resync(data, offset + 1, last_seq, v1)
        if found.seq is not None and found.seq > last_seq:
            seen.insert(0, found.seq)
        regions.append((offset, resume, found.reason, seen, len(records)))
        offset = resume
    for start, end, reason, seen, index in regions:
        before = records[index - 1][0] if index > 0 else -1
        if index < len(records):
            lost = range(before + 1, records[index][0])
        else:
            lost = range(before + 1, max([before + 1, *seen]) + 1)
        damaged = DamagedRegion(start, end, reason, tuple(lost), end == len(data))
        contents.damaged.append(damaged)
    return contents


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read every intact record of a journal file, skipping damaged ones.

    Args:
        path: The journal file.

    Returns:
        What :func:`parse_journal` finds in the file's bytes.
    """
    return parse_journal(Path(path).read_bytes())


class JournalFile:
    """An open journal file that records are appended to.

    Each :meth:`append` is one ``write`` system call on an unbuffered file
    descriptor, so a record survives the death of the process as soon as
    :meth:`append` returns; :meth:`sync` (``fsync``) makes it survive a power
    cut too. It is the *only* system call of an append (the file's length is
    kept here, not asked of the OS each time): each system call releases the
    interpreter lock, and getting it back while another thread of the process
    computes costs up to the switch interval (5 ms), on the RunEngine's thread.

    Args:
        path: File to create or append to.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        self.dirty = False

    def append(self, seq: int, name: str, doc: dict[str, Any]) -> None:
        """Append one record.

        Args:
            seq: Sequence number of the record in its file (0, 1, 2, ...).
            name: Document name (``"start"``, ``"event"``, ...).
            doc: The document.

        Raises:
            OSError: If the write fails (for example, the disk is full); the
                file is then truncated back so no partial record remains.
        """
        record = pack_record(seq, name, doc)
        try:
            written = os.write(self._fd, record)
            if written != len(record):
                raise OSError(f"short write to {self.path}: {written} of {len(record)} bytes")
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size += written
        self.dirty = True

    def sync(self) -> None:
        """Flush the file to stable storage."""
        if self.dirty:
            self.dirty = False
            os.fsync(self._fd)

    def close(self) -> None:
        """Sync and close the file (idempotent)."""
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1
