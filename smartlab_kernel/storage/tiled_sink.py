"""Write one run into tiled with bluesky-tiled-plugins, flushing batched events on demand.

Why not ``TiledWriter`` as it is: it writes events either one request per
event (``batch_size=1``: safe, about 25 ms each) or when a large batch fills
(fast, but events sit in memory until then). Our shipper runs in the
background behind a crash-safe journal, so it can batch *whatever has
arrived* and write it at once: few requests under load, and events visible
within one request time when the stream is slow. That needs a ``flush()``,
which ``TiledWriter`` does not have; this class wires the same two pieces
``TiledWriter`` uses for each run (``RunNormalizer`` -> ``_RunWriter``) and
adds it. The private names are pinned by the version range in
``pyproject.toml`` and checked by ``tests/storage/test_tiled_sink.py``.

One more difference: ``RunNormalizer`` checks every document against its
event-model JSON schema, and for an event whose ``data`` holds a numpy array
``jsonschema`` ends up formatting the whole array as text (about 5 ms for
1000 points, on the shipper thread, holding the interpreter lock the
RunEngine needs too). The schema says nothing about the *values* of
``data`` (any JSON value is allowed), so :class:`_Normalizer` checks events
with those values left out: the same verdict, at scalar cost. Every other
document, and every key of an event, is still checked.

And one more: at the stop, ``_RunWriter`` closes the stream of every node
it wrote (root, streams, tables, arrays: five requests for a run with one
stream of scalars and spectra, a third of the time a run takes to ship). A
closed stream tells tiled's live subscribers (websockets, webhooks) that no
more writes follow; it carries no data. With ``close_streams=False`` the
stop leaves them open and lists their close requests in
:attr:`RunSink.unclosed_streams`, so the shipper sends them with
:func:`close_streams` once the run is verified and nothing else is waiting
(see :class:`~smartlab_kernel.storage.shipper.Shipper`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import httpx
from bluesky_tiled_plugins.writing.tiled_writer import RunNormalizer, _RunWriter
from event_model import DocumentNames, schema_validators, schemas
from tiled.client.base import BaseClient

_NEVER = 1 << 40  # a batch size that is never reached: we flush ourselves


def event_data_values_unconstrained() -> bool:
    """Whether event-model's event schema allows any value for each key of ``data``.

    When it does, checking an event with its ``data`` values replaced by
    ``None`` gives the same verdict as checking the event itself.
    """
    schema = schemas[DocumentNames.event]
    partial = schema.get("$defs", {}).get("PartialEvent", {})
    data = partial.get("properties", {}).get("data")
    if data is None or "data" in schema.get("properties", {}):
        return False
    constraining = set(data) - {"title", "description", "type", "additionalProperties"}
    return (
        not constraining and data.get("type") == "object" and data.get("additionalProperties")
    ) is True


_STUB_EVENT_DATA = event_data_values_unconstrained()


class _Normalizer(RunNormalizer):
    """``RunNormalizer`` that checks events without formatting their array values."""

    def emit(self, name: DocumentNames, doc: dict[str, Any]) -> None:
        """Check ``doc`` against its schema (see the module docstring), then pass it on."""
        if name is DocumentNames.event and _STUB_EVENT_DATA and isinstance(doc.get("data"), dict):
            schema_validators[name].validate({**doc, "data": dict.fromkeys(doc["data"])})
        else:
            schema_validators[name].validate(doc)
        self.dispatcher.process(name, doc)


class _Writer(_RunWriter):
    """``_RunWriter`` whose stop can leave the streams open, listing what to close instead."""

    def __init__(self, client: BaseClient, close_streams: bool) -> None:
        super().__init__(client, batch_size=_NEVER)
        self.close_streams = close_streams
        self.unclosed: list[str] = []

    def _close_stream_tree(self) -> None:
        if self.close_streams:
            super()._close_stream_tree()
            return
        if self.root_node is None:
            return
        nodes = itertools.chain(  # the nodes that _RunWriter closes, in its order
            self._internal_arrays.values(),
            self._internal_tables.values(),
            self._sres_nodes.values(),
            self._desc_nodes.values(),
            (self.root_node,),
        )
        for node in nodes:
            endpoint = close_endpoint(node.uri)
            if endpoint not in self.unclosed:
                self.unclosed.append(endpoint)


def close_endpoint(uri: str) -> str:
    """The request that closes the stream of the node at ``uri`` (as ``close_stream`` sends it)."""
    return uri.replace("/metadata/", "/stream/close/", 1)


def close_streams(client: BaseClient, endpoints: Iterable[str]) -> list[str]:
    """Close the streams ``endpoints`` name (from :attr:`RunSink.unclosed_streams`).

    Args:
        client: Any client of the same tiled server (its connection and key are used).
        endpoints: Close requests, in order.

    Returns:
        The endpoints not closed because the server could not be reached or
        failed (5xx): worth sending again. A node that is gone (a run deleted
        to be shipped again) counts as closed.
    """
    endpoints = list(endpoints)
    http = client.context.http_client
    for index, endpoint in enumerate(endpoints):
        try:
            response = http.delete(endpoint)
        except httpx.TransportError:
            return endpoints[index:]
        if response.status_code >= 500:
            return endpoints[index:]
    return []


class RunSink:
    """Writes the documents of one run into a tiled container.

    Args:
        client: The tiled container that holds runs.
        close_streams: Close each node's stream at the stop, as ``TiledWriter``
            does; with ``False`` their close requests are listed in
            :attr:`unclosed_streams` instead (see the module docstring).
    """

    def __init__(self, client: BaseClient, close_streams: bool = True) -> None:
        self._writer = _Writer(client.include_data_sources(), close_streams)
        self._normalizer = _Normalizer()
        self._normalizer.subscribe(self._writer)
        self.pending_events = 0

    @property
    def unclosed_streams(self) -> list[str]:
        """Close requests the stop left for later (empty unless ``close_streams=False``)."""
        return list(self._writer.unclosed)

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Pass one document on (events are held until :meth:`flush` or the stop)."""
        self._normalizer(name, doc)
        if name == "event":
            self.pending_events += 1
        elif name == "event_page":
            self.pending_events += len(doc.get("seq_num", ()))
        elif name == "stop":
            self.pending_events = 0

    def flush(self) -> int:
        """Write every held event to tiled; return how many were written."""
        written = 0
        writer = self._writer
        for stream, cache in writer._internal_data_cache.items():
            if cache:
                writer._write_internal_data(cache, desc_node=writer._desc_nodes[stream])
                written += len(cache)
                cache.clear()
        self.pending_events = 0
        return written
