"""Give a blocking call to an instrument a deadline, for libraries that have none."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CallOverdueError(Exception):
    """A call did not return within its deadline; it may still be running."""


def call_with_deadline(
    function: Callable[[], T],
    timeout: float,
    *,
    name: str = "instrument-call",
    discard: Callable[[T], object] | None = None,
) -> T:
    """Run ``function()`` and return its result, giving up after ``timeout`` seconds.

    Some client libraries (e.g. ``sila2``'s gRPC calls) block until the server
    answers, however long that takes: a server that hangs without closing its
    connection would hang the caller for ever. The call runs on a daemon
    thread; when it is overdue, the caller gets :class:`CallOverdueError` and
    the thread is abandoned (it ends when the library returns or fails).

    Args:
        function: The call, without arguments.
        timeout: Seconds to wait.
        name: Name of the worker thread, for debugging.
        discard: Called with the result if it arrives after the caller gave up
            (e.g. to close a connection nobody will use).

    Raises:
        CallOverdueError: If ``function`` has not returned within ``timeout`` s.
        Exception: Whatever ``function`` raised.
    """
    lock = threading.Lock()
    done = threading.Event()
    abandoned = threading.Event()
    results: list[T] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            value = function()
        except BaseException as exc:  # handed to the caller
            with lock:
                errors.append(exc)
                done.set()
            return
        with lock:
            late = abandoned.is_set()
            results.append(value)
            done.set()
        if late and discard is not None:
            discard(value)

    threading.Thread(target=work, name=name, daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        with lock:
            if not done.is_set():
                abandoned.set()
                raise CallOverdueError(f"{name} did not return within {timeout:g} s")
    if errors:
        raise errors[0]
    return results[0]
