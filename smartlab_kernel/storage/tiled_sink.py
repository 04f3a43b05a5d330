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
"""

from __future__ import annotations

from typing import Any

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


class RunSink:
    """Writes the documents of one run into a tiled container.

    Args:
        client: The tiled container that holds runs.
    """

    def __init__(self, client: BaseClient) -> None:
        self._writer = _RunWriter(client.include_data_sources(), batch_size=_NEVER)
        self._normalizer = _Normalizer()
        self._normalizer.subscribe(self._writer)
        self.pending_events = 0

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
