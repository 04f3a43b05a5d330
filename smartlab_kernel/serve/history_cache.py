"""``GET /api/history/get`` answered from one serialized copy per version of the history.

Every student's client (``RemoteRun.wait``, the stock ``REManagerAPI``) reads
the whole plan history each time it changes, that is each time a plan ends.
Upstream, each of those reads deep-copies the history the server holds and
runs it through FastAPI's ``jsonable_encoder``: in a class's burst of 150
plans (30 students) that was over a quarter of the HTTP server's CPU in a
profile, CPU the RE worker and the catalog needed. Here the history is
serialized once per ``plan_history_uid`` and the same bytes are sent to
everyone, as fresh as upstream's answer (both go by the manager status the
server holds). The response body is the one upstream sends.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Depends, Response

from .http_auth import caller

JSON = "application/json"


class HistoryCache:
    """The history's latest serialized form and the ``plan_history_uid`` it is for."""

    def __init__(self) -> None:
        self.uid: str | None = None
        self.body = b""
        self._lock = asyncio.Lock()

    async def body_for(self, manager: Any) -> bytes:
        """The history as JSON bytes, serialized again only when its uid changed.

        Args:
            manager: The server's asynchronous ``REManagerAPI``.
        """
        status = await manager.status()
        uid = status.get("plan_history_uid")
        if uid is not None and uid == self.uid:
            return self.body
        async with self._lock:
            if uid is not None and uid == self.uid:  # serialized meanwhile by another request
                return self.body
            message = await manager.history_get()
            body = render(message)
            self.uid, self.body = message.get("plan_history_uid"), body
            return body


def render(message: dict[str, Any]) -> bytes:
    """JSON bytes as FastAPI's ``JSONResponse`` renders them."""
    return json.dumps(
        message, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


_CACHE = HistoryCache()


async def history_get(
    payload: dict[str, Any] | None = None,
    principal: Any = Depends(caller("read:history")),  # noqa: B008
) -> Any:
    """The plan history, for a key with ``read:history`` (as upstream's route)."""
    from bluesky_httpserver.resources import SERVER_RESOURCES as SR
    from bluesky_httpserver.utils import process_exception

    try:
        if payload:  # options upstream passes on to the manager: no cache
            return await SR.RM.history_get(**payload)
        return Response(await _CACHE.body_for(SR.RM), media_type=JSON)
    except Exception:
        process_exception()
