"""RemoteRun's state when its item ends between two reads of the queue server.

The stock ``REManagerAPI`` answers ``history_get()`` from its cached copy
while the status it holds names the same history uid. An item that ends
after the status was read, but before the queue was read, is then in
neither the queue nor that history: it must not be called ``removed``.
"""

from __future__ import annotations

from typing import Any

from smartlab_kernel.remote.lab import RemoteLab, RemoteRun

ITEM = "item-1"


class _CachingQueueServer:
    """Mimics REManagerAPI: status is cached; history is re-read only when its uid changed."""

    def __init__(self) -> None:
        self.running = True
        self.history: list[dict[str, Any]] = []
        self.history_uid = 0
        self._status = {"plan_history_uid": 0}
        self._cached_history: list[dict[str, Any]] = []
        self._cached_uid = 0

    def _finish(self) -> None:
        self.running = False
        self.history.append({"item_uid": ITEM, "result": {"exit_status": "completed"}})
        self.history_uid += 1

    def status(self, reload: bool = False) -> dict[str, Any]:
        if reload:
            self._status = {"plan_history_uid": self.history_uid}
        return dict(self._status)

    def queue_get(self, reload: bool = False) -> dict[str, Any]:
        self.status(reload=reload)  # as REManagerAPI does: status first ...
        self._finish()  # ... and the item ends just before the queue is read
        return {"items": [], "running_item": {"item_uid": ITEM} if self.running else {}}

    def history_get(self, reload: bool = False) -> dict[str, Any]:
        uid = self.status(reload=reload)["plan_history_uid"]
        if uid != self._cached_uid:
            self._cached_history, self._cached_uid = list(self.history), uid
        return {"items": list(self._cached_history)}


def _lab(server: _CachingQueueServer) -> RemoteLab:
    lab = object.__new__(RemoteLab)
    lab._api = server
    lab.user, lab.roles = "student01", ["student"]
    return lab


def test_an_item_that_ends_between_the_reads_is_finished_not_removed() -> None:
    server = _CachingQueueServer()
    run = RemoteRun(_lab(server), ITEM, "measure")
    assert run.state == "finished"
