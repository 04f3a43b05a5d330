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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tiled.client.base import BaseClient

from .journal import JournalContents, JournalFile, parse_journal, read_journal
from .tiled_sink import RunSink, close_streams
from .verify import verify_runs

log = logging.getLogger(__name__)

#: Seconds between flushes: measured in ``benchmarks/capture_benchmark.py``
#: (see ``docs/explanation/data-path.md``), it keeps visibility p95 well
#: under a second while a spectrum stream costs under twice a bare RunEngine.
DEFAULT_FLUSH_INTERVAL = 0.25

DIED_REASON = "process died before the run finished (closed on recovery from the journal)"

#: Stream closes sent in one go when the shipper is idle, before it looks for
#: new work again (about 50 ms each on the served lab's tiled).
CLOSE_BATCH = 5

#: Most runs verified together (their metadata in one request).
VERIFY_BATCH = 20

#: Threads writing runs side by side. Each request's round trip leaves the
#: catalog server idle while the writer prepares the next; with a few
#: writers it is kept busy (see ``docs/explanation/data-path.md``).
DEFAULT_WRITERS = 3

_Written = tuple[str, "_RunState", list[str]]  # a run whose stop is written, its stream closes


class RunsCatalog(Protocol):
    """What the shipper needs of a catalog: a fresh client on the runs container."""

    def reconnect(self) -> BaseClient:
        """Return a new client (the shipper uses its own, on its own thread)."""
        ...


@dataclass
class _RunState:
    path: Path
    lane: _Lane
    sink: RunSink | None = None
    next_seq: int = 0
    journaled: int = 0
    broken: str | None = None
    written: bool = False  # its stop is written: the verifier has it
    event_times: list[float] = field(default_factory=list)


class _Connection:
    """One thread's client of the catalog (each shipper thread has its own)."""

    def __init__(self, catalog: RunsCatalog, data_sources: bool) -> None:
        self._catalog = catalog
        self._data_sources = data_sources
        self._client: BaseClient | None = None

    def client(self) -> BaseClient:
        """The client, connected anew after :meth:`reset`."""
        if self._client is None:
            client = self._catalog.reconnect()
            # RunSink wants data sources: fetched here once, not once per run
            self._client = client.include_data_sources() if self._data_sources else client
        return self._client

    def reset(self) -> None:
        """Drop the client (after a failure: the next use reconnects)."""
        self._client = None


