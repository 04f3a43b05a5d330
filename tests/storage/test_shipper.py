"""Shipping paces its flushes, verifies beside the writing, and closes streams when idle."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import bluesky.plans as bp
import httpx
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import DurableCapture, EmbeddedCatalog, RunSink
from smartlab_kernel.storage import shipper as shipper_module
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


def three_runs(bench: SimulatedBench, run_engine: RunEngine) -> list[tuple[str, dict[str, Any]]]:
    for _ in range(3):
        run_engine(bp.count([bench.reactor], num=2))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    return list(documents.documents)


def test_a_burst_is_verified_beside_the_writing_and_its_streams_closed_after(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = three_runs(bench, run_engine)
    events: list[tuple[str, float]] = []
    release = threading.Event()
    verify_runs, close_streams = shipper_module.verify_runs, shipper_module.close_streams

    class HeldSink(RunSink):  # the first run waits until the whole burst is queued
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            release.wait(10)
            super().__init__(*args, **kwargs)

    def verifying(container: Any, runs: Any) -> Any:
        events.append(("verify", time.monotonic()))
        return verify_runs(container, runs)

    def closing(client: Any, endpoints: Any) -> Any:
        events.append(("close", time.monotonic()))
        return close_streams(client, endpoints)

    monkeypatch.setattr(shipper_module, "RunSink", HeldSink)
    monkeypatch.setattr(shipper_module, "verify_runs", verifying)
    monkeypatch.setattr(shipper_module, "close_streams", closing)
    capture = DurableCapture(embedded_catalog, tmp_path / "journal")
    try:
        for name, doc in documents:
            capture(name, doc)
        release.set()
        assert capture.wait_shipped(60), capture.shipper.last_error
        shipped = sorted(p.stem for p in (tmp_path / "journal" / "shipped").glob("*.jnl"))
        assert shipped == sorted(doc["uid"] for name, doc in documents if name == "start")
        assert not list((tmp_path / "journal" / "pending").glob("*.jnl"))
    finally:
        capture.close()
    kinds = [kind for kind, _ in events]
    assert "verify" in kinds and "close" in kinds
    last_verify = max(t for kind, t in events if kind == "verify")
    assert all(t > last_verify for kind, t in events if kind == "close")  # data first
    assert capture.shipper._unclosed == []  # close() sent them all: 3 nodes a run
    client = embedded_catalog.reconnect()
    for uid in shipped:
        assert client[uid]["primary"].read()["reactor_temperature"].shape == (2,)


def test_a_run_the_verifier_cannot_read_is_shipped_again(
    tmp_path: Path,
    embedded_catalog: EmbeddedCatalog,
    bench: SimulatedBench,
    run_engine: RunEngine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    documents = three_runs(bench, run_engine)
    verify_runs = shipper_module.verify_runs
    failures = [httpx.ConnectError("catalog restarting")]

    def flaky(container: Any, runs: Any) -> Any:
        if failures and threading.current_thread().name == "tiled-shipper-verify":
            raise failures.pop()
        return verify_runs(container, runs)

    monkeypatch.setattr(shipper_module, "verify_runs", flaky)
    capture = DurableCapture(embedded_catalog, tmp_path / "journal", retry_interval=0.2)
    try:
        for name, doc in documents:
            capture(name, doc)
        assert capture.wait_shipped(60), capture.shipper.last_error
        assert not failures
        # logged when it happened (last_error may be a later, unrelated retry by then)
        assert "ConnectError: catalog restarting" in caplog.text
        assert len(list((tmp_path / "journal" / "shipped").glob("*.jnl"))) == 3
    finally:
        capture.close()
