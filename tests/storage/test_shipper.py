"""Shipping paces its flushes: at least ``flush_interval`` apart, except the first and the stop."""

from __future__ import annotations

import time
from pathlib import Path

import bluesky.plans as bp
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import DurableCapture, EmbeddedCatalog
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
