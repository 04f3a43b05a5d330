"""Checks a queue item must pass when it is submitted, so that it cannot fail for them later.

The RE Manager already checks, on every ``item_add`` from any client, that
the plan is allowed and that each argument has the right type and lies
within the ``min``/``max`` of the plan's annotations
(:mod:`~smartlab_kernel.serve.queue_plans` takes those from the devices'
limits). What it lets through, and what this module refuses in the HTTP
server before the item reaches the manager:

* ``meta`` over :data:`~smartlab_kernel.serve.limits.MAX_META_BYTES`: it is
  stored with the item and sent to everyone who lists the queue or history;
* ``meta`` keys the RunEngine, the plans or the lab write themselves
  (:data:`RESERVED_META_KEYS`): ``uid`` or ``time`` crash the run when it
  opens, the others would overwrite what the lab records (the recipe, the
  samples, the plan's name) with what the client claims;
* arguments over :data:`~smartlab_kernel.serve.limits.MAX_ARGUMENTS_BYTES`;
* numbers that are not finite (``NaN`` passes the manager's range check);
* an empty list as an argument: a scan over nothing "completes" with no run.

:func:`guard_manager_api` applies the checks to the HTTP server's
connection to the RE Manager, so every route that adds, updates or executes
an item (the stock ``/api/queue/item/*`` and the lab's own) is covered. A
refusal is answered the way the manager answers one, ``{"success": False,
"msg": ...}``, which stock clients already report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from .limits import MAX_ARGUMENTS_BYTES, MAX_META_BYTES

#: ``meta`` keys a client may not set. ``uid`` and ``time`` make the RunEngine fail
#: when the run opens; the rest are written by the RunEngine (``scan_id``,
#: ``plan_type``, ``plan_name``, ``versions``), by the lab's RunEngine (``bench``,
#: ``seed``, ``lab_server``, ``environment``, ``claimed_operator``), by the plans
#: (``recipe``, ``num_points``, ``scan_index``, ``scan_length``, ``plan_args``) or by
#: the LIMS link (``sample_ids``, ``lims_audit_head``), and the queue's metadata has
#: the highest precedence, so a client's value would replace the lab's record.
#: ``operator`` is not reserved: the queue replaces it with the key's user and keeps
#: the client's value as ``claimed_operator``.
RESERVED_META_KEYS: frozenset[str] = frozenset(
    {
        "uid",
        "time",
        "scan_id",
        "plan_type",
        "plan_name",
        "plan_args",
        "plan_pattern",
        "plan_pattern_args",
        "plan_pattern_module",
        "versions",
        "bench",
        "seed",
        "lab_server",
        "environment",
        "claimed_operator",
        "recipe",
        "num_points",
        "scan_index",
        "scan_length",
        "sample_ids",
        "lims_audit_head",
    }
)

#: Manager methods that put an item in the queue or run one.
ITEM_METHODS: frozenset[str] = frozenset(
    {"queue_item_add", "queue_item_add_batch", "queue_item_update", "queue_item_execute"}
)

_POSITIONAL_KINDS = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


class ItemRefused(ValueError):
    """A queue item that may not be submitted; the message names the value and what is allowed."""


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), allow_nan=True).encode())


def _json_text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def check_meta(meta: Any) -> None:
    """Refuse ``meta`` that is not a dict (or list of dicts), too large, or sets reserved keys.

    Raises:
        ItemRefused: Naming the offending key or size and what is allowed.
    """
    parts = meta if isinstance(meta, list) else [meta]
    if not all(isinstance(part, Mapping) for part in parts):
        raise ItemRefused(
            f"meta must be a dict of JSON values (or a list of such dicts), got {meta!r:.80}"
        )
    reserved = sorted({str(key) for part in parts for key in part} & RESERVED_META_KEYS)
    if reserved:
        raise ItemRefused(
            f"meta key(s) {reserved} are reserved: the lab records them itself "
            f"(reserved: {sorted(RESERVED_META_KEYS)}); use another name"
        )
    size = _json_size(meta)
    if size > MAX_META_BYTES:
        raise ItemRefused(
            f"meta is {size} bytes as JSON; at most {MAX_META_BYTES} bytes are allowed "
            "(every client listing the queue or history receives it): keep data out of meta"
        )


def bind_arguments(
    args: Sequence[Any], kwargs: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]] | None
) -> list[tuple[str, Any]]:
    """Pair each argument with its parameter's name, as the plan will receive it.

    Args:
        args: The item's positional arguments.
        kwargs: The item's keyword arguments.
        parameters: The plan's parameter descriptions from the RE Manager (``None``:
            unknown plan, positional arguments are named by their position).

    Returns:
        ``[(name, value), ...]``, positional arguments first.
    """
    positional = [
        str(p["name"])
        for p in parameters or ()
        if (p.get("kind") or {}).get("name") in _POSITIONAL_KINDS
    ]
    named = [
        (positional[i] if i < len(positional) else f"positional argument {i + 1}", value)
        for i, value in enumerate(args)
    ]
    return named + [(str(key), value) for key, value in kwargs.items()]


def _non_finite(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{path}={_json_text(value)}"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{index}]")


def check_plan_item(
    item: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]] | None
) -> None:
    """Refuse a queue item that would fail or mislead when it runs.

    Args:
        item: The queue item (``name``, ``args``, ``kwargs``, ``meta``...).
        parameters: The plan's parameter descriptions from the RE Manager, used to
            name positional arguments (``None`` if not known).

    Raises:
        ItemRefused: Naming the value and what is allowed.
    """
    name = item.get("name", "?")
    if "meta" in item:
        check_meta(item["meta"])
    if item.get("item_type", "plan") != "plan":
        return
    args, kwargs = item.get("args") or [], item.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, Mapping):
        raise ItemRefused(f"{name}: args must be a list and kwargs a dict of JSON values")
    size = _json_size({"args": args, "kwargs": kwargs})
    if size > MAX_ARGUMENTS_BYTES:
        raise ItemRefused(
            f"{name}: the arguments are {size} bytes as JSON; "
            f"at most {MAX_ARGUMENTS_BYTES} bytes are allowed"
        )
    for parameter, value in bind_arguments(args, kwargs, parameters):
        bad = list(_non_finite(value, parameter))
        if bad:
            raise ItemRefused(f"{name}: {bad[0]} is not a finite number; give a number")
        if isinstance(value, list) and not value:
            raise ItemRefused(
                f"{name}: {parameter}=[] is empty; give at least one value "
                "(a scan over no points records nothing)"
            )
    bad_meta = list(_non_finite(item.get("meta"), "meta"))
    if bad_meta:
        raise ItemRefused(f"{name}: {bad_meta[0]} is not a finite number (JSON has no NaN)")


def _items_of(method: str, params: Mapping[str, Any]) -> list[Any]:
    if method == "queue_item_add_batch":
        items = params.get("items")
        return list(items) if isinstance(items, list) else []
    return [params["item"]] if "item" in params else []


PlanParameters = Callable[[str, str | None], Awaitable[Sequence[Mapping[str, Any]] | None]]


async def refusal(method: str, params: Any, plan_parameters: PlanParameters) -> str | None:
    """Why a request to the RE Manager must be refused, or ``None`` if it may go on.

    Args:
        method: The manager's method (only :data:`ITEM_METHODS` are checked).
        params: Its parameters.
        plan_parameters: ``await plan_parameters(plan_name, user_group)`` returns the
            plan's parameter descriptions (or ``None``).
    """
    if method not in ITEM_METHODS or not isinstance(params, Mapping):
        return None
    items = _items_of(method, params)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue  # the manager refuses it with its own message
        try:
            parameters = None
            if item.get("item_type", "plan") == "plan" and isinstance(item.get("name"), str):
                parameters = await plan_parameters(item["name"], params.get("user_group"))
            check_plan_item(item, parameters)
        except ItemRefused as exc:
            prefix = f"item {index + 1} of the batch: " if len(items) > 1 else ""
            return f"{prefix}{exc}"
    return None


def refused_response(method: str, params: Mapping[str, Any], message: str) -> dict[str, Any]:
    """The answer the RE Manager gives to a refused item request, with ``message``."""
    response: dict[str, Any] = {"success": False, "msg": message, "qsize": None}
    if method == "queue_item_add_batch":
        items = _items_of(method, params)
        response["items"] = items
        response["results"] = [{"success": False, "msg": message} for _ in items]
    elif "item" in params:
        response["item"] = params["item"]
    return response


def plan_parameters_from(send_request: Callable[..., Awaitable[Any]]) -> PlanParameters:
    """A :data:`PlanParameters` that asks the RE Manager through ``send_request``.

    Args:
        send_request: An async ``REManagerAPI.send_request``.
    """

    async def plan_parameters(
        plan: str, user_group: str | None
    ) -> Sequence[Mapping[str, Any]] | None:
        if not user_group:
            return None
        reply = await send_request(method="plans_allowed", params={"user_group": user_group})
        described = (reply or {}).get("plans_allowed", {}).get(plan)
        return list(described.get("parameters", [])) if described else None

    return plan_parameters


def guard_manager_api(rm: Any) -> Any:
    """Make ``rm`` (the HTTP server's ``REManagerAPI``) refuse items that fail the checks.

    Every call of the async API goes through ``rm.send_request``; this wraps
    it on the instance. Plan descriptions for naming arguments are asked of
    the manager (``plans_allowed`` of the item's user group).

    Returns:
        ``rm``, guarded (a second call does nothing).
    """
    if getattr(rm, "_smartlab_guarded", False):
        return rm
    send_request = rm.send_request
    plan_parameters = plan_parameters_from(send_request)

    async def guarded(*, method: str, params: Any = None, **kwargs: Any) -> Any:
        reason = await refusal(method, params, plan_parameters)
        if reason is not None:
            return refused_response(method, params, reason)
        return await send_request(method=method, params=params, **kwargs)

    rm.send_request = guarded
    rm._smartlab_guarded = True
    return rm
