"""RunSink leans on private names of bluesky-tiled-plugins: check they still work here."""

from __future__ import annotations

import time
from typing import Any

import bluesky.plans as bp
import event_model
import jsonschema
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky_tiled_plugins.writing import tiled_writer

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import EmbeddedCatalog, RunSink, verify_run
from smartlab_kernel.storage.tiled_sink import event_data_values_unconstrained
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


class _Unprintable(np.ndarray):
    """An array that fails the test if anything formats it as text."""

    def __repr__(self) -> str:
        raise AssertionError("an event's array was formatted as text")

    __str__ = __repr__


def _spectrum_run(values: np.ndarray) -> list[tuple[str, dict[str, Any]]]:
    bundle = event_model.compose_run()
    descriptor = bundle.compose_descriptor(
        name="primary",
        data_keys={"spectrum": {"source": "sim", "dtype": "array", "shape": [len(values)]}},
    )
    event = descriptor.compose_event(  # event-model's own check formats arrays: skip it
        data={"spectrum": values}, timestamps={"spectrum": time.time()}, seq_num=1, validate=False
    )
    return [
        ("start", dict(bundle.start_doc)),
        ("descriptor", dict(descriptor.descriptor_doc)),
        ("event", dict(event)),
        ("stop", dict(bundle.compose_stop())),
    ]


def test_event_schema_leaves_data_values_unconstrained() -> None:
    # RunSink checks events with their data values left out; that is only the
    # same check while event-model's schema allows any value there.
    assert event_data_values_unconstrained()


def test_sink_checks_events_without_formatting_their_arrays(
    embedded_catalog: EmbeddedCatalog,
) -> None:
    values = np.arange(1000, dtype=float).view(_Unprintable)
    client = embedded_catalog.reconnect()
    sink = RunSink(client)
    documents = _spectrum_run(values)
    for name, doc in documents:
        sink(name, doc)
    uid = documents[0][1]["uid"]
    stored = client[uid]["primary"].read()["spectrum"]
    assert np.asarray(stored).shape == (1, 1000)


@pytest.mark.parametrize(
    ("field", "value"), [("time", "yesterday"), ("seq_num", 1.5), ("unknown", 1)]
)
def test_sink_still_rejects_a_malformed_event(
    embedded_catalog: EmbeddedCatalog, field: str, value: object
) -> None:
    sink = RunSink(embedded_catalog.reconnect())
    documents = _spectrum_run(np.zeros(3))
    for name, doc in documents[:2]:
        sink(name, doc)
    event = {**documents[2][1], field: value}
    with pytest.raises(jsonschema.ValidationError):
        sink("event", event)