class _Lane:
    """A writing thread: the documents of the runs given to it, in order, with its own client."""

    def __init__(self, shipper: Shipper, index: int) -> None:
        self.index = index
        self.queue: queue.Queue[tuple[str, int, str, dict[str, Any]] | None] = queue.Queue()
        self.connection = _Connection(shipper.catalog, data_sources=True)
        self.busy = False  # documents queued or events held (under the shipper's lock)
        name = "tiled-shipper" if index == 0 else f"tiled-shipper-{index}"
        self.thread = threading.Thread(target=shipper._loop, args=(self,), name=name, daemon=True)


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
    verification (:mod:`~smartlab_kernel.storage.verify`) finds every
    document of the journal in the catalog; its journal file then moves from
    ``pending/`` to ``shipped/``.

    Several threads, each with its own client, share the work so that a
    burst of runs keeps the catalog busy. ``writers`` threads write runs
    (``tiled-shipper``, ``tiled-shipper-1``, ...): each run goes whole to one
    of them, the one with the fewest documents waiting when it starts, which
    writes its documents in order and re-ships it if it breaks. Once a stop
    is written the run goes to ``tiled-shipper-verify``, which verifies it
    and moves its journal file while the writers go on (runs that queue up
    meanwhile are verified together:
    :func:`~smartlab_kernel.storage.verify.verify_runs`). Closing the runs'
    streams (telling tiled's live subscribers that no more writes follow: no
    data, and nothing at all on a server without a streaming cache) waits
    until nothing else is to be done, or :meth:`close`.

    Args:
        catalog: Where runs go.
        journal_dir: The journal folder (``pending/`` and ``shipped/`` inside).
        retry_interval: Seconds between attempts to re-ship a broken run.
        flush_interval: Least seconds between two flushes of held events
            (the first event after a pause is flushed at once).
        writers: Threads writing runs side by side (at least 1).

    Raises:
        ValueError: If ``writers`` is less than 1.
    """

    def __init__(
        self,
        catalog: RunsCatalog,
        journal_dir: str | Path,
        retry_interval: float = 1.0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        writers: int = DEFAULT_WRITERS,
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers must be at least 1, got {writers!r}")
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
        self._runs: dict[str, _RunState] = {}
        self._recover: list[Path] = []  # journal files left to recover (until recovered)
        self._recovering: set[Path] = set()  # of those, the ones a writer has taken
        self._lock = threading.Condition()
        self._stopping = False
        self._lanes = [_Lane(self, index) for index in range(writers)]
        # runs whose stop is written, with their streams' close requests, for the verifier
        self._written: queue.Queue[_Written | None] = queue.Queue()
        self._verifying = 0  # handed to the verifier and not finished (under _lock)
        self._unclosed: list[str] = []  # stream close requests for an idle moment
        self._close_deadline: float | None = None  # set by close(): send the rest by then
        self._verify_connection = _Connection(catalog, data_sources=False)
        self._verifier = threading.Thread(
            target=self._verify_loop, name="tiled-shipper-verify", daemon=True
        )

    def start(self, live_runs: set[str] | None = None) -> None:
        """Queue the recovery of pending journal files, then start shipping."""
        live = live_runs or set()
        self._recover = sorted(p for p in self.pending_dir.glob("*.jnl") if p.stem not in live)
        for lane in self._lanes:
            lane.thread.start()
        self._verifier.start()

    def submit(self, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        """Hand over one journaled document (called on the RunEngine thread)."""
        with self._lock:  # busy and queued together, so wait_idle never sees one alone
            state = self._runs.get(run)
            if state is None:
                state = self._runs[run] = _RunState(self.pending_dir / f"{run}.jnl", self._idlest())
            state.journaled = seq + 1
            state.lane.busy = True
            state.lane.queue.put((run, seq, name, doc))

    def _idlest(self) -> _Lane:
        """The writer with the fewest runs to write, the first of equals (under the lock)."""
        load = dict.fromkeys(self._lanes, 0)
        for state in self._runs.values():
            if state.broken or not state.written:
                load[state.lane] += 1
        return min(self._lanes, key=lambda lane: (load[lane], lane.queue.qsize()))

    @property
    def backlog(self) -> int:
        """Documents journaled but not yet in the catalog (plus runs awaiting recovery)."""
        with self._lock:
            waiting = sum(s.journaled - s.next_seq for s in self._runs.values())
            return waiting + len(self._recover)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything journaled so far is in the catalog; return False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._has_work():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    def _has_work(self) -> bool:
        """Whether anything journaled is not yet verified in the catalog (under the lock)."""
        return (
            any(lane.busy for lane in self._lanes)
            or self._verifying > 0
            or bool(self._recover)
            or any(s.broken for s in self._runs.values())
        )

    def close(self, timeout: float = 30.0) -> None:
        """Ship what is queued and close the streams (up to ``timeout``), then stop the threads."""
        deadline = time.monotonic() + timeout
        self.wait_idle(timeout)
        self._stopping = True
        for lane in self._lanes:
            lane.queue.put(None)
        for lane in self._lanes:
            lane.thread.join(timeout=5)
        self._close_deadline = max(deadline, time.monotonic() + 5)
        self._written.put(None)
        self._verifier.join(timeout=max(0.0, self._close_deadline - time.monotonic()) + 5)

    # -- the writing threads ------------------------------------------------

    def _lane_runs(self, lane: _Lane) -> list[tuple[str, _RunState]]:
        with self._lock:  # a copy: submit() adds runs from another thread
            return [(run, s) for run, s in self._runs.items() if s.lane is lane]

    def _holding_events(self, lane: _Lane) -> bool:
        return any(
            s.sink is not None and s.sink.pending_events and not s.broken
            for _, s in self._lane_runs(lane)
        )

    def _take_recovery(self) -> Path | None:
        with self._lock:
            path = next((p for p in self._recover if p not in self._recovering), None)
            if path is not None:
                self._recovering.add(path)
            return path

    def _loop(self, lane: _Lane) -> None:
        last_retry = 0.0
        next_flush = 0.0
        while not self._stopping:
            path = self._take_recovery()
            if path is not None:
                self._recover_one(path, lane)
                with self._lock:
                    self._recover.remove(path)
                    self._recovering.discard(path)
                    self._lock.notify_all()
                continue
            holding = self._holding_events(lane)
            wait = max(0.0, next_flush - time.monotonic()) if holding else 0.1
            try:
                item = lane.queue.get(timeout=wait) if wait > 0 else lane.queue.get_nowait()
            except queue.Empty:
                item = None
            while item is not None:
                self._ship(lane, *item)
                try:
                    item = lane.queue.get_nowait()
                except queue.Empty:
                    item = None
            if time.monotonic() >= next_flush and self._holding_events(lane):
                next_flush = time.monotonic() + self.flush_interval
                self._flush_all(lane)
            if time.monotonic() - last_retry > self.retry_interval:
                last_retry = time.monotonic()
                for run, state in self._lane_runs(lane):
                    if state.broken:
                        self._reship(run, state)
            with self._lock:
                lane.busy = not lane.queue.empty() or any(
                    s.sink is not None and s.sink.pending_events
                    for s in self._runs.values()
                    if s.lane is lane
                )
                self._lock.notify_all()

    def _ship(self, lane: _Lane, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        state = self._runs[run]
        if state.broken or seq < state.next_seq:
            return  # a broken run is re-shipped whole from its file
        if seq > state.next_seq:
            self._mark_broken(run, state, f"documents {state.next_seq}-{seq - 1} missing in order")
            return
        try:
            if state.sink is None:
                state.sink = RunSink(lane.connection.client(), close_streams=False)
            state.sink(name, doc)
            if name == "event":
                state.event_times.append(float(doc["time"]))
            state.next_seq = seq + 1
            if name == "stop":
                self._record_latencies(state)
                with self._lock:
                    state.written = True
                    self._verifying += 1
                self._written.put((run, state, state.sink.unclosed_streams))
        except Exception as exc:  # the catalog failed; the journal still has everything
            self._mark_broken(run, state, f"{type(exc).__name__}: {exc}")

    def _record_latencies(self, state: _RunState) -> None:
        now = time.time()
        self.latencies.extend(now - t for t in state.event_times)
        state.event_times.clear()

    def _flush_all(self, lane: _Lane) -> None:
        for run, state in self._lane_runs(lane):
            if state.sink is not None and state.sink.pending_events and not state.broken:
                try:
                    state.sink.flush()
                    self._record_latencies(state)
                except Exception as exc:
                    self._mark_broken(run, state, f"{type(exc).__name__}: {exc}")

    def _mark_broken(
        self, run: str, state: _RunState, reason: str, connection: _Connection | None = None
    ) -> None:
        """Mark a run to be re-shipped by its writer and reset the failed connection.

        ``connection`` is the one that failed (default: the run's writer's).
        """
        with self._lock:
            state.broken = reason
            state.sink = None
            state.event_times.clear()
        (connection or state.lane.connection).reset()
        self.last_error = f"run {run}: {reason}"
        log.warning("shipping run %s failed (%s); will re-ship it from the journal", run, reason)

    def _reship(self, run: str, state: _RunState) -> bool:
        connection = state.lane.connection
        try:
            client = connection.client()
            if run in client:
                client.delete_contents(run, recursive=True, external_only=False)
            contents = read_journal(state.path)
            state.sink = RunSink(client, close_streams=False)
            for _seq, name, doc in contents.records:
                state.sink(name, doc)
            state.sink.flush()
            unclosed = state.sink.unclosed_streams
        except Exception as exc:
            connection.reset()
            state.sink = None
            self.last_error = f"run {run}: re-ship failed: {type(exc).__name__}: {exc}"
            return False
        stopped = bool(contents.records) and contents.records[-1][1] == "stop"
        with self._lock:  # broken no more, and verifying: wait_idle never sees neither
            state.broken = None
            state.next_seq = contents.records[-1][0] + 1 if contents.records else 0
            state.journaled = max(state.journaled, state.next_seq)
            state.written = stopped
            self._verifying += stopped
        if stopped:
            try:
                self._finish([(run, state, unclosed)], connection)
            finally:
                with self._lock:
                    self._verifying -= 1
                    self._lock.notify_all()
        return True

    def _finish(self, written: list[_Written], connection: _Connection) -> None:
        """Verify runs whose stop is written; move the journal file of each intact one to shipped.

        A run that differs from its journal, or every run if the catalog
        cannot be read, is marked broken (to be shipped again by its writer).
        """
        journals = [(run, read_journal(state.path).records) for run, state, _ in written]
        try:
            found = verify_runs(connection.client(), journals)
        except Exception as exc:  # could not read the catalog: re-ship from the journal
            for run, state, _ in written:
                self._mark_broken(run, state, f"{type(exc).__name__}: {exc}", connection)
            return
        for run, state, unclosed in written:
            error = found[run]
            if error is not None:
                self._mark_broken(run, state, str(error), connection)
                continue
            shutil.move(state.path, self.shipped_dir / state.path.name)
            with self._lock:
                self._runs.pop(run, None)
                self._unclosed.extend(unclosed)
                self._lock.notify_all()

    # -- the verifying thread -----------------------------------------------

    def _verify_loop(self) -> None:
        last_close_failure = -float("inf")
        while True:
            try:
                item = self._written.get(timeout=0.05)
            except queue.Empty:
                retry = time.monotonic() - last_close_failure > self.retry_interval
                if retry and not self._close_some_streams(idle_only=True):
                    last_close_failure = time.monotonic()
                continue
            batch: list[_Written] = []
            while item is not None:
                batch.append(item)
                if len(batch) == VERIFY_BATCH:
                    break
                try:
                    item = self._written.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._finish(batch, self._verify_connection)
                finally:
                    with self._lock:
                        self._verifying -= len(batch)
                        self._lock.notify_all()
            if item is None:  # close(): send the closes left, then end
                while self._unclosed and time.monotonic() < (self._close_deadline or 0.0):
                    if not self._close_some_streams(idle_only=False):
                        break
                if self._unclosed:
                    log.warning("%d stream closes not sent before closing", len(self._unclosed))
                return

    def _close_some_streams(self, idle_only: bool) -> bool:
        """Send up to :data:`CLOSE_BATCH` waiting stream closes; False if the catalog failed.

        With ``idle_only``, only while nothing else is to be shipped or verified.
        """
        with self._lock:
            if not self._unclosed or (idle_only and self._has_work()):
                return True
            batch = self._unclosed[:CLOSE_BATCH]
        try:
            left = close_streams(self._verify_connection.client(), batch)
        except Exception:  # e.g. the catalog restarting while reconnecting
            left = batch
        with self._lock:
            del self._unclosed[: len(batch) - len(left)]
        if left:
            self._verify_connection.reset()
        return not left

    def _recover_one(self, path: Path, lane: _Lane) -> None:
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
        state = _RunState(path, lane, broken="recovering")
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
