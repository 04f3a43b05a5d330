"""Errors raised by the storage layer."""

from __future__ import annotations


class StorageError(RuntimeError):
    """Something went wrong storing or shipping documents."""


class JournalCorruptionError(StorageError):
    """A journal file has a damaged record (for example a torn last write).

    Attributes:
        path: The journal file.
        offset: Byte offset of the first damaged record.
        records_recovered: How many intact records precede it.
    """

    def __init__(self, path: str, offset: int, reason: str, records_recovered: int) -> None:
        super().__init__(
            f"journal {path} is damaged at byte {offset} ({reason}); "
            f"{records_recovered} intact records before it were recovered"
        )
        self.path = path
        self.offset = offset
        self.records_recovered = records_recovered


class VerificationError(StorageError):
    """What the catalog holds for a run does not match the journal."""
