"""Bluesky's event loop, for ophyd-async calls made outside a plan.

ophyd-async devices are connected (and may be read) with Bluesky's
``call_in_bluesky_event_loop``, which needs the loop a RunEngine starts. A
lab configuration's devices are built before any ``Lab`` (or RunEngine)
exists, so :func:`bluesky_event_loop` starts that loop on its background
thread when none runs, the way a RunEngine would. (A RunEngine made later
starts a loop of its own; the tests show ophyd-async devices connected
earlier work with it, as the EPICS and simulated devices do.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from bluesky import run_engine

T = TypeVar("T")

_lock = threading.Lock()


def bluesky_event_loop(timeout: float = 5.0) -> asyncio.AbstractEventLoop:
    """Return Bluesky's event loop, running on its background thread; start one if none runs.

    Args:
        timeout: Seconds to wait for a new loop's thread to start.

    Raises:
        RuntimeError: If a new loop does not start within ``timeout``.
    """
    with _lock:
        loop = run_engine.get_bluesky_event_loop()
        if loop is not None and not loop.is_closed() and loop.is_running():
            return loop
        loop = asyncio.new_event_loop()
        run_engine.set_bluesky_event_loop(loop)
        # Bluesky's own helper: a RunEngine given this loop finds its thread there.
        run_engine._ensure_event_loop_running(loop)
        deadline = time.monotonic() + timeout
        while not loop.is_running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"Bluesky's event loop did not start within {timeout} s")
            time.sleep(0.001)
        return loop


def run_in_bluesky_loop(awaitable: Awaitable[T], timeout: float | None) -> T:
    """Await ``awaitable`` on Bluesky's event loop from another thread and return its result.

    Raises:
        RuntimeError: If called from the loop itself (it would wait for itself).
        TimeoutError: If it does not finish within ``timeout`` seconds (it is cancelled).
    """
    if run_engine.in_bluesky_event_loop():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError(
            "cannot wait for an ophyd-async call from inside Bluesky's event loop; await it instead"
        )
    loop = bluesky_event_loop()

    async def wrapped() -> T:
        return await awaitable

    future = asyncio.run_coroutine_threadsafe(wrapped(), loop)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


def is_awaitable(value: Any) -> bool:
    """True if ``value`` must be awaited (an ophyd-async method's result)."""
    return asyncio.iscoroutine(value) or isinstance(value, asyncio.Future | Awaitable)
