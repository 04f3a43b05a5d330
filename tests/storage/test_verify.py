"""verify_run compares a stored run with its journal and names the first difference."""

from __future__ import annotations

import uuid

import bluesky.plans as bp
import pyarrow
import pytest
from bluesky import RunEngine

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.storage import EmbeddedCatalog, RunSink, VerificationError, verify_run
from smartlab_kernel.testing import DocumentCollector


def records_of(documents: DocumentCollector) -> list[tuple[int, str, dict]]:
    return [(i, name, doc) for i, (name, doc) in enumerate(documents.documents)]


def store(client: object, records: list[tuple[int, str, dict]], skip_seq: int | None) -> None:
    sink = RunSink(client)  # type: ignore[arg-type]
    for _, name, doc in records:
        if name == "event" and doc["seq_num"] == skip_seq:
            continue
        sink(name, doc)


def test_verify_run_detects_a_missing_event(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    run_engine(bp.count([bench.reactor], num=4))
    records = records_of(run_engine.documents)  # type: ignore[attr-defined]
    client = embedded_catalog.reconnect()
    store(client, records, skip_seq=3)
    uid = records[0][2]["uid"]
    with pytest.raises(
        VerificationError, match=r"stream 'primary' holds 3 events, the journal 4"
    ) as info:
        verify_run(client[uid], records)
    assert uid in str(info.value)


def test_verify_run_detects_a_missing_stream_and_a_different_stop(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    run_engine(bp.count([bench.reactor], num=2))
    records = records_of(run_engine.documents)  # type: ignore[attr-defined]
    client = embedded_catalog.reconnect()
    store(client, records, skip_seq=None)
    node = client[records[0][2]["uid"]]
    verify_run(node, records)  # intact
    other_stop = {**records[-1][2], "uid": str(uuid.uuid4())}
    with pytest.raises(VerificationError, match="no matching stop document"):
        verify_run(node, [*records[:-1], (records[-1][0], "stop", other_stop)])
    extra_descriptor = {**records[1][2], "uid": "d-extra", "name": "baseline"}
    extra_event = {**records[2][2], "uid": "e-extra", "descriptor": "d-extra"}
    with pytest.raises(VerificationError, match="stream 'baseline' with 1 events is missing"):
        verify_run(
            node, [*records, (90, "descriptor", extra_descriptor), (91, "event", extra_event)]
        )
    other_start = {**records[0][2], "uid": "not-this-run"}
    with pytest.raises(VerificationError, match="catalog start uid differs"):
        verify_run(node, [(0, "start", other_start), *records[1:]])


def test_verify_run_detects_another_descriptor_and_events_out_of_order(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    run_engine(bp.count([bench.reactor], num=3))
    records = records_of(run_engine.documents)  # type: ignore[attr-defined]
    client = embedded_catalog.reconnect()
    store(client, records, skip_seq=None)
    node = client[records[0][2]["uid"]]
    verify_run(node, records)
    descriptor = next(doc for _, name, doc in records if name == "descriptor")
    renamed = [
        (seq, name, {**doc, "uid": "d-other"} if doc is descriptor else doc)
        for seq, name, doc in records
    ]
    renamed = [
        (seq, name, {**doc, "descriptor": "d-other"} if name == "event" else doc)
        for seq, name, doc in renamed
    ]
    with pytest.raises(VerificationError, match=r"stream 'primary' has descriptor .*d-other"):
        verify_run(node, renamed)
    events = [r for r in records if r[1] == "event"]
    others = [r for r in records if r[1] != "event"]
    shuffled = [*others[:2], events[1], events[0], events[2], *others[2:]]
    with pytest.raises(VerificationError, match="out of the journal's order"):
        verify_run(node, shuffled)


def test_verify_run_detects_a_data_key_that_was_not_stored(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    """A stream can hold every event's row and still lack a reading (an array, say)."""
    run_engine(bp.count([bench.reactor], num=2))
    records = records_of(run_engine.documents)  # type: ignore[attr-defined]
    client = embedded_catalog.reconnect()
    store(client, records, skip_seq=None)
    node = client[records[0][2]["uid"]]
    verify_run(node, records)
    spectrum = {"source": "sim", "dtype": "array", "shape": [3], "dtype_numpy": "<f8"}
    declared = [
        (seq, name, _with_key(doc, "spectrum", spectrum) if name == "descriptor" else doc)
        for seq, name, doc in records
    ]
    with pytest.raises(VerificationError, match=r"stream 'primary' lacks data key 'spectrum'"):
        verify_run(node, declared)


def test_verify_run_checks_array_readings_event_by_event(
    embedded_catalog: EmbeddedCatalog, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    """Arrays are stored outside the table: they must hold one entry per event too."""
    run_engine(bp.count([bench.reactor], num=3))
    spectrum = {"source": "sim", "dtype": "array", "shape": [SPECTRUM], "dtype_numpy": "<f8"}
    records = [
        (
            seq,
            name,
            _with_key(doc, "spectrum", spectrum)
            if name == "descriptor"
            else _with_reading(doc, "spectrum", [0.5] * SPECTRUM)
            if name == "event"
            else doc,
        )
        for seq, name, doc in records_of(run_engine.documents)  # type: ignore[attr-defined]
    ]
    client = embedded_catalog.reconnect()
    store(client, records, skip_seq=None)
    node = client[records[0][2]["uid"]]
    verify_run(node, records)  # the spectra are an array of 3 rows: intact
    assert node["primary"].base["spectrum"].shape == (3, SPECTRUM)
    fourth = next(doc for _, name, doc in records if name == "event")
    fourth = {**fourth, "seq_num": 4, "uid": "e-4"}
    table = node["primary"].base["internal"]  # the table gains a 4th row, the array does not
    row = table.read().iloc[:1].assign(seq_num=4)
    table.append_partition(0, pyarrow.Table.from_pandas(row, preserve_index=False))
    with pytest.raises(
        VerificationError, match=r"stream 'primary' holds 3 values of 'spectrum', the journal 4"
    ):
        verify_run(node, [*records[:-1], (99, "event", fourth), records[-1]])


SPECTRUM = 200  # past bluesky-tiled-plugins' MAX_ARRAY_SIZE: stored as an array


def _with_key(descriptor: dict, key: str, spec: dict) -> dict:
    return {**descriptor, "data_keys": {**descriptor["data_keys"], key: spec}}


def _with_reading(event: dict, key: str, value: object) -> dict:
    return {
        **event,
        "data": {**event["data"], key: value},
        "timestamps": {**event["timestamps"], key: event["time"]},
    }
