"""The HTTP server serializes each version of the plan history once, for every reader."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from smartlab_kernel.serve.history_cache import HistoryCache, render


class _Manager:
    """An asynchronous REManagerAPI stand-in: a status and a history that can change."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = [{"item_uid": "a", "name": "measure", "kwargs": {}}]
        self.uid = "h1"
        self.history_reads = 0

    async def status(self) -> dict[str, Any]:
        return {"plan_history_uid": self.uid}

    async def history_get(self) -> dict[str, Any]:
        self.history_reads += 1
        await asyncio.sleep(0.01)  # readers arriving meanwhile wait for this one
        return {"success": True, "msg": "", "plan_history_uid": self.uid, "items": self.items}


def test_each_history_version_is_read_and_serialized_once() -> None:
    manager, cache = _Manager(), HistoryCache()

    async def readers(count: int) -> list[bytes]:
        return list(await asyncio.gather(*(cache.body_for(manager) for _ in range(count))))

    async def two_versions() -> tuple[list[bytes], list[bytes]]:  # one loop, as the server's
        first = await readers(30)
        assert manager.history_reads == 1
        manager.items = [*manager.items, {"item_uid": "b", "name": "measure", "kwargs": {"t": 1}}]
        manager.uid = "h2"  # a plan ended
        return first, await readers(30)

    first, second = asyncio.run(two_versions())
    assert {body for body in first} == {first[0]}
    assert [i["item_uid"] for i in json.loads(first[0])["items"]] == ["a"]
    assert manager.history_reads == 2
    assert {body for body in second} == {second[0]}
    assert [i["item_uid"] for i in json.loads(second[0])["items"]] == ["a", "b"]


def test_the_body_is_what_fastapi_would_have_sent() -> None:
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    message = {"items": [{"name": "measure", "kwargs": {"temperature_c": 45.5, "note": "é"}}]}
    assert render(message) == JSONResponse(jsonable_encoder(message)).body
