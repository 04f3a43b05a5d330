"""Per-user rules on the queueserver HTTP server's own queue routes (issue 16 item 3).

Students hold the server's ``write:queue:edit`` scope, so stock clients
work: bluesky-queueserver-api's ``REManagerAPI`` (``item_add``,
``queue_get``, ``item_remove``, ...) and the bluesky-widgets queue editor
talk to ``/api/queue/...`` directly. That scope alone would let them edit
anybody's items, so the routes that change the queue are served by the
endpoints below (put in front of the upstream ones, see
:mod:`~smartlab_kernel.serve.http_app`), which apply the lab's policy and
then call the upstream handler unchanged:

* a caller with :data:`~smartlab_kernel.serve.service_files.OTHERS_ITEMS_SCOPE`
  (instructors) gets the server's behaviour as it is;
* anyone else may add plans (no instructions) at the back of the queue,
  change and remove their own waiting items (by uid or position), and
  nothing else: moving items, clearing the queue, adding at a position,
  uploading a spreadsheet and touching another user's item are refused
  with 403, naming the user and the rule.

An item's owner is its ``user``, which the server sets from the caller's
key when the item is added or changed, never from what the client sends.
Reading the queue (``read:queue``) is not restricted. What is in an item
(plan, arguments, ``meta``) is checked for everybody, whichever route sent
it, by :mod:`~smartlab_kernel.serve.validation`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from bluesky_httpserver.authentication import get_current_principal
from bluesky_httpserver.resources import SERVER_RESOURCES as SR
from bluesky_httpserver.routers import core_api
from bluesky_httpserver.settings import get_settings
from bluesky_httpserver.utils import (
    get_api_access_manager,
    get_current_username,
    get_resource_access_manager,
    process_exception,
)
from fastapi import Depends, File, Form, HTTPException, Security, UploadFile

from .http_auth import user_of
from .service_files import OTHERS_ITEMS_SCOPE

#: Keys a student's queue item may have (anything else is refused).
ITEM_KEYS = frozenset({"item_type", "name", "args", "kwargs", "meta"})
#: What the rules say, at the end of every refusal.
RULE = (
    "students add plans at the back of the queue and change or remove only their own "
    "waiting items; an instructor does the rest"
)
_EDIT = ["write:queue:edit"]


def may_edit_others(principal: Any) -> bool:
    """Whether ``principal`` may edit anybody's items anywhere in the queue (instructors)."""
    return OTHERS_ITEMS_SCOPE in set(getattr(principal, "scopes", None) or ())


def displayed_user(principal: Any, settings: Any, api_access_manager: Any) -> str:
    """The name the server writes as an item's ``user`` for ``principal``."""
    username = get_current_username(
        principal=principal, settings=settings, api_access_manager=api_access_manager
    )[0]
    return str(api_access_manager.get_displayed_user_name(username))


def refuse(principal: Any, what: str) -> NoReturn:
    """Refuse with 403: ``principal`` may not do ``what``.

    Raises:
        HTTPException: Always (403; starts as the server's own refusals do).
    """
    raise HTTPException(
        status_code=403,
        detail=f"Not enough permissions: {user_of(principal)!r} may not {what}: {RULE}",
    )


def check_student_item(principal: Any, item: Any, *, with_uid: bool = False) -> Mapping[str, Any]:
    """Return ``item`` if it is a plan with only the keys a student may send.

    Raises:
        HTTPException: 403 for an instruction; 422 for a malformed item or an unknown key.
    """
    if not isinstance(item, Mapping):
        raise HTTPException(status_code=422, detail='expected {"item": {...}}')
    if item.get("item_type", "plan") != "plan":
        refuse(principal, f"add or change a queue item of type {item.get('item_type')!r}")
    allowed = ITEM_KEYS | {"item_uid"} if with_uid else ITEM_KEYS
    extra = sorted(set(item) - allowed)
    if extra:
        raise HTTPException(
            status_code=422,
            detail=f"not allowed in a student's queue item: {extra}; allowed: {sorted(allowed)}",
        )
    return item


def check_at_the_back(principal: Any, payload: Mapping[str, Any]) -> None:
    """Refuse an add that names a position (anything but the back of the queue).

    Raises:
        HTTPException: 403.
    """
    if payload.get("pos", "back") not in ("back", None) or any(
        payload.get(key) is not None for key in ("before_uid", "after_uid")
    ):
        refuse(principal, "add items anywhere but at the back of the queue")


async def owners(uids: Iterable[Any] = (), positions: Iterable[Any] = ()) -> dict[str, str]:
    """Waiting items named by uid or position: uid -> ``user`` (items not found are left out)."""
    found: dict[str, str] = {}
    requests = [{"uid": uid} for uid in uids] + [{"pos": pos} for pos in positions]
    for request in requests:
        try:
            answer = await SR.RM.item_get(**request)
        except Exception:
            process_exception()
            raise  # unreachable: process_exception always raises
        item = answer.get("item") if answer.get("success") else None
        if item and item.get("item_uid"):
            found[str(item["item_uid"])] = str(item.get("user"))
    return found


def check_owner(principal: Any, name: str, found: Mapping[str, str]) -> None:
    """Refuse if any item in ``found`` (uid -> user) is not ``name``'s.

    Raises:
        HTTPException: 403 naming the items and their owners.
    """
    theirs = {uid: user for uid, user in found.items() if user != name}
    if theirs:
        listed = ", ".join(f"{uid} (submitted by {user!r})" for uid, user in theirs.items())
        refuse(principal, f"change or remove another user's item: {listed}")


# -- the routes -----------------------------------------------------------------------


