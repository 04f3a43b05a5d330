"""The background half of capture: ship journaled documents into tiled, verify, retry."""

from __future__ import annotations

import json
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

#: The shipper's health, beside ``pending/`` and ``shipped/``: its last error and
#: when it last stored a run (read by a served lab's status, ``smartlab serve status``).
STATUS_FILE = "shipping.json"

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
    lane: int = 0
    sink: RunSink | None = None
    next_seq: int = 0
    journaled: int = 0
    broken: str | None = None
    event_times: list[float] = field(default_factory=list)


@dataclass
class _Lane:
    """One shipping thread: its runs' documents in order, its own client and closes owed."""

    index: int
    queue: queue.Queue[tuple[str, int, str, dict[str, Any]] | None] = field(
        default_factory=queue.Queue
    )
    client: BaseClient | None = None
    busy: bool = False
    unclosed: list[str] = field(default_factory=list)  # stream closes for an idle moment
    closes_after: float = 0.0  # after a failed close, not before this (monotonic)
    thread: threading.Thread | None = None


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

    With ``lanes`` above one, that many threads ship side by side, each with
    its own client: a new run goes to the lane with the fewest runs in hand,
    and all of a run's documents go through its lane, in order. Shipping is
    mostly waiting for the server's answers, so a burst of runs (a class's
    queue) reaches a served catalog sooner; every run is verified as with
    one lane. Recovery of an earlier process's journal files runs in the
    first lane.

    Args:
        catalog: Where runs go.
        journal_dir: The journal folder (``pending/`` and ``shipped/`` inside).
        retry_interval: Seconds between attempts to re-ship a broken run.
        flush_interval: Least seconds between two flushes of held events
            (the first event after a pause is flushed at once).
        lanes: Threads that ship runs side by side (see above).

    Raises:
        ValueError: If ``lanes`` is not a whole number of at least 1.
    """

    def __init__(
        self,
        catalog: RunsCatalog,
        journal_dir: str | Path,
        retry_interval: float = 1.0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        lanes: int = 1,
    ) -> None:
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a whole number of at least 1, not {lanes!r}")
        self.catalog = catalog
        self.pending_dir = Path(journal_dir) / "pending"
        self.shipped_dir = Path(journal_dir) / "shipped"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.shipped_dir.mkdir(parents=True, exist_ok=True)
        self.retry_interval = retry_interval
        self.flush_interval = flush_interval
        self.reports: list[str] = []
        self.last_error: str | None = None
        self.status_file = Path(journal_dir) / STATUS_FILE
        self._error_at = 0.0  # wall-clock time of the last error (0: none yet)
        self._stored_at = 0.0  # of the last run stored and verified
        self.latencies: deque[float] = deque(maxlen=100_000)
        self._runs: dict[str, _RunState] = {}
        self._recover: list[Path] = []
        self._lock = threading.Condition()
        self._status_lock = threading.Lock()  # the status file and the fields it shows
        self._stopping = False
        self._lanes = [_Lane(i) for i in range(lanes)]
        for lane in self._lanes:
            name = "tiled-shipper" if lanes == 1 else f"tiled-shipper-{lane.index}"
            lane.thread = threading.Thread(target=self._loop, args=(lane,), name=name, daemon=True)

    def start(self, live_runs: set[str] | None = None) -> None:
        """Queue the recovery of pending journal files, then start shipping."""
        live = live_runs or set()
        self._recover = sorted(p for p in self.pending_dir.glob("*.jnl") if p.stem not in live)
        for lane in self._lanes:
            assert lane.thread is not None
            lane.thread.start()

    def submit(self, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        """Hand over one journaled document (called on the RunEngine thread)."""
        with self._lock:  # busy and queued together, so wait_idle never sees one alone
            state = self._runs.get(run)
            if state is None:
                state = self._runs[run] = _RunState(
                    self.pending_dir / f"{run}.jnl", lane=self._quietest_lane()
                )
            state.journaled = seq + 1
            lane = self._lanes[state.lane]
            lane.busy = True
            lane.queue.put((run, seq, name, doc))

    def _quietest_lane(self) -> int:
        """The lane with the fewest runs in hand (the first of those tied); under the lock."""
        if len(self._lanes) == 1:
            return 0
        load = [0] * len(self._lanes)
        for state in self._runs.values():
            load[state.lane] += 1
        return load.index(min(load))

    @property
    def closes_owed(self) -> int:
        """Stream close requests not sent yet (sent when idle, and by :meth:`close`)."""
        return sum(len(lane.unclosed) for lane in self._lanes)

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
            lambda: (
                not (
                    any(lane.busy for lane in self._lanes)
                    or self._recover
                    or any(s.broken for s in self._runs.values())
                )
            ),
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
        for lane in self._lanes:
            lane.queue.put(None)
        for lane in self._lanes:
            assert lane.thread is not None
            lane.thread.join(timeout=5)
        send_by = max(deadline, time.monotonic() + 5)
        for lane in self._lanes:
            assert lane.thread is not None
            while lane.unclosed and not lane.thread.is_alive() and time.monotonic() < send_by:
                before = len(lane.unclosed)
                self._send_closes(lane)
                if len(lane.unclosed) == before:
                    break
        if self.closes_owed:
            log.warning("%d stream close requests not sent at close", self.closes_owed)

    # -- the shipping thread ------------------------------------------------

    def _lane_runs(self, lane: _Lane) -> list[tuple[str, _RunState]]:
        """The runs in ``lane``'s hand (a copy: submit() adds runs from another thread)."""
        return [(run, s) for run, s in list(self._runs.items()) if s.lane == lane.index]

    def _holding_events(self, lane: _Lane) -> bool:
        return any(
            s.sink is not None and s.sink.pending_events and not s.broken
            for _, s in self._lane_runs(lane)
        )

    def _loop(self, lane: _Lane) -> None:
        """Ship ``lane``'s runs until :meth:`close`; an unforeseen error is reported, not fatal."""
        while not self._stopping:
            try:
                self._ship_until_stopped(lane)
            except Exception as exc:  # a lane that died would leave its runs pending for good
                log.exception("shipping lane %d failed; it goes on", lane.index)
                self._report_error(f"shipping failed: {type(exc).__name__}: {exc}")
                lane.client = None
                time.sleep(self.retry_interval)

    def _ship_until_stopped(self, lane: _Lane) -> None:
        last_retry = 0.0
        next_flush = 0.0
        while not self._stopping:
            if lane.index == 0 and self._recover:
                self._recover_one(lane, self._recover[0])
                with self._lock:
                    self._recover.pop(0)
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
                        self._reship(lane, run, state)
            if (
                lane.unclosed
                and lane.queue.empty()
                and not self._holding_events(lane)
                and time.monotonic() >= lane.closes_after
            ):
                self._send_closes(lane)
            with self._lock:
                lane.busy = not lane.queue.empty() or any(
                    s.sink is not None and s.sink.pending_events for _, s in self._lane_runs(lane)
                )
                self._lock.notify_all()

    def _client_or_connect(self, lane: _Lane) -> BaseClient:
        if lane.client is None:
            # with data sources once per connection: RunSink needs them, and asking
            # for them on a client without them costs a request for every run
            lane.client = self.catalog.reconnect().include_data_sources()
        return lane.client

    def _ship(self, lane: _Lane, run: str, seq: int, name: str, doc: dict[str, Any]) -> None:
        state = self._runs[run]
        if state.broken or seq < state.next_seq:
            return  # a broken run is re-shipped whole from its file
        if seq > state.next_seq:
            self._mark_broken(
                lane, run, state, f"documents {state.next_seq}-{seq - 1} missing in order"
            )
            return
        try:
            if state.sink is None:
                state.sink = RunSink(self._client_or_connect(lane), close_streams=False)
            state.sink(name, doc)
            if name == "event":
                state.event_times.append(float(doc["time"]))
            state.next_seq = seq + 1
            if name == "stop":
                self._record_latencies(state)
                self._finish(lane, run, state)
        except Exception as exc:  # the catalog failed; the journal still has everything
            self._mark_broken(lane, run, state, f"{type(exc).__name__}: {exc}")

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
                    self._mark_broken(lane, run, state, f"{type(exc).__name__}: {exc}")

    def _mark_broken(self, lane: _Lane, run: str, state: _RunState, reason: str) -> None:
        state.broken = reason
        state.sink = None
        state.event_times.clear()
        lane.client = None
        self._report_error(f"run {run}: {reason}")
        log.warning("shipping run %s failed (%s); will re-ship it from the journal", run, reason)

    def _reship(self, lane: _Lane, run: str, state: _RunState) -> bool:
        try:
            client = self._client_or_connect(lane)
            if run in client:
                client.delete_contents(run, recursive=True, external_only=False)
            contents = read_journal(state.path)
            state.sink = RunSink(client, close_streams=False)
            for _seq, name, doc in contents.records:
                state.sink(name, doc)
            state.sink.flush()
        except Exception as exc:
            lane.client = None
            state.sink = None
            self._report_error(f"run {run}: re-ship failed: {type(exc).__name__}: {exc}")
            return False
        finished = bool(contents.records) and contents.records[-1][1] == "stop"
        with self._lock:
            state.next_seq = contents.records[-1][0] + 1 if contents.records else 0
            state.journaled = max(state.journaled, state.next_seq)
            if not finished:
                state.broken = None
        if finished:  # still broken until verified, so wait_idle() does not return before
            self._finish(lane, run, state)  # forgets the run, or marks it broken again
        return True

    def _finish(self, lane: _Lane, run: str, state: _RunState) -> None:
        contents = read_journal(state.path)
        try:
            verify_run(self._client_or_connect(lane)[run], contents.records)
        except VerificationError as exc:
            self._mark_broken(lane, run, state, str(exc))
            return
        except Exception as exc:  # the catalog failed while answering: verify again later
            self._mark_broken(lane, run, state, f"verifying: {type(exc).__name__}: {exc}")
            return
        try:
            shutil.move(state.path, self.shipped_dir / state.path.name)
        except OSError as exc:  # stored and verified; the next start verifies it again
            self.last_error = f"run {run}: verified, but its journal stays in pending/: {exc}"
            log.warning("%s", self.last_error)
        if state.sink is not None:
            lane.unclosed.extend(state.sink.unclosed_streams)
        with self._status_lock:
            recovered = self._error_at > self._stored_at
            self._stored_at = time.time()
            if recovered:  # healthy again: say so (a run stored after each error is enough)
                self._write_status()
        with self._lock:
            self._runs.pop(run, None)
            self._lock.notify_all()

    def _report_error(self, message: str) -> None:
        with self._status_lock:
            self.last_error = message
            self._error_at = time.time()
            self._write_status()

    def _write_status(self) -> None:
        """Write :data:`STATUS_FILE` (whole, by rename): last error, when, last run stored.

        Called with ``_status_lock`` held (lanes share the file and its temporary).
        """
        status = {
            "last_error": self.last_error,
            "error_at": self._error_at or None,
            "stored_at": self._stored_at or None,
        }
        temporary = self.status_file.with_name(f".{self.status_file.name}.tmp")
        try:
            temporary.write_text(json.dumps(status))
            os.replace(temporary, self.status_file)
        except OSError as exc:  # the status is a courtesy; the journal is what counts
            log.warning("could not write the shipper's status to %s: %s", self.status_file, exc)

    def _send_closes(self, lane: _Lane) -> None:
        """Send up to :data:`CLOSE_BATCH` of ``lane``'s stream closes owed (on its thread)."""
        batch = lane.unclosed[:CLOSE_BATCH]
        try:
            left = close_streams(self._client_or_connect(lane), batch)
        except Exception:  # a client that cannot connect: try again later
            left = batch
        del lane.unclosed[: len(batch) - len(left)]
        if left:
            lane.client = None
            lane.closes_after = time.monotonic() + self.retry_interval

    def _recover_one(self, lane: _Lane, path: Path) -> None:
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
        state = _RunState(path, lane=lane.index, broken="recovering")
        with self._lock:
            self._runs[run] = state
        if not self._reship(lane, run, state):
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
