"""``/api/smartlab/room``: the served lab's room for notebooks, behind the users' keys.

Added to the queueserver HTTP server as a custom router (see
:func:`~smartlab_kernel.serve.service_files.http_server_config`):

* ``GET /api/smartlab/room`` (any user): the latest state the RE worker
  published: readings, status, energy, alarms. 503 if the room is not
  reporting (no RE environment open).
* ``POST /api/smartlab/room/command`` (instructors): ``{"op": ..., ...}``, one
  of :data:`~smartlab_kernel.serve.room_bridge.COMMANDS`. An acknowledgement
  is recorded under the caller's user name from their key. 403 for a
  student, 422 for a bad command or value, 504 if the worker does not answer.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import redis.asyncio as aioredis
from bluesky_httpserver.authentication import get_current_principal
from fastapi import APIRouter, HTTPException, Security

from .room_bridge import COMMANDS, RoomKeys, redis_url

#: Environment variables through which ``LabServer`` gives the router the lab's Redis.
REDIS_ADDRESS_ENV = "SMARTLAB_SERVE_REDIS_ADDRESS"
REDIS_PREFIX_ENV = "SMARTLAB_SERVE_REDIS_PREFIX"
#: Seconds to wait for the worker's reply to a command.
REPLY_TIMEOUT_S = 5

router = APIRouter(prefix="/api/smartlab/room")
_clients: dict[str, aioredis.Redis] = {}


def _redis() -> tuple[aioredis.Redis, RoomKeys]:
    address = os.environ.get(REDIS_ADDRESS_ENV)
    if not address:
        raise HTTPException(status_code=503, detail=f"{REDIS_ADDRESS_ENV} is not set")
    if address not in _clients:
        _clients[address] = aioredis.Redis.from_url(redis_url(address), socket_timeout=5)
    return _clients[address], RoomKeys(os.environ.get(REDIS_PREFIX_ENV, "smartlab"))


def _user(principal: Any) -> str:
    identities = [identity.id for identity in principal.identities]
    return str(identities[0]) if identities else "unknown"


@router.get("")
async def room_state(
    principal: Any = Security(get_current_principal, scopes=["read:status"]),  # noqa: B008
) -> dict[str, Any]:
    """Return the room's latest state."""
    client, keys = _redis()
    raw = await client.get(keys.state)
    if raw is None:
        raise HTTPException(
            status_code=503,
            detail="the lab's room is not reporting (is the RE environment open?)",
        )
    return dict(json.loads(raw))


@router.post("/command")
async def room_command(
    payload: dict[str, Any],
    principal: Any = Security(get_current_principal, scopes=["read:status"]),  # noqa: B008
) -> dict[str, Any]:
    """Carry out a room command (instructors only) and return the worker's reply."""
    if "admin" not in (principal.roles or []):
        raise HTTPException(
            status_code=403,
            detail=f"only an instructor may control the room or acknowledge alarms "
            f"({_user(principal)!r} is not one)",
        )
    op = payload.get("op")
    if op not in COMMANDS:
        raise HTTPException(
            status_code=422, detail=f"unknown room command {op!r}; known: {sorted(COMMANDS)}"
        )
    command_id = uuid.uuid4().hex
    command = {**payload, "id": command_id, "who": _user(principal)}
    client, keys = _redis()
    await client.rpush(keys.commands, json.dumps(command))
    reply = await client.blpop([keys.reply(command_id)], timeout=REPLY_TIMEOUT_S)
    if reply is None:
        await client.lrem(keys.commands, 0, json.dumps(command))
        raise HTTPException(
            status_code=504,
            detail=f"the lab's room did not answer {op!r} within {REPLY_TIMEOUT_S} s",
        )
    answer = dict(json.loads(reply[1]))
    if not answer.get("ok"):
        raise HTTPException(status_code=422, detail=str(answer.get("error")))
    return answer
