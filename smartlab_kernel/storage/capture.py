"""Durable capture: journal first (crash-safe), then ship to tiled in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import StorageError
from .run_journal import Durability, RunJournal
from .shipper import DEFAULT_FLUSH_INTERVAL, RunsCatalog, Shipper


class DurableCapture:
    """Subscribe this to a RunEngine: nothing the plan records is lost.

    Each document is appended to its run's journal file before the
    RunEngine goes on, then shipped to the catalog by a background thread
    (see :class:`Shipper`). On construction, journal files left by an
    earlier process (a crash, a kill) are recovered: an unfinished run is
    closed with ``exit_status="fail"`` and shipped.

    Args:
        catalog: Where runs go (embedded or served tiled).
        journal_dir: Folder of journal files.
        durability: See :class:`RunJournal`.
        retry_interval: Seconds between re-ship attempts while the catalog fails.
        flush_interval: Least seconds between two writes of held events (see :class:`Shipper`).
        on_error: Called when a document cannot be journaled (a full disk); the
            document is then held in memory instead of raised to the RunEngine.
            See :class:`RunJournal`.
        lanes: Threads that ship runs side by side (see :class:`Shipper`): more
            than one pays off against a served catalog during a burst of runs.
    """

    def __init__(
        self,
        catalog: RunsCatalog,
        journal_dir: str | Path,
        durability: Durability = "window",
        retry_interval: float = 1.0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        on_error: Callable[[StorageError], None] | None = None,
        lanes: int = 1,
    ) -> None:
        self.shipper = Shipper(
            catalog,
            journal_dir,
            retry_interval=retry_interval,
            flush_interval=flush_interval,
            lanes=lanes,
        )
        self.journal = RunJournal(
            journal_dir, durability=durability, listener=self.shipper.submit, on_error=on_error
        )
        self.shipper.start()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Journal and queue one document (the RunEngine calls this)."""
        self.journal(name, doc)

    @property
    def backlog(self) -> int:
        """Documents journaled but not yet in the catalog."""
        return self.shipper.backlog

    @property
    def recovering(self) -> int:
        """Runs left by an earlier process that recovery has not shipped yet."""
        return self.shipper.recovering

    @property
    def reports(self) -> list[str]:
        """What recovery found and did (damaged journals, runs closed as failed)."""
        return self.shipper.reports

    def wait_shipped(self, timeout: float | None = None) -> bool:
        """Block until every journaled document is in the catalog; False on timeout."""
        return self.shipper.wait_idle(timeout)

    def wait_run_shipped(self, run: str, timeout: float | None = None) -> bool:
        """Block until run ``run`` is verified in the catalog (not other runs); False on timeout."""
        return self.shipper.wait_run(run, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Ship what is pending (up to ``timeout`` seconds), then stop."""
        self.shipper.close(timeout)
        self.journal.close()
