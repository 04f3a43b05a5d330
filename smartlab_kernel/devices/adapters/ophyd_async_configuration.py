"""The configuration of ophyd-async devices for a run's start document, read without blocking.

A lab records every device's configuration when a run opens, and it does so
on the RunEngine's event loop, where an ophyd-async ``read_configuration()``
(a coroutine on that same loop) cannot be waited for.
:func:`read_configurations_before_runs` has the RunEngine read them (a
``wait_for`` message) just before each ``open_run``; :func:`configuration_now`
then returns what was read.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from bluesky.preprocessors import plan_mutator
from bluesky.utils import Msg

from .bluesky_loop import is_awaitable, run_in_bluesky_loop
from .ophyd_async_devices import is_ophyd_async_device

Readings = dict[str, dict[str, Any]]

#: Seconds the devices may take to answer before a run opens (the run waits for them).
READ_TIMEOUT = 2.0

_read_before_run: weakref.WeakKeyDictionary[Any, Readings | BaseException] = (
    weakref.WeakKeyDictionary()
)


def read_configurations_before_runs(
    plan: Iterable[Msg], devices: Mapping[str, Any], timeout: float = READ_TIMEOUT
) -> Generator[Msg, Any, Any]:
    """Pass ``plan`` through; before each ``open_run``, read the ophyd-async devices' configuration.

    Args:
        plan: The plan.
        devices: The lab's devices (looked at anew at every run).
        timeout: Seconds the reads may take; a device that does not answer is
            recorded with its error, the run still opens.
    """

    def read_first(msg: Msg) -> tuple[Generator[Msg, Any, Any] | None, None]:
        if msg.command != "open_run":
            return None, None
        asynchronous = [d for d in devices.values() if is_ophyd_async_device(d)]
        if not asynchronous:
            return None, None

        def head() -> Generator[Msg, Any, Any]:
            yield Msg("wait_for", None, [_reader(d, timeout) for d in asynchronous])
            return (yield msg)

        return head(), None

    return (yield from plan_mutator(plan, read_first))


def _reader(device: Any, timeout: float) -> Callable[[], Any]:
    async def read() -> None:
        try:
            _read_before_run[device] = await _with_timeout(device.read_configuration(), timeout)
        except Exception as exc:  # recorded in the start document instead
            _read_before_run[device] = exc

    return read


async def _with_timeout(awaitable: Any, timeout: float) -> Readings:
    try:
        readings: Readings = await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise TimeoutError(f"no answer within {timeout:g} s") from None
    return readings


def configuration_now(device: Any, timeout: float = READ_TIMEOUT) -> Readings:
    """Return ``device.read_configuration()``, for ophyd and ophyd-async devices alike.

    On an event loop (a RunEngine's, as a run opens), an ophyd-async device's
    configuration is the one :func:`read_configurations_before_runs` read;
    elsewhere it is read now.

    Raises:
        Exception: The device's own error when it could not be read.
        RuntimeError: For an ophyd-async device on the loop that was not read
            before the run (its plan was not wrapped).
    """
    if not is_ophyd_async_device(device):
        result = device.read_configuration()
        if not is_awaitable(result):
            readings: Readings = result
            return readings
    elif _on_an_event_loop():
        found = _read_before_run.pop(device, None)
        if isinstance(found, BaseException):
            raise found
        if found is None:
            raise RuntimeError(
                "not read before the run opened (wrap the plan with "
                "read_configurations_before_runs); see the run's descriptors"
            )
        return found
    else:
        result = device.read_configuration()
    configuration: Readings = run_in_bluesky_loop(result, timeout)
    return configuration


def _on_an_event_loop() -> bool:
    """Whether this thread runs an event loop (a RunEngine's), which must not block on itself.

    Not ``in_bluesky_event_loop()``: that names the loop of the RunEngine made
    last, and a process may hold several (two labs, a lab and a test's own).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
