"""Check that the catalog holds every document of a run that the journal holds."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tiled.client.container import DeepSearchResults

from .errors import VerificationError

Records = list[tuple[int, str, dict[str, Any]]]


def verify_run(node: Any, records: Records) -> None:
    """Compare a stored run with its journal records.

    Checks the start and stop uids, each stream's descriptor uid, that each
    stream holds exactly the events the journal holds (their sequence
    numbers, in the journal's order), and that every data key its
    descriptors declare is stored: a column of the stream's table, or an
    array (bluesky-tiled-plugins stores array readings, such as spectra,
    outside the table) with one entry per event. TiledWriter keeps no event
    uids, so the sequence numbers stand for them. Keys filled from external
    files (``external`` in the descriptor) are not checked here.

    Args:
        node: The run in the catalog (a tiled container).
        records: ``(seq, name, doc)`` from the run's journal file.

    Raises:
        VerificationError: Naming the first difference found.
    """
    start = next(doc for _, name, doc in records if name == "start")
    run = start["uid"]
    stop = next((doc for _, name, doc in records if name == "stop"), None)
    metadata = node.metadata
    if metadata.get("start", {}).get("uid") != run:
        raise VerificationError(f"run {run}: catalog start uid differs from the journal")
    if stop is not None and (metadata.get("stop") or {}).get("uid") != stop["uid"]:
        raise VerificationError(f"run {run}: catalog has no matching stop document")
    descriptors = {doc["uid"]: doc for _, name, doc in records if name == "descriptor"}
    descriptor_uids: dict[str, list[str]] = defaultdict(list)
    data_keys: dict[str, set[str]] = defaultdict(set)
    for uid, doc in descriptors.items():
        descriptor_uids[doc["name"]].append(uid)
        data_keys[doc["name"]].update(
            key for key, spec in doc.get("data_keys", {}).items() if not spec.get("external")
        )
    expected: dict[str, list[int]] = defaultdict(list)
    for _, name, doc in records:
        if name == "event":
            expected[descriptors[doc["descriptor"]]["name"]].append(int(doc["seq_num"]))
        elif name == "event_page":
            pages = expected[descriptors[doc["descriptor"]]["name"]]
            pages.extend(int(s) for s in doc["seq_num"])
    streams = _streams(node) if expected else {}
    for stream, seq_nums in expected.items():
        if stream not in streams:
            raise VerificationError(
                f"run {run}: stream {stream!r} with {len(seq_nums)} events is missing"
            )
        stream_node, parts = streams[stream]
        stored_uid = stream_node.metadata.get("uid")
        if stored_uid is not None and stored_uid not in descriptor_uids[stream]:
            raise VerificationError(
                f"run {run}: stream {stream!r} has descriptor {stored_uid}, "
                f"the journal {descriptor_uids[stream]}"
            )
        columns = _table_columns(parts)  # a wide table is split in internal_0, internal_1, ...
        if "seq_num" not in columns:
            raise VerificationError(
                f"run {run}: stream {stream!r} with {len(seq_nums)} events has no table"
            )
        stored = _read_column(parts[columns["seq_num"]], "seq_num")
        if sorted(stored) != sorted(seq_nums):
            raise VerificationError(
                f"run {run}: stream {stream!r} holds {len(stored)} events, "
                f"the journal {len(seq_nums)}"
            )
        if len(descriptor_uids[stream]) == 1 and stored != seq_nums:
            raise VerificationError(
                f"run {run}: stream {stream!r} holds its events out of the journal's order"
            )
        _check_data_keys(run, stream, data_keys[stream] - set(columns), parts, len(seq_nums))


def _streams(node: Any) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each stream of a stored run -> (its node, its parts by key), structures included.

    One request: tiled's deep search two levels down (streams, then their
    tables and arrays), where walking costs two per stream. A server without
    deep search is walked.
    """
    link = node.item.get("links", {}).get("search_deep")
    if link is None:  # tiled before deep search
        return {key: (child, dict(child.base.items())) for key, child in node.items()}
    found = DeepSearchResults(
        context=node.context,
        link=link,
        structure_clients=node.structure_clients,
        queries=[],
        max_depth=2,
        root_path_parts=[part for part in node.path_parts if part],
    )
    streams: dict[str, tuple[Any, dict[str, Any]]] = {}
    parts: dict[str, dict[str, Any]] = defaultdict(dict)
    for path, child in found.items():
        if len(path) == 1:
            streams[path[0]] = (child, parts[path[0]])
        elif len(path) == 2:
            parts[path[0]][path[1]] = child
    return streams


def _read_column(table: Any, column: str) -> list[Any]:
    """One column of a stored table, partition by partition, as a list.

    Each partition is one request for Arrow data (tiled's ``table/partition``
    route), read without the dask graph that ``DataFrameClient.read`` builds and
    orders on the client: that cost the shipper, which shares its process with
    the RunEngine, about as much CPU as the rest of verifying a run.
    """
    import pyarrow

    link = table.item.get("links", {}).get("partition")
    if link is None:  # not a partitioned table client: let it read itself
        return list(table.read([column])[column].tolist())
    values: list[Any] = []
    for partition in range(table.structure().npartitions):
        response = table.context.http_client.get(
            link,
            params={"partition": partition, "column": [column]},
            headers={"Accept": "application/vnd.apache.arrow.file"},
        )
        response.raise_for_status()
        values.extend(pyarrow.ipc.open_file(response.content).read_all().column(column).to_pylist())
    return values


def _table_columns(parts: dict[str, Any]) -> dict[str, str]:
    """Each column of a stream's table (``internal``, or its parts) -> the part holding it."""
    return {
        column: key
        for key, part in parts.items()
        if key == "internal" or key.startswith("internal_")
        for column in getattr(part.structure(), "columns", ())
    }


def _check_data_keys(
    run: str, stream: str, keys: set[str], parts: dict[str, Any], events: int
) -> None:
    """Every key of ``keys`` (not in the table) is an array of ``events`` entries."""
    for key in sorted(keys):
        part = parts.get(key)
        if part is None:
            raise VerificationError(
                f"run {run}: stream {stream!r} lacks data key {key!r} "
                f"(neither a column of its table nor an array)"
            )
        shape = getattr(part.structure(), "shape", None)
        if shape is None:
            continue  # a node with no shape to count by: being there is what can be checked
        if not shape or shape[0] != events:
            raise VerificationError(
                f"run {run}: stream {stream!r} holds {shape[0] if shape else 0} values "
                f"of {key!r}, the journal {events}"
            )
