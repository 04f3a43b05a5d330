"""Shipping paces its flushes: at least ``flush_interval`` apart, except the first and the stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import bluesky.plans as bp
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import DurableCapture, EmbeddedCatalog
from smartlab_kernel.storage import shipper as shipper_module
from smartlab_kernel.storage.errors import VerificationError
from smartlab_kernel.storage.tiled_sink import close_streams
from smartlab_kernel.testing import DocumentCollector

INTERVAL = 5.0


def visible_after(capture: DurableCapture, count: int, timeout: float) -> bool:
    """Whether ``count`` events reached the catalog within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while len(capture.shipper.latencies) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_flushes_are_paced_but_neither_first_event_nor_stop_waits(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
) -> None:
    run_engine(bp.count([bench.reactor], num=3))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", flush_interval=INTERVAL)
    try:
        names = [name for name, _ in documents.documents]
        assert names == ["start", "descriptor", "event", "event", "event", "stop"]
        for name, doc in documents.documents[:3]:
            capture(name, doc)
        assert visible_after(capture, 1, 2.0)  # after a pause: at once
        for name, doc in documents.documents[3:5]:
            capture(name, doc)
        time.sleep(1.0)
        assert len(capture.shipper.latencies) == 1  # held: the interval has not passed
        started = time.monotonic()
        capture(*documents.documents[5])
        assert capture.wait_shipped(INTERVAL / 2)  # the stop writes what is held at once
        assert time.monotonic() - started < INTERVAL / 2
        assert len(capture.shipper.latencies) == 3
        uid = documents.starts[0]["uid"]
        stored = embedded_catalog.reconnect()[uid]["primary"].base["internal"].read(["seq_num"])
        assert stored["seq_num"].tolist() == [1, 2, 3]
    finally:
        capture.close()


def test_held_events_are_flushed_when_the_interval_has_passed(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
) -> None:
    run_engine(bp.count([bench.reactor], num=3))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", flush_interval=1.0)
    try:
        for name, doc in documents.documents[:3]:
            capture(name, doc)
        assert visible_after(capture, 1, 2.0)
        for name, doc in documents.documents[3:5]:
            capture(name, doc)  # no stop follows: only the interval flushes these
        assert visible_after(capture, 3, 5.0)
    finally:
        capture(*documents.documents[5])
        capture.close()


def test_stream_closes_wait_for_an_idle_moment_and_are_all_sent_by_close(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each run's stream closes (five requests) are sent after it is verified, none lost."""
    sent: list[str] = []

    def recording(client: object, endpoints: list[str]) -> list[str]:
        sent.extend(endpoints)
        return close_streams(client, endpoints)  # type: ignore[arg-type]

    monkeypatch.setattr(shipper_module, "close_streams", recording)
    for _ in range(3):
        run_engine(bp.count([bench.reactor], num=2))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    capture = DurableCapture(embedded_catalog, tmp_path / "journal")
    for name, doc in documents.documents:
        capture(name, doc)
    assert capture.wait_shipped(30)
    uids = [start["uid"] for start in documents.starts]
    client = embedded_catalog.reconnect()
    assert all(uid in client for uid in uids)
    capture.close()
    assert capture.shipper.closes_owed == 0
    closed_roots = {e.rsplit("/", 1)[-1] for e in sent if "/stream/close/" in e}
    assert set(uids) <= closed_roots  # each run's root stream, besides its parts
    assert len(sent) == len(set(sent))  # each close once


def test_wait_run_waits_for_that_run_only(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
) -> None:
    """A run's wait ends when it is verified, even while another run is still open."""
    run_engine(bp.count([bench.reactor], num=2))
    run_engine(bp.count([bench.reactor], num=2))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    first, second = (start["uid"] for start in documents.starts)
    capture = DurableCapture(embedded_catalog, tmp_path / "journal")
    try:
        split = next(i for i, (n, d) in enumerate(documents.documents) if d.get("uid") == second)
        for name, doc in documents.documents[: split + 2]:  # the second run: start, descriptor
            capture(name, doc)
        assert capture.wait_run_shipped(first, 30)
        assert capture.wait_shipped(30)  # all journaled so far is stored ...
        assert not capture.wait_run_shipped(second, 0.5)  # ... but the second run is open
        assert not capture.wait_run_shipped("no-such-run", 0.1)
        for name, doc in documents.documents[split + 2 :]:
            capture(name, doc)
        assert capture.wait_run_shipped(second, 30)
    finally:
        capture.close()


def test_a_catalog_failure_while_verifying_a_reshipped_run_is_retried(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Verification of a re-shipped run that meets a connection error: retried, not fatal.

    It used to escape the shipping thread, which then died with the run
    still pending (and every later run with it) until the process restarted.
    """
    run_engine(bp.count([bench.reactor], num=2))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    real = shipper_module.verify_run
    calls: list[str] = []

    def flaky(node: object, records: list) -> None:  # type: ignore[type-arg]
        calls.append("verify")
        if len(calls) == 1:
            raise VerificationError("the stored copy differs")  # -> re-shipped
        if len(calls) == 2:
            raise ConnectionError("the catalog went away while answering")
        real(node, records)

    monkeypatch.setattr(shipper_module, "verify_run", flaky)
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", retry_interval=0.2)
    try:
        for name, doc in documents.documents:
            capture(name, doc)
        assert capture.wait_shipped(20), capture.shipper.last_error
        assert len(calls) == 3
        uid = documents.starts[0]["uid"]
        assert (tmp_path / "journal" / "shipped" / f"{uid}.jnl").exists()
    finally:
        capture.close()


def test_runs_ship_side_by_side_in_lanes_each_one_whole_and_verified(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = shipper_module.verify_run
    verified_on: dict[str, str] = {}

    def recording(node: object, records: list) -> None:  # type: ignore[type-arg]
        real(node, records)
        verified_on[records[0][2]["uid"]] = threading.current_thread().name

    monkeypatch.setattr(shipper_module, "verify_run", recording)
    for _ in range(6):
        run_engine(bp.count([bench.reactor], num=3))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", lanes=3)
    try:
        for name, doc in documents.documents:  # all at once, as after a burst
            capture(name, doc)
        assert capture.wait_shipped(60), capture.shipper.last_error
    finally:
        capture.close()
    uids = [start["uid"] for start in documents.starts]
    assert set(verified_on) == set(uids)
    assert len(set(verified_on.values())) == 3, verified_on  # every lane shipped runs
    client = embedded_catalog.reconnect()
    for uid in uids:
        assert client[uid]["primary"].base["internal"].read(["seq_num"])["seq_num"].tolist() == [
            1,
            2,
            3,
        ]
        assert (tmp_path / "journal" / "shipped" / f"{uid}.jnl").exists()
    assert capture.shipper.closes_owed == 0


@pytest.mark.parametrize("lanes", [0, -1, 1.5, True, "3"])
def test_lanes_must_be_a_whole_number_of_at_least_one(
    tmp_path: Path, embedded_catalog: EmbeddedCatalog, lanes: object
) -> None:
    with pytest.raises(
        ValueError, match=f"lanes must be a whole number of at least 1, not {lanes!r}"
    ):
        shipper_module.Shipper(embedded_catalog, tmp_path / "journal", lanes=lanes)  # type: ignore[arg-type]