async def queue_item_add(
    payload: dict[str, Any] | None = None,
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
    resource_access_manager: Any = Depends(get_resource_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/item/add``: students add plans at the back, under their name."""
    payload = dict(payload or {})
    if not may_edit_others(principal):
        check_at_the_back(principal, payload)
        check_student_item(principal, payload.get("item"))
    return await core_api.queue_item_add_handler(
        payload=payload,
        principal=principal,
        settings=settings,
        api_access_manager=api_access_manager,
        resource_access_manager=resource_access_manager,
    )


async def queue_item_add_batch(
    payload: dict[str, Any] | None = None,
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
    resource_access_manager: Any = Depends(get_resource_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/item/add/batch``: as :func:`queue_item_add`, for each item."""
    payload = dict(payload or {})
    if not may_edit_others(principal):
        check_at_the_back(principal, payload)
        items = payload.get("items")
        if not isinstance(items, list):
            raise HTTPException(status_code=422, detail='expected {"items": [{...}, ...]}')
        for item in items:
            check_student_item(principal, item)
    return await core_api.queue_item_add_batch_handler(
        payload=payload,
        principal=principal,
        settings=settings,
        api_access_manager=api_access_manager,
        resource_access_manager=resource_access_manager,
    )


async def queue_item_update(
    payload: dict[str, Any] | None = None,
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
    resource_access_manager: Any = Depends(get_resource_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/item/update``: students change their own waiting plans only."""
    payload = dict(payload or {})
    if not may_edit_others(principal):
        uid = check_student_item(principal, payload.get("item"), with_uid=True).get("item_uid")
        if not isinstance(uid, str) or not uid:
            raise HTTPException(status_code=422, detail="the item to change needs its item_uid")
        name = displayed_user(principal, settings, api_access_manager)
        check_owner(principal, name, await owners(uids=[uid]))
    return await core_api.queue_item_update_handler(
        payload=payload,
        principal=principal,
        settings=settings,
        api_access_manager=api_access_manager,
        resource_access_manager=resource_access_manager,
    )


async def queue_item_remove(
    payload: dict[str, Any] | None = None,
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/item/remove``: students remove their own waiting items only.

    An item named by position is removed by its uid once its owner is
    checked, so the queue moving in between cannot remove another item.
    """
    payload = dict(payload or {})
    if not may_edit_others(principal):
        name = displayed_user(principal, settings, api_access_manager)
        if "uid" in payload:
            check_owner(principal, name, await owners(uids=[payload["uid"]]))
        else:
            pos = payload.pop("pos", "back")
            found = await owners(positions=[pos])
            if not found:
                return {"success": False, "msg": f"no item is waiting at position {pos!r}"}
            check_owner(principal, name, found)
            payload["uid"] = next(iter(found))
    return await core_api.queue_item_remove_handler(payload=payload, principal=principal)


async def queue_item_remove_batch(
    payload: dict[str, Any] | None = None,
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/item/remove/batch``: only if every item is the student's own."""
    payload = dict(payload or {})
    if not may_edit_others(principal):
        uids = payload.get("uids")
        if not isinstance(uids, list):
            raise HTTPException(status_code=422, detail='expected {"uids": ["<item uid>", ...]}')
        name = displayed_user(principal, settings, api_access_manager)
        check_owner(principal, name, await owners(uids=uids))
    return await core_api.queue_item_remove_batch_handler(payload=payload, principal=principal)


def _instructors_only(upstream: Callable[..., Any], what: str, path: str) -> Callable[..., Any]:
    """An endpoint that refuses students (403) and calls ``upstream(payload, principal)``."""

    async def endpoint(
        payload: dict[str, Any] | None = None,
        principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    ) -> Any:
        if not may_edit_others(principal):
            refuse(principal, what)
        return await upstream(payload=dict(payload or {}), principal=principal)

    endpoint.__name__ = f"instructors_{upstream.__name__}"
    endpoint.__doc__ = f"``POST {path}``: instructors only (students: 403)."
    return endpoint


async def queue_upload_spreadsheet(
    spreadsheet: UploadFile = File(...),  # noqa: B008
    data_type: str | None = Form(None),
    principal: Any = Security(get_current_principal, scopes=_EDIT),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
    resource_access_manager: Any = Depends(get_resource_access_manager),  # noqa: B008
) -> Any:
    """``POST /api/queue/upload/spreadsheet``: instructors only (its rows may be anything)."""
    if not may_edit_others(principal):
        refuse(principal, "upload a spreadsheet of queue items (add them one by one)")
    return await core_api.queue_upload_spreadsheet(
        spreadsheet=spreadsheet,
        data_type=data_type,
        principal=principal,
        settings=settings,
        api_access_manager=api_access_manager,
        resource_access_manager=resource_access_manager,
    )


#: Upstream routes only instructors may use: ``(path, upstream handler, what it does)``.
_INSTRUCTORS_ONLY: tuple[tuple[str, Callable[..., Any], str], ...] = (
    ("/api/queue/item/move", core_api.queue_item_move_handler, "move queue items"),
    ("/api/queue/item/move/batch", core_api.queue_item_move_batch_handler, "move queue items"),
    ("/api/queue/clear", core_api.queue_clear_handler, "clear the queue"),
)

#: ``(path, method, endpoint)`` of every upstream route the policy serves instead.
ROUTES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("/api/queue/item/add", "POST", queue_item_add),
    ("/api/queue/item/add/batch", "POST", queue_item_add_batch),
    ("/api/queue/item/update", "POST", queue_item_update),
    ("/api/queue/item/remove", "POST", queue_item_remove),
    ("/api/queue/item/remove/batch", "POST", queue_item_remove_batch),
    ("/api/queue/upload/spreadsheet", "POST", queue_upload_spreadsheet),
    *(
        (path, "POST", _instructors_only(upstream, what, path))
        for path, upstream, what in _INSTRUCTORS_ONLY
    ),
)
