"""Durable capture of Bluesky documents: a crash-safe journal shipped to tiled."""

from .capture import DurableCapture
from .catalog import EmbeddedCatalog, ServedCatalog, run_summary
from .errors import JournalCorruptionError, StorageError, VerificationError
from .journal import JournalFile, pack_record, read_journal
from .lock import LabDirectoryLock, LabInUseError
from .run_journal import DURABILITY_MODES, Durability, RunJournal
from .shipper import DIED_REASON, Shipper
from .tiled_login import TiledLogin
from .tiled_sink import RunSink
from .verify import verify_run

__all__ = [
    "DIED_REASON",
    "DURABILITY_MODES",
    "Durability",
    "DurableCapture",
    "EmbeddedCatalog",
    "JournalCorruptionError",
    "JournalFile",
    "LabDirectoryLock",
    "LabInUseError",
    "RunJournal",
    "RunSink",
    "ServedCatalog",
    "Shipper",
    "StorageError",
    "TiledLogin",
    "VerificationError",
    "pack_record",
    "read_journal",
    "run_summary",
    "verify_run",
]
