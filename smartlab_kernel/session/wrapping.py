"""Wrap a submitted plan: add context to its runs and clear reasons to their ends."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

from bluesky.utils import FailedStatus, Msg


def explain(error: BaseException) -> str:
    """Say what went wrong, looking through a failed status to the device's own error."""
    if isinstance(error, FailedStatus) and error.args:
        status = error.args[0]
        cause = error.__cause__
        if cause is None and hasattr(status, "exception"):
            try:
                cause = status.exception(timeout=0)
            except Exception:
                cause = None
        if cause is not None:
            return f"{type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}"


def with_context(
    plan: Iterable[Msg],
    open_md: Callable[[dict[str, Any]], dict[str, Any]],
    abort_reason: Callable[[], str],
    interruptions: Callable[[], str] = lambda: "",
) -> Generator[Msg, Any, Any]:
    """Pass ``plan`` through, changing only ``open_run`` and ``close_run`` messages.

    ``open_run`` gets the metadata ``open_md(plan's own md)`` returns. A
    ``close_run`` with ``exit_status="fail"`` gets the device's own error as
    its reason (bluesky records only the failed status's repr), and one with
    ``exit_status="abort"`` and no reason gets ``abort_reason()``. Whatever
    the exit status, ``interruptions()`` (a summary of the run's pauses and
    suspensions, empty if none) is added to the reason.

    Args:
        plan: The plan.
        open_md: Returns the start metadata, given the plan's.
        abort_reason: Returns the operator's reason for an abort.
        interruptions: Returns the summary of the run's interruptions.
    """
    generator = iter(plan)
    last_error: BaseException | None = None
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            msg = generator.throw(error) if error is not None else generator.send(reply)  # type: ignore[attr-defined]
        except StopIteration as stop:
            return stop.value
        if msg.command == "open_run":
            msg = msg._replace(kwargs=open_md(dict(msg.kwargs)))
        elif msg.command == "close_run":
            status = msg.kwargs.get("exit_status")
            if status == "fail" and last_error is not None:
                msg = msg._replace(kwargs={**msg.kwargs, "reason": explain(last_error)})
            elif status == "abort" and not msg.kwargs.get("reason"):
                msg = msg._replace(kwargs={**msg.kwargs, "reason": abort_reason()})
            summary = interruptions()
            if summary:
                reason = "; ".join(r for r in (msg.kwargs.get("reason"), summary) if r)
                msg = msg._replace(kwargs={**msg.kwargs, "reason": reason})
        try:
            reply, error = (yield msg), None
        except GeneratorExit:
            generator.close()  # type: ignore[attr-defined]
            raise
        except BaseException as exc:  # handed on to the plan, which may handle it
            reply, error, last_error = None, exc, exc
