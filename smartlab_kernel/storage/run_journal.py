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

    Raises:
        ValueError: If ``durability`` or ``sync_interval`` is not allowed.
    """

    def __init__(
        self,
        directory: str | Path,
        durability: Durability = "window",
        sync_interval: float = 0.05,
        listener: RecordListener | None = None,
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
        """Journal one document (the RunEngine calls this)."""
        with self._lock:
            if name == "start":
                uid = str(doc["uid"])
                self._files[uid] = JournalFile(self.pending_dir / f"{uid}.jnl")
                self._seq[uid] = 0
                self._owner[uid] = uid
            run = self._run_of(name, doc)
            if "uid" in doc and name != "start":
                self._owner[str(doc["uid"])] = run
            seq = self._seq[run]
            file = self._files[run]
            try:
                file.append(seq, name, doc)
                if self.durability == "always" or name == "stop":
                    file.sync()
            except OSError as exc:
                hint = (
                    " (the disk is full: free space, then resume)"
                    if exc.errno == errno.ENOSPC
                    else ""
                )
                raise StorageError(
                    f"could not journal the {name} document of run {run}{hint}: {exc}"
                ) from exc
            self._seq[run] = seq + 1
            if name == "stop":
                file.close()
                del self._files[run], self._seq[run]
                self._owner = {k: v for k, v in self._owner.items() if v != run}
        if self.listener is not None:
            self.listener(run, seq, name, doc)

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
