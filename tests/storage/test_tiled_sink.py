"""RunSink leans on private names of bluesky-tiled-plugins: check they still work here."""

from __future__ import annotations

import bluesky.plans as bp
from bluesky import RunEngine
from bluesky_tiled_plugins.writing import tiled_writer

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import EmbeddedCatalog, RunSink, verify_run
from smartlab_kernel.testing import DocumentCollector


def test_private_names_runsink_uses_exist() -> None:
    assert hasattr(tiled_writer, "RunNormalizer") and hasattr(tiled_writer, "_RunWriter")
    writer_type = tiled_writer._RunWriter
    assert callable(getattr(writer_type, "_write_internal_data", None))
    assert "batch_size" in writer_type.__init__.__code__.co_varnames


def test_flush_makes_held_events_visible_before_the_stop(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    run_engine(bp.count([bench.reactor, bench.robot], num=5))
    documents: DocumentCollector = run_engine.documents  # type: ignore[attr-defined]
    client = embedded_catalog.reconnect()
    sink = RunSink(client)
    uid = documents.starts[0]["uid"]
    events_sent = 0
    for name, doc in documents.documents:
        if name == "stop":
            break
        sink(name, doc)
        if name == "event":
            events_sent += 1
            if events_sent == 3:
                assert sink.pending_events == 3
                assert sink.flush() == 3
                assert sink.pending_events == 0
                stored = client[uid]["primary"].read()
                assert stored["reactor_temperature"].shape == (3,)  # visible before the stop
    assert sink.flush() == 2
    assert sink.flush() == 0
    sink("stop", documents.stops[0])
    records = [(i, name, doc) for i, (name, doc) in enumerate(documents.documents)]
    verify_run(client[uid], records)
    assert client[uid]["primary"].read()["robot_station"].shape == (5,)
    assert client[uid].metadata["stop"]["exit_status"] == "success"
