"""Check that the catalog holds every document of a run that the journal holds.

Verification reads each run back, asking only for what it compares: the
run's metadata (start and stop uids), one listing of its streams with their
metadata only (each descriptor uid; no child counts, links or data sources,
which cost the server a query per stream), and per stream with events its
``seq_num`` column. :func:`verify_runs` fetches the metadata of several runs
in one request, so a run waiting with others costs two requests and a share
of one, where walking the tiled client (``catalog[uid]``, then
``node[stream].base["internal"].read(...)``) costs four and builds a dask
graph for the last. On the served lab's tiled every request costs about the
same CPU (its API-key check), whatever it asks for, so the count is the cost.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow.ipc
from tiled.client.base import BaseClient
from tiled.client.utils import handle_error
from tiled.queries import KeysFilter

from .errors import VerificationError

Records = list[tuple[int, str, dict[str, Any]]]

_ARROW = "application/vnd.apache.arrow.file"
_JSON = {"Accept": "application/json"}


def verify_run(node: BaseClient, records: Records) -> None:
    """Compare a stored run with its journal records.

    Checks the start and stop uids, that every stream the journal describes
    is there with one of the journal's descriptor uids, and that each stream
    holds exactly the events the journal holds (their sequence numbers, in
    the journal's order). TiledWriter keeps no event uids, so the sequence
    numbers stand for them.

    Args:
        node: The run in the catalog (a tiled container; its metadata as fetched then).
        records: ``(seq, name, doc)`` from the run's journal file.

    Raises:
        VerificationError: Naming the first difference found.
        httpx.HTTPError: If the catalog cannot be read.
    """
    _check(node.context.http_client, node.uri, dict(node.metadata), records)


def verify_runs(
    container: BaseClient, runs: Sequence[tuple[str, Records]]
) -> dict[str, VerificationError | None]:
    """Verify several runs as :func:`verify_run` does, fetching their metadata together.

    Args:
        container: Client of the container that holds the runs.
        runs: ``(uid, records)`` of each run: its key in ``container`` and its journal.

    Returns:
        Each uid -> ``None`` if the run is intact, else the difference found.

    Raises:
        httpx.HTTPError: If the catalog cannot be read.
    """
    http = container.context.http_client
    base = container.uri.rstrip("/")
    metadata = _runs_metadata(http, base, [uid for uid, _ in runs])
    found: dict[str, VerificationError | None] = {}
    for uid, records in runs:
        try:
            if uid not in metadata:
                raise VerificationError(f"run {uid}: not in the catalog")
            _check(http, f"{base}/{quote(uid, safe='')}", metadata[uid], records)
        except VerificationError as exc:
            found[uid] = exc
        else:
            found[uid] = None
    return found


def _check(http: httpx.Client, run_uri: str, metadata: dict[str, Any], records: Records) -> None:
    """Compare one run (its metadata given, the rest read at ``run_uri``) with its journal.

    Raises:
        VerificationError: Naming the first difference found.
    """
    start = next(doc for _, name, doc in records if name == "start")
    stop = next((doc for _, name, doc in records if name == "stop"), None)
    uid = start["uid"]
    if metadata.get("start", {}).get("uid") != uid:
        raise VerificationError(f"run {uid}: catalog start uid differs from the journal")
    if stop is not None and (metadata.get("stop") or {}).get("uid") != stop["uid"]:
        raise VerificationError(f"run {uid}: catalog has no matching stop document")
    streams = {doc["uid"]: doc["name"] for _, name, doc in records if name == "descriptor"}
    descriptor_uids: dict[str, list[str]] = defaultdict(list)
    for descriptor_uid, stream in streams.items():
        descriptor_uids[stream].append(descriptor_uid)
    expected: dict[str, list[int]] = {stream: [] for stream in descriptor_uids}
    for _, name, doc in records:
        if name == "event":
            expected[streams[doc["descriptor"]]].append(int(doc["seq_num"]))
        elif name == "event_page":
            expected[streams[doc["descriptor"]]].extend(int(s) for s in doc["seq_num"])
    stored_streams = _stream_metadata(http, run_uri) if expected else {}
    for stream, seq_nums in expected.items():
        if stream not in stored_streams:
            raise VerificationError(
                f"run {uid}: stream {stream!r} with {len(seq_nums)} events is missing"
            )
        stored_uid = stored_streams[stream].get("uid")
        if stored_uid is not None and stored_uid not in descriptor_uids[stream]:
            raise VerificationError(
                f"run {uid}: stream {stream!r} has descriptor {stored_uid}, "
                f"the journal {descriptor_uids[stream]}"
            )
        if not seq_nums:
            continue  # a stream with a descriptor and no events has no table
        stored = _stored_seq_nums(http, run_uri, stream)
        if sorted(stored) != sorted(seq_nums):
            raise VerificationError(
                f"run {uid}: stream {stream!r} holds {len(stored)} events, "
                f"the journal {len(seq_nums)}"
            )
        if len(descriptor_uids[stream]) == 1 and stored != seq_nums:
            raise VerificationError(
                f"run {uid}: stream {stream!r} holds its events out of the journal's order"
            )


def _listing(http: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a ``/search`` listing, following its pages."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    next_params: dict[str, Any] | None = {**params, "fields": "metadata", "omit_links": True}
    while next_url is not None:
        body = handle_error(http.get(next_url, params=next_params, headers=_JSON)).json()
        items.extend(body["data"])
        next_url = (body.get("links") or {}).get("next")
        next_params = None  # the next page's address carries them
    return items


def _runs_metadata(http: httpx.Client, base: str, uids: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata of each of the runs ``uids`` that the container holds (one request a page)."""
    search = base.replace("/metadata/", "/search/", 1)
    query = {
        f"filter[keys_filter][condition][{k}]": v for k, v in KeysFilter(uids).encode().items()
    }
    items = _listing(http, search, query)
    return {item["id"]: dict(item["attributes"].get("metadata") or {}) for item in items}


def _stream_metadata(http: httpx.Client, run_uri: str) -> dict[str, dict[str, Any]]:
    """Every stream of the run (its children) -> its metadata (one request a page)."""
    items = _listing(http, run_uri.replace("/metadata/", "/search/", 1), {})
    return {item["id"]: dict(item["attributes"].get("metadata") or {}) for item in items}


def _stored_seq_nums(http: httpx.Client, run_uri: str, stream: str) -> list[int]:
    """The ``seq_num`` column of a stream's event table, in stored order (one request)."""
    table = f"{run_uri.replace('/metadata/', '/table/full/', 1)}/{quote(stream, safe='')}/internal"
    response = http.get(table, params={"column": "seq_num"}, headers={"Accept": _ARROW})
    if response.status_code == 404:
        return []  # no event table: none of the events arrived
    content = handle_error(response).read()
    column = pyarrow.ipc.open_file(io.BytesIO(content)).read_all().column("seq_num")
    return [int(value) for value in column.to_pylist()]
