"""Run widget updates on the kernel's event loop, whatever thread asks for them.

The RunEngine calls subscribers on its own thread, and device polling runs on
another. Traitlets must only change on the kernel's thread (the one that runs
cells and owns the comm), so such callbacks hand their work to a
:class:`KernelLoop`, captured when the widget is built on the kernel thread.
With no running loop (plain Python, pytest) work runs at once, on the caller's
thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class KernelLoop:
    """The event loop of the thread that built a widget (the kernel's, in Jupyter).

    Args:
        loop: The loop to use; by default the one running on the calling thread,
            if any.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        self.loop = loop
        self.thread_id = threading.get_ident()

    @property
    def running(self) -> bool:
        """True if there is a loop to hand work to and it still runs."""
        return self.loop is not None and self.loop.is_running() and not self.loop.is_closed()

    def on_loop_thread(self) -> bool:
        """True when called on the loop's own thread."""
        return threading.get_ident() == self.thread_id

    def call(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on the loop's thread (at once if already there).

        Safe to call from any thread. Without a running loop it runs at once.
        """
        if not self.running or self.on_loop_thread():
            function(*args)
            return
        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(function, *args)
        except RuntimeError:  # the loop closed meanwhile: the kernel is shutting down
            log.debug("kernel loop closed; dropped %r", function)

    def call_later(self, delay: float, function: Callable[[], Any]) -> None:
        """Run ``function()`` on the loop's thread after ``delay`` seconds (any thread)."""
        if not self.running:
            function()
            return
        assert self.loop is not None
        loop = self.loop
        self.call(lambda: loop.call_later(delay, function))

    def every(self, interval: float, function: Callable[[], Any]) -> Callable[[], None]:
        """Call ``function()`` on the loop every ``interval`` seconds.

        Returns:
            A function that stops the repetition. Without a running loop
            nothing repeats (call ``function`` yourself).
        """
        stopped = threading.Event()
        if not self.running:
            return stopped.set
        assert self.loop is not None
        loop = self.loop

        def tick() -> None:
            if stopped.is_set():
                return
            try:
                function()
            finally:
                if not stopped.is_set() and not loop.is_closed():
                    loop.call_later(interval, tick)

        self.call(lambda: loop.call_later(interval, tick))
        return stopped.set


class Throttle:
    """Coalesce many requests into at most ``max_rate`` calls per second on the loop.

    :meth:`request` may be called from any thread, as often as data arrives;
    ``function`` then runs on the kernel loop, no more than ``max_rate``
    times a second, and always once after the last request.

    Args:
        loop: Where ``function`` runs.
        function: What to run (e.g. flush buffered points to the browser).
        max_rate: Largest number of calls per second.
    """

    def __init__(self, loop: KernelLoop, function: Callable[[], Any], max_rate: float) -> None:
        if not max_rate > 0:
            raise ValueError(f"max_rate must be > 0 calls per second, got {max_rate!r}")
        self.loop = loop
        self.function = function
        self.interval = 1.0 / max_rate
        self.calls = 0
        self._lock = threading.Lock()
        self._pending = False
        self._last = 0.0

    def request(self) -> None:
        """Ask for a call; several requests before it happens make one call."""
        with self._lock:
            if self._pending:
                return
            self._pending = True
            delay = max(0.0, self._last + self.interval - time.monotonic())
        if not self.loop.running:
            self._run()
        elif delay == 0.0:
            self.loop.call(self._run)
        else:
            self.loop.call_later(delay, self._run)

    def _run(self) -> None:
        with self._lock:
            self._pending = False
            self._last = time.monotonic()
        self.calls += 1
        self.function()


__all__ = ["KernelLoop", "Throttle"]
