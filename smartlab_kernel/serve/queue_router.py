"""The lab's own queue endpoints: add to the back of the queue, remove only your own items.

What :class:`~smartlab_kernel.remote.lab.RemoteLab` uses. Stock clients use
the server's own ``/api/queue/...`` routes, under the same rules
(:mod:`~smartlab_kernel.serve.queue_policy`). These two are added to the
HTTP server as a custom router (see
:func:`~smartlab_kernel.serve.service_files.http_server_config`):

* ``POST /api/smartlab/queue/item/add`` with ``{"item": {...}}``: appends the
  item (no position: a student cannot jump the queue), recorded under the
  caller's user name from their key.
* ``POST /api/smartlab/queue/item/remove`` with ``{"uid": ...}``: removes a
  waiting item if, and only if, the caller submitted it (403 otherwise, 404
  if no such item is waiting).

An item is checked before it is queued (:mod:`~smartlab_kernel.serve.validation`:
``meta`` size and reserved keys, finite numbers, no empty scans; 422 naming
the value and what is allowed); the RE Manager then checks the plan and its
arguments against the devices' limits. Without a key the endpoints answer
401; a known user without ``read:queue`` gets 403.

Instructors keep the server's own endpoints (reorder, remove any item).
"""

from __future__ import annotations

from typing import Any

from bluesky_httpserver.resources import SERVER_RESOURCES as SR
from bluesky_httpserver.settings import get_settings
from bluesky_httpserver.utils import (
    get_api_access_manager,
    get_current_username,
    get_resource_access_manager,
    process_exception,
)
from fastapi import APIRouter, Depends, HTTPException

from .http_auth import caller
from .queue_policy import ITEM_KEYS
from .validation import plan_parameters_from, refusal

router = APIRouter(prefix="/api/smartlab/queue")


def _caller(principal: Any, settings: Any, api_access_manager: Any) -> tuple[str, str]:
    username = get_current_username(
        principal=principal, settings=settings, api_access_manager=api_access_manager
    )[0]
    return str(api_access_manager.get_displayed_user_name(username)), username


def _checked_item(payload: Any) -> dict[str, Any]:
    item = payload.get("item") if isinstance(payload, dict) else None
    if not isinstance(item, dict):
        raise HTTPException(status_code=422, detail='expected {"item": {...}}')
    extra = sorted(set(payload) - {"item"}) + sorted(set(item) - ITEM_KEYS)
    if extra:
        raise HTTPException(
            status_code=422,
            detail=f"not allowed in a student's queue item: {extra}; allowed: {sorted(ITEM_KEYS)}",
        )
    if item.get("item_type", "plan") != "plan":
        raise HTTPException(status_code=422, detail="students may add plans only")
    return {**item, "item_type": "plan"}


@router.post("/item/add")
async def add_own_item(
    payload: dict[str, Any],
    principal: Any = Depends(caller("read:queue")),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
    resource_access_manager: Any = Depends(get_resource_access_manager),  # noqa: B008
) -> dict[str, Any]:
    """Append a plan to the back of the queue under the caller's name."""
    item = _checked_item(payload)
    displayed, username = _caller(principal, settings, api_access_manager)
    group = resource_access_manager.get_resource_group(username)
    try:
        reason = await refusal(
            "queue_item_add",
            {"item": item, "user_group": group},
            plan_parameters_from(SR.RM.send_request),
        )
    except Exception:
        process_exception()
        raise  # unreachable: process_exception always raises
    if reason is not None:
        raise HTTPException(status_code=422, detail=reason)
    try:
        return dict(await SR.RM.item_add(item=item, user=displayed, user_group=group))
    except HTTPException:
        raise
    except Exception:
        process_exception()
        raise  # unreachable: process_exception always raises


@router.post("/item/remove")
async def remove_own_item(
    payload: dict[str, Any],
    principal: Any = Depends(caller("read:queue")),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
) -> dict[str, Any]:
    """Remove a waiting item, if the caller submitted it."""
    uid = payload.get("uid")
    if not isinstance(uid, str) or not uid:
        raise HTTPException(status_code=422, detail='expected {"uid": "<item uid>"}')
    displayed, _ = _caller(principal, settings, api_access_manager)
    try:
        found = await SR.RM.item_get(uid=uid)
    except Exception:
        process_exception()
        raise
    if not found.get("success", False) or not found.get("item"):
        raise HTTPException(
            status_code=404,
            detail=f"no item {uid!r} is waiting in the queue: it may have started, "
            "ended or been removed already (lab.queue() lists the waiting items)",
        )
    owner = found["item"].get("user")
    if owner != displayed:
        raise HTTPException(
            status_code=403,
            detail=f"item {uid} was submitted by {owner!r}: you may remove only your own items",
        )
    try:
        return dict(await SR.RM.item_remove(uid=uid))
    except Exception:
        process_exception()
        raise
