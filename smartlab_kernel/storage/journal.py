"""Append-only, checksummed journal files: one per run, written before the RunEngine moves on.

Record layout: ``b"SJ"``, payload length (uint32 LE), CRC-32 of the payload
(uint32 LE), payload (msgpack of ``[seq, name, doc]``). A record whose
header or payload is cut short, or whose checksum does not match, marks the
end of the good data: everything before it is recovered and the damaged tail
is reported (see :func:`read_journal`).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codec import decode, encode

MAGIC = b"SJ"
_HEADER = struct.Struct("<2sII")


@dataclass
class JournalContents:
    """What :func:`read_journal` found in a file.

    Attributes:
        records: ``(seq, name, doc)`` in the order written.
        good_bytes: Length of the intact prefix of the file.
        damage: Description of a damaged tail, or ``None`` when the file is intact.
    """

    records: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    good_bytes: int = 0
    damage: str | None = None


def pack_record(seq: int, name: str, doc: dict[str, Any]) -> bytes:
    """Return one journal record as bytes."""
    payload = encode([seq, name, doc])
    return _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Read every intact record of a journal file, stopping at the first damaged one."""
    data = Path(path).read_bytes()
    contents = JournalContents()
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            contents.damage = f"record header cut short ({len(data) - offset} bytes)"
            break
        magic, length, crc = _HEADER.unpack_from(data, offset)
        if magic != MAGIC:
            contents.damage = f"bad record marker {magic!r}"
            break
        payload = data[offset + _HEADER.size : offset + _HEADER.size + length]
        if len(payload) < length:
            contents.damage = f"record cut short ({len(payload)} of {length} bytes)"
            break
        if zlib.crc32(payload) != crc:
            contents.damage = "checksum mismatch"
            break
        seq, name, doc = decode(payload)
        contents.records.append((int(seq), str(name), doc))
        offset += _HEADER.size + length
    contents.good_bytes = offset
    return contents


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
