"""Timed steps that a pause or a suspension holds, never cuts short.

The lab's RunEngine is not rewindable (a dispense cannot be undone, so a
pause must not replay steps from a checkpoint). Bluesky then answers a
``wait`` (or ``sleep``) that a pause or a suspender interrupted with
``None`` as soon as the plan resumes, and the plan goes on while the step
it waited for (a hold, a move, a dispense, an acquisition) is still held by
the device: the run would read an unreacted vial and end as a success.

:func:`resume_interrupted_steps` wraps a plan so that such a step is waited
for again, for its remaining time, before the plan goes on:

- ``wait``: the statuses of the group that are not done yet are awaited
  again (``wait_for``), as often as interruptions occur; a status that
  failed meanwhile fails the plan with the device's own error.
- ``sleep``: the rest of the sleep, not counting the time the plan was held.
- A device that does not hold its operations through a pause (it does not
  declare ``resumes_after_pause = True``) and whose step finished *during*
  the interruption may have been stopped short by it (Bluesky stops every
  moved object when it pauses): the step cannot be vouched for, so the plan
  fails with :class:`StepInterruptedError` saying so, rather than record a
  step that may not have happened.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from bluesky.utils import FailedStatus, Msg

from .interruptions import InterruptionLog

#: Messages whose reply is a status object that a later ``wait`` waits for.
_STATUS_COMMANDS = frozenset({"set", "trigger", "kickoff", "complete"})


class StepInterruptedError(RuntimeError):
    """A step was interrupted and cannot be resumed truthfully; the run ends as failed."""


@dataclass
class _Step:
    """A step in progress: the device, what it was asked, its status, when it finished."""

    obj: Any
    command: str
    status: Any
    finished_at: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(getattr(self.obj, "name", self.obj))

    @property
    def holds_through_pause(self) -> bool:
        return bool(getattr(self.obj, "resumes_after_pause", False))


def resume_interrupted_steps(plan: Iterable[Msg], log: InterruptionLog) -> Generator[Msg, Any, Any]:
    """Pass ``plan`` through, waiting again for the steps an interruption held.

    Args:
        plan: The plan.
        log: The RunEngine's interruptions (tells when the plan was held).
    """
    generator = iter(plan)
    steps: defaultdict[Any, list[_Step]] = defaultdict(list)
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            msg = generator.throw(error) if error is not None else generator.send(reply)  # type: ignore[attr-defined]
        except StopIteration as stop:
            return stop.value
        try:
            if msg.command in _STATUS_COMMANDS and msg.kwargs.get("group") is not None:
                reply = yield msg
                if hasattr(reply, "add_callback"):
                    steps[msg.kwargs["group"]].append(_track(msg, reply))
            elif msg.command == "wait":
                group = msg.args[0] if msg.args else msg.kwargs.get("group")
                mark = log.count
                reply = yield msg
                waited = steps.pop(group, [])
                if log.count != mark and waited:
                    yield from _finish_steps(waited, msg, log, mark)
                    reply = True
            elif msg.command == "sleep" and msg.args:
                yield from _sleep_fully(msg, log)
                reply = None
            else:
                reply = yield msg
            error = None
        except GeneratorExit:
            generator.close()  # type: ignore[attr-defined]
            raise
        except BaseException as exc:  # handed on to the plan, which may handle it
            reply, error = None, exc


def _track(msg: Msg, status: Any) -> _Step:
    step = _Step(msg.obj, msg.command, status)
    status.add_callback(lambda _status: step.finished_at.append(time.monotonic()))
    return step


def _finish_steps(
    steps: list[_Step], wait: Msg, log: InterruptionLog, mark: int
) -> Generator[Msg, Any, None]:
    """Wait again for interrupted steps until each is done; fail where one cannot be trusted."""
    timeout = wait.kwargs.get("timeout")
    while True:
        pending = [step for step in steps if not step.status.done]
        if not pending:
            break
        extra = {"timeout": timeout} if timeout is not None else {}
        yield Msg(
            "wait_for",
            None,
            [_status_awaitable(step.status) for step in pending],
            return_when=asyncio.FIRST_EXCEPTION,
            **extra,
        )
    for step in steps:
        if not step.status.success:
            raise FailedStatus(step.status) from _status_error(step.status)
    interrupted = log.since(mark)
    for step in steps:
        if step.holds_through_pause or not step.finished_at:
            continue
        finished = step.finished_at[0]
        for entry in interrupted:
            end = entry.ended_monotonic if entry.ended_monotonic is not None else time.monotonic()
            if entry.started_monotonic <= finished <= end:
                raise StepInterruptedError(
                    f"{step.name} finished its {step.command} while the plan was "
                    f"{entry.describe()}; it does not hold its operations through a pause "
                    "(no resumes_after_pause), so it may have been stopped short: the step "
                    "cannot be vouched for and the run ends as failed. Run it again."
                )


def _sleep_fully(msg: Msg, log: InterruptionLog) -> Generator[Msg, Any, None]:
    """Sleep ``msg.args[0]`` seconds of running time, however often the plan is held."""
    duration = float(msg.args[0])
    start = time.monotonic()
    yield msg
    while True:
        slept = time.monotonic() - start - log.held_seconds(start)
        remaining = duration - slept
        if remaining <= 1e-3:
            return
        yield Msg("sleep", None, remaining)


def _status_awaitable(status: Any) -> Callable[[], Any]:
    """A ``wait_for`` factory: an awaitable that finishes with ``status``."""

    async def finished() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not future.done():
                future.set_result(None)

        status.add_callback(lambda _status: loop.call_soon_threadsafe(settle))
        await future

    return finished


def _status_error(status: Any) -> BaseException | None:
    try:
        error = status.exception(timeout=0)
    except Exception as exc:  # the status could not say: report that
        return exc
    return error if isinstance(error, BaseException) else None
