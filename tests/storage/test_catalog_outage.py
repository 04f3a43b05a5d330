"""A served tiled stopped mid-run and restarted: nothing lost, order kept, backlog shown."""

from __future__ import annotations

from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import DurableCapture, ServedCatalog
from smartlab_kernel.testing import TiledServerProcess, free_port

EVENTS = 60
STOP_AT, RESTART_AT = 15, 40


@pytest.mark.slow
def test_catalog_outage_loses_nothing(
    tmp_path: Path, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    server = TiledServerProcess(tmp_path / "tiled", port=free_port())
    server.start()
    capture: DurableCapture | None = None
    try:
        catalog = ServedCatalog(server.uri, api_key=server.api_key)
        capture = DurableCapture(catalog, tmp_path / "journal", retry_interval=0.2)
        run_engine.subscribe(capture)
        backlog_while_down: list[int] = []
        detector = bench.reactor

        @bpp.run_decorator(md={"purpose": "outage"})
        def plan():  # type: ignore[no-untyped-def]
            for index in range(EVENTS):
                if index == STOP_AT:
                    assert capture is not None and capture.wait_shipped(30)
                    server.stop()
                if index == RESTART_AT:
                    server.start()
                yield from bps.trigger_and_read([detector])
                if STOP_AT <= index < RESTART_AT:
                    yield from bps.sleep(0.02)
                    assert capture is not None
                    backlog_while_down.append(capture.backlog)

        (uid,) = run_engine(plan())
        assert capture.wait_shipped(120), capture.shipper.last_error
        # the RunEngine went on against the journal; the backlog grew and was reported
        assert max(backlog_while_down) >= RESTART_AT - STOP_AT - 2
        assert backlog_while_down[-1] > backlog_while_down[0]
        assert capture.backlog == 0
        run = catalog.reconnect()[uid]
        stored = run["primary"].base["internal"].read(["seq_num"])["seq_num"].tolist()
        assert stored == list(range(1, EVENTS + 1))  # nothing lost, order kept
        assert run.metadata["stop"]["exit_status"] == "success"
        assert (tmp_path / "journal" / "shipped" / f"{uid}.jnl").exists()
    finally:
        if capture is not None:
            capture.close(timeout=5)
        server.stop()
