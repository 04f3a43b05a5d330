"""The background half of capture: ship journaled documents into tiled, verify, retry."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tiled.client.base import BaseClient

from .errors import VerificationError
from .journal import JournalContents, JournalFile, parse_journal, read_journal
from .tiled_sink import RunSink, close_streams
from .verify import verify_run

log = logging.getLogger(__name__)

#: Seconds between flushes: measured in ``benchmarks/capture_benchmark.py``
#: (see ``docs/explanation/data-path.md``), it keeps visibility p95 well
#: under a second while a spectrum stream costs under twice a bare RunEngine.
DEFAULT_FLUSH_INTERVAL = 0.25

DIED_REASON = "process died before the run finished (closed on recovery from the journal)"

#: Stream closes sent in one go when the shipper has nothing else to do,
#: before it looks for new documents again (each is a request to the catalog).
CLOSE_BATCH = 5


class RunsCatalog(Protocol):
    """What the shipper needs of a catalog: a fresh client on the runs container."""

    def reconnect(self) -> BaseClient:
        """Return a new client (the shipper uses its own, on its own thread)."""
        ...


@dataclass
class _RunState:
    path: Path
    sink: RunSink | None = None
    next_seq: int = 0
    journaled: int = 0
    broken: str | None = None
    event_times: list[float] = field(default_factory=list)


class Shipper:
    """Ships each run's documents from its journal file into the catalog, in the background.

    Documents arrive through :meth:`submit` right after they are journaled.
    The shipper writes whatever has arrived, then flushes, so events reach
    the catalog in about one request time when the stream is slow and in
    batches when it is fast; flushes are at least ``flush_interval`` apart
    (a flush costs the server about the same whatever its size: 30-80 ms of
    CPU, which a fast plan would otherwise take from the RunEngine
    back to back). A run whose writing fails (catalog
    unreachable, slow, restarted) is marked broken; every ``retry_interval``
    the shipper deletes its partial copy and ships it again, in full, from
    the journal file. A run is finished when its stop document is shipped and
    :func:`verify_run` finds every document of the journal in the catalog;
    its journal file then moves from ``pending/`` to ``shipped/``.

    Closing a run's streams (telling tiled's live subscribers that no more
    writes follow; it carries no data) waits until the shipper has nothing
    else to do, so a burst of runs reaches the catalog sooner; :meth:`close`
    sends those still owed.

    Args:
        catalog: Where runs go.
        journal_dir: The journal folder (``pending/`` and ``shipped/`` inside).
        retry_interval: Seconds between attempts to re-ship a broken run.
        flush_interval: Least seconds between two flushes of held events
            (the first event after a pause is flushed at once).
    """

    def __init__(
        self,
        catalog: RunsCatalog,
        journal_dir: str | Path,
        retry_interval: float = 1.0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        self.catalog = catalog
        self.pending_dir = Path(journal_dir) / "pending"
        self.shipped_dir = Path(journal_dir) / "shipped"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.shipped_dir.mkdir(parents=True, exist_ok=True)
        self.retry_interval = retry_interval
        self.flush_interval = flush_interval
        self.reports: list[str] = []
        self.last_error: str | None = None
        self.latencies: deque[float] = deque(maxlen=100_000)
        self._queue: queue.Queue[tuple[str, int, str, dict[str, Any]] | None] = queue.Queue()
        self._runs: dict[str, _RunState] = {}
        self._recover: list[Path] = []
        self._lock = threading.Condition()
        self._busy = False
        self._stopping = False
        self._client: BaseClient | None = None
        self._unclosed: list[str] = []  # stream close requests for an idle moment
        self._closes_after = 0.0  # after a failed close, not before this (monotonic)
        self._thread = threading.Thread(target=self._loop, name="tiled-shipper", daemon=True)

    def start(self, live_runs: set[str] | None = None) -> None:
        """Queue the recovery of pending journal files, then start shipping."""
        live = live_runs or set()
        self._recover = sorted(p for p in self.pending_dir.glob("*.jnl") if p.stem not in live)
        self._thread.start()

    def submit(self, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        """Hand over one journaled document (called on the RunEngine thread)."""
        with self._lock:  # busy and queued together, so wait_idle never sees one alone
            state = self._runs.setdefault(run, _RunState(self.pending_dir / f"{run}.jnl"))
            state.journaled = seq + 1
            self._busy = True
            self._queue.put((run, seq, name, doc))

    @property
    def backlog(self) -> int:
        """Documents journaled but not yet in the catalog (plus runs awaiting recovery)."""
        with self._lock:
            waiting = sum(s.journaled - s.next_seq for s in self._runs.values())
            return waiting + len(self._recover)

    @property
    def recovering(self) -> int:
        """Runs left by an earlier process that recovery has not shipped yet."""
        with self._lock:
            closing = sum(s.broken == "recovering" for s in self._runs.values())
            return len(self._recover) + closing

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything journaled so far is in the catalog; return False on timeout."""
        return self._wait_until(
            lambda: not (self._busy or self._recover or any(s.broken for s in self._runs.values())),
            timeout,
        )

    def wait_run(self, run: str, timeout: float | None = None) -> bool:
        """Block until run ``run`` is verified in the catalog; return False on timeout.

        Only that run is waited for: a burst of other runs, or another run
        still open, does not hold it up. A run this shipper was not handed
        counts as shipped if its journal file is in ``shipped/``.
        """
        if not self._wait_until(
            lambda: run not in self._runs and all(p.stem != run for p in self._recover), timeout
        ):
            return False
        return (self.shipped_dir / f"{run}.jnl").exists()

    def _wait_until(self, done: Callable[[], bool], timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not done():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Ship what is queued and close the runs' streams (up to ``timeout``), then stop."""
        deadline = time.monotonic() + timeout
        self.wait_idle(timeout)
        self._stopping = True
        self._queue.put(None)
        self._thread.join(timeout=5)
        send_by = max(deadline, time.monotonic() + 5)
        while self._unclosed and not self._thread.is_alive() and time.monotonic() < send_by:
            before = len(self._unclosed)
            self._send_closes()
            if len(self._unclosed) == before:
                break
        if self._unclosed:
            log.warning("%d stream close requests not sent at close", len(self._unclosed))

    # -- the shipping thread ------------------------------------------------

    def _holding_events(self) -> bool:
        states = list(self._runs.values())  # a copy: submit() adds runs from another thread
        return any(s.sink is not None and s.sink.pending_events and not s.broken for s in states)

    def _loop(self) -> None:
        last_retry = 0.0
        next_flush = 0.0
        while not self._stopping:
            if self._recover:
                self._recover_one(self._recover[0])
                with self._lock:
                    self._recover.pop(0)
                    self._lock.notify_all()
                continue
            holding = self._holding_events()
            wait = max(0.0, next_flush - time.monotonic()) if holding else 0.1
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                item = None
            while item is not None:
                self._ship(*item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if time.monotonic() >= next_flush and self._holding_events():
                next_flush = time.monotonic() + self.flush_interval
                self._flush_all()
            if time.monotonic() - last_retry > self.retry_interval:
                last_retry = time.monotonic()
                for run, state in list(self._runs.items()):
                    if state.broken:
                        self._reship(run, state)
            if (
                self._unclosed
                and self._queue.empty()
                and not self._holding_events()
                and time.monotonic() >= self._closes_after
            ):
                self._send_closes()
            with self._lock:
                self._busy = not self._queue.empty() or any(
                    s.sink is not None and s.sink.pending_events for s in self._runs.values()
                )
                self._lock.notify_all()

    def _client_or_connect(self) -> BaseClient:
        if self._client is None:
            self._client = self.catalog.reconnect()
        return self._client

    def _ship(self, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        state = self._runs[run]
        if state.broken or seq < state.next_seq:
            return  # a broken run is re-shipped whole from its file
        if seq > state.next_seq:
            self._mark_broken(run, state, f"documents {state.next_seq}-{seq - 1} missing in order")
            return
        try:
            if state.sink is None:
                state.sink = RunSink(self._client_or_connect(), close_streams=False)
            state.sink(name, doc)
            if name == "event":
                state.event_times.append(float(doc["time"]))
            state.next_seq = seq + 1
            if name == "stop":
                self._record_latencies(state)
                self._finish(run, state)
        except Exception as exc:  # the catalog failed; the journal still has everything
            self._mark_broken(run, state, f"{type(exc).__name__}: {exc}")

    def _record_latencies(self, state: _RunState) -> None:
        now = time.time()
        self.latencies.extend(now - t for t in state.event_times)
        state.event_times.clear()

    def _flush_all(self) -> None:
        for run, state in list(self._runs.items()):
            if state.sink is not None and state.sink.pending_events and not state.broken:
                try:
                    state.sink.flush()
                    self._record_latencies(state)
                except Exception as exc:
                    self._mark_broken(run, state, f"{type(exc).__name__}: {exc}")

    def _mark_broken(self, run: str, state: _RunState, reason: str) -> None:
        state.broken = reason
        state.sink = None
        state.event_times.clear()
        self._client = None
        self.last_error = f"run {run}: {reason}"
        log.warning("shipping run %s failed (%s); will re-ship it from the journal", run, reason)

    def _reship(self, run: str, state: _RunState) -> bool:
        try:
            client = self._client_or_connect()
            if run in client:
                client.delete_contents(run, recursive=True, external_only=False)
            contents = read_journal(state.path)
            state.sink = RunSink(client, close_streams=False)
            for _seq, name, doc in contents.records:
                state.sink(name, doc)
            state.sink.flush()
        except Exception as exc:
            self._client = None
            state.sink = None
            self.last_error = f"run {run}: re-ship failed: {type(exc).__name__}: {exc}"
            return False
        with self._lock:
            state.broken = None
            state.next_seq = contents.records[-1][0] + 1 if contents.records else 0
            state.journaled = max(state.journaled, state.next_seq)
        if contents.records and contents.records[-1][1] == "stop":
            self._finish(run, state)
        return True

    def _finish(self, run: str, state: _RunState) -> None:
        contents = read_journal(state.path)
        try:
            verify_run(self._client_or_connect()[run], contents.records)
        except VerificationError as exc:
            self._mark_broken(run, state, str(exc))
            return
        try:
            shutil.move(state.path, self.shipped_dir / state.path.name)
        except OSError as exc:  # stored and verified; the next start verifies it again
            self.last_error = f"run {run}: verified, but its journal stays in pending/: {exc}"
            log.warning("%s", self.last_error)
        if state.sink is not None:
            self._unclosed.extend(state.sink.unclosed_streams)
        with self._lock:
            self._runs.pop(run, None)
            self._lock.notify_all()

    def _send_closes(self) -> None:
        """Send up to :data:`CLOSE_BATCH` of the stream closes owed (on the shipping thread)."""
        batch = self._unclosed[:CLOSE_BATCH]
        try:
            left = close_streams(self._client_or_connect(), batch)
        except Exception:  # a client that cannot connect: try again later
            left = batch
        del self._unclosed[: len(batch) - len(left)]
        if left:
            self._client = None
            self._closes_after = time.monotonic() + self.retry_interval

    def _recover_one(self, path: Path) -> None:
        run = path.stem
        data = path.read_bytes()
        contents = parse_journal(data)
        if contents.damaged:
            self.reports.append(_set_damage_aside(run, path, data, contents))
        if not contents.records:
            self.reports.append(f"run {run}: journal holds no intact record; left in {path}")
            return
        unshippable = _unshippable(contents.records)
        if unshippable:
            self.reports.append(f"run {run}: cannot be shipped ({unshippable}); left in {path}")
            return
        if contents.records[-1][1] != "stop":
            self._append_died_stop(path, contents.records, contents.next_seq)
            self.reports.append(f"run {run}: closed as failed ({DIED_REASON})")
        state = _RunState(path, broken="recovering")
        with self._lock:
            self._runs[run] = state
        if not self._reship(run, state):
            self.reports.append(f"run {run}: could not ship yet ({self.last_error}); will retry")

    @staticmethod
    def _append_died_stop(
        path: Path, records: list[tuple[int, str, dict[str, Any]]], seq: int
    ) -> None:
        start = records[0][2]
        streams = {d["uid"]: d.get("name", "primary") for _, n, d in records if n == "descriptor"}
        counts: dict[str, int] = {}
        for _, name, doc in records:
            if name == "event":
                stream = streams.get(doc["descriptor"], "primary")
                counts[stream] = counts.get(stream, 0) + 1
        stop = {
            "uid": str(uuid.uuid4()),
            "run_start": start["uid"],
            "time": max(float(d.get("time", 0)) for _, _, d in records),
            "exit_status": "fail",
            "reason": DIED_REASON,
            "num_events": counts,
        }
        journal = JournalFile(path)
        journal.append(seq, "stop", stop)
        journal.close()


def _set_damage_aside(run: str, path: Path, data: bytes, contents: JournalContents) -> str:
    """Move each damaged region of a journal file to a file of its own; return the report.

    Each region goes to ``<run>.torn-<offset>`` beside the journal, which is
    then left holding its intact records only (cut short if the damage is a
    torn tail, else rewritten in full and renamed over the old file, so a
    crash meanwhile leaves either file whole). Records appended afterwards,
    such as the stop of a run closed on recovery, follow intact ones.

    Args:
        run: The run's uid (for the report).
        path: Its journal file.
        data: The bytes ``contents`` was parsed from.
        contents: What :func:`parse_journal` found, with at least one damaged region.

    Returns:
        One line naming the records recovered, the ones lost and the files
        the damaged bytes went to.
    """
    saved = []
    for region in contents.damaged:
        torn = path.with_suffix(f".torn-{region.start}")
        _write_durably(torn, data[region.start : region.end])
        saved.append(torn.name)
    if len(contents.damaged) == 1 and contents.damaged[0].to_end:
        with open(path, "r+b") as handle:
            handle.truncate(contents.good_bytes)
            os.fsync(handle.fileno())
    else:
        rewritten = path.with_name(f"{path.name}.rewrite")
        _write_durably(rewritten, b"".join(data[a:b] for a, b in contents.intact_spans()))
        os.replace(rewritten, path)
        _fsync_directory(path.parent)
    lost = ", ".join(region.describe() for region in contents.damaged)
    return (
        f"run {run}: {len(contents.records)} records recovered, {lost}; "
        f"damaged bytes saved to {', '.join(saved)}"
    )


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unshippable(records: list[tuple[int, str, dict[str, Any]]]) -> str | None:
    """Why a recovered run cannot go to the catalog (a document others need was lost)."""
    if records[0][1] != "start":
        return "its start document was lost"
    descriptors = {doc.get("uid") for _, name, doc in records if name == "descriptor"}
    orphans = [
        seq
        for seq, name, doc in records
        if name in ("event", "event_page") and doc.get("descriptor") not in descriptors
    ]
    if orphans:
        return f"the descriptor of {len(orphans)} events, from record seq {orphans[0]}, was lost"
    return None
