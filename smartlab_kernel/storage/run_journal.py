"""The RunEngine-side half of capture: journal every document before the plan moves on."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from .errors import StorageError
from .journal import JournalFile

Durability = Literal["process", "window", "always"]
DURABILITY_MODES: tuple[str, ...] = ("process", "window", "always")

#: Which field of each document names the document it belongs to.
_PARENT_FIELD = {
    "descriptor": "run_start",
    "stop": "run_start",
    "event": "descriptor",
    "event_page": "descriptor",
    "resource": "run_start",
    "stream_resource": "run_start",
    "datum": "resource",
    "datum_page": "resource",
    "stream_datum": "stream_resource",
}

RecordListener = Callable[[str, int, str, dict[str, Any]], None]


class RunJournal:
    """A RunEngine subscriber that appends each document to its run's journal file.

    Files live in ``directory/pending/<start uid>.jnl`` until the shipper has
    put the whole run in the catalog. Durability, as measured by
    ``benchmarks/capture_benchmark.py``:

    * ``"process"``: one ``write`` per document; survives the process being killed.
    * ``"window"`` (default): as ``"process"``, plus ``fsync`` at most every
      ``sync_interval`` seconds and at every stop document; a power cut loses
      at most that window.
    * ``"always"``: ``fsync`` after every document.

    Args:
        directory: The journal folder.
        durability: One of ``"process"``, ``"window"``, ``"always"``.
        sync_interval: Seconds between ``fsync`` calls in ``"window"`` mode.
        listener: Called with ``(run uid, seq, name, doc)`` after each record is written.
        on_error: If given, a document that cannot be written (a full disk) is
            held in memory, in order with the ones after it, and this is called
            with the error (a lab pauses the run); :meth:`retry_held` writes
            them later. Without it, the error is raised to the RunEngine.

    Raises:
        ValueError: If ``durability`` or ``sync_interval`` is not allowed.
    """

    def __init__(
        self,
        directory: str | Path,
        durability: Durability = "window",
        sync_interval: float = 0.05,
        listener: RecordListener | None = None,
        on_error: Callable[[StorageError], None] | None = None,
    ) -> None:
        if durability not in DURABILITY_MODES:
            raise ValueError(f"durability must be one of {DURABILITY_MODES}, got {durability!r}")
        if not 0.001 <= sync_interval <= 60:
            raise ValueError(f"sync_interval must be 0.001-60 seconds, got {sync_interval!r}")
        self.pending_dir = Path(directory) / "pending"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.durability = durability
        self.sync_interval = sync_interval
        self.listener = listener
        self.on_error = on_error
        self.error: StorageError | None = None
        self._held: list[tuple[str, dict[str, Any]]] = []
        self._files: dict[str, JournalFile] = {}
        self._seq: dict[str, int] = {}
        self._owner: dict[str, str] = {}  # document uid -> run uid
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._syncer: threading.Thread | None = None
        if durability == "window":
            self._syncer = threading.Thread(
                target=self._sync_loop, name="journal-sync", daemon=True
            )
            self._syncer.start()

    def _run_of(self, name: str, doc: dict[str, Any]) -> str:
        if name == "start":
            return str(doc["uid"])
        parent = doc.get(_PARENT_FIELD.get(name, ""))
        run = self._owner.get(str(parent)) if parent else None
        if run is None and len(self._files) == 1:
            run = next(iter(self._files))  # e.g. a stream_resource without run_start
        if run is None:
            raise StorageError(f"{name} document belongs to no open run (parent {parent!r})")
        return run

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Journal one document (the RunEngine calls this).

        Raises:
            StorageError: If the document cannot be written and no ``on_error``
                handler was given (with one, the document is held instead).
        """
        written: list[tuple[str, int, str, dict[str, Any]]] = []
        error: StorageError | None = None
        with self._lock:
            was_holding = bool(self._held)
            if self._held:
                written, error = self._flush_held_locked()
            if self._held:  # still cannot write: keep this one too, in order
                self._held.append((name, doc))
            else:
                try:
                    written.append(self._write_locked(name, doc))
                except StorageError as exc:
                    if self.on_error is None or not isinstance(exc.__cause__, OSError):
                        raise
                    self._held.append((name, doc))
                    error = exc
            if error is not None:
                self.error = error
        self._tell(written)
        if error is not None and not was_holding and self.on_error is not None:
            self.on_error(error)  # once per outage, not per held document

    @property
    def held(self) -> int:
        """Documents kept in memory because they could not be written (e.g. a full disk)."""
        with self._lock:
            return len(self._held)

    def retry_held(self) -> None:
        """Write the held documents, in order (after space was freed).

        Raises:
            StorageError: If they still cannot be written (they stay held).
        """
        with self._lock:
            written, error = self._flush_held_locked()
            self.error = error
        self._tell(written)
        if error is not None:
            raise error

    def _flush_held_locked(self) -> tuple[list[tuple[str, int, str, dict[str, Any]]], Any]:
        written = []
        while self._held:
            name, doc = self._held[0]
            try:
                written.append(self._write_locked(name, doc))
            except StorageError as exc:
                return written, exc
            self._held.pop(0)
        return written, None

    def _tell(self, written: list[tuple[str, int, str, dict[str, Any]]]) -> None:
        if self.listener is not None:
            for record in written:
                self.listener(*record)

    def _write_locked(self, name: str, doc: dict[str, Any]) -> tuple[str, int, str, dict[str, Any]]:
        if name == "start":
            uid = str(doc["uid"])
            if uid not in self._files:
                try:
                    self._files[uid] = JournalFile(self.pending_dir / f"{uid}.jnl")
                except OSError as exc:
                    raise _storage_error(name, uid, exc) from exc
                self._seq[uid] = 0
                self._owner[uid] = uid
        run = self._run_of(name, doc)
        seq = self._seq[run]
        file = self._files[run]
        try:
            file.append(seq, name, doc)
            if self.durability == "always" or name == "stop":
                file.sync()
        except OSError as exc:
            raise _storage_error(name, run, exc) from exc
        if "uid" in doc and name != "start":
            self._owner[str(doc["uid"])] = run
        self._seq[run] = seq + 1
        if name == "stop":
            file.close()
            del self._files[run], self._seq[run]
            self._owner = {k: v for k, v in self._owner.items() if v != run}
        return run, seq, name, doc

    def open_runs(self) -> list[str]:
        """Uids of runs started but not stopped in this process."""
        with self._lock:
            return list(self._files)

    def _sync_loop(self) -> None:
        while not self._closed.wait(self.sync_interval):
            with self._lock:
                files = list(self._files.values())
            for file in files:
                try:
                    file.sync()
                except OSError:
                    time.sleep(self.sync_interval)  # closed meanwhile, or a transient error

    def close(self) -> None:
        """Stop the sync thread and close every open file (their runs stay pending)."""
        self._closed.set()
        if self._syncer is not None:
            self._syncer.join(timeout=5)
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()


def _storage_error(name: str, run: str, exc: OSError) -> StorageError:
    hint = " (the disk is full: free space, then resume)" if exc.errno == errno.ENOSPC else ""
    return StorageError(f"could not journal the {name} document of run {run}{hint}: {exc}")
