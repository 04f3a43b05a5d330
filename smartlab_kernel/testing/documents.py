"""Collect the documents a RunEngine emits, to make assertions on them."""

from __future__ import annotations

import threading
from typing import Any


class DocumentCollector:
    """A RunEngine subscriber that keeps every ``(name, doc)`` pair, thread-safely.

    Example::

        docs = DocumentCollector()
        RE.subscribe(docs)
        RE(count([det], num=3))
        assert len(docs.events()) == 3

    Attributes:
        documents: Every ``(name, doc)`` received, in order.
    """

    def __init__(self) -> None:
        self.documents: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Keep one document (the RunEngine calls this)."""
        with self._lock:
            self.documents.append((name, doc))

    def named(self, name: str) -> list[dict[str, Any]]:
        """Return the documents of one kind (``"start"``, ``"event"``, ...) in order."""
        with self._lock:
            return [doc for n, doc in self.documents if n == name]

    @property
    def starts(self) -> list[dict[str, Any]]:
        """Every start document."""
        return self.named("start")

    @property
    def stops(self) -> list[dict[str, Any]]:
        """Every stop document."""
        return self.named("stop")

    @property
    def descriptors(self) -> list[dict[str, Any]]:
        """Every event descriptor."""
        return self.named("descriptor")

    def events(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Return the events (of one stream, e.g. ``"primary"``, or of all) in order."""
        if stream is None:
            return self.named("event")
        uids = {d["uid"] for d in self.descriptors if d.get("name") == stream}
        return [e for e in self.named("event") if e["descriptor"] in uids]

    def clear(self) -> None:
        """Forget every document received so far."""
        with self._lock:
            self.documents.clear()
