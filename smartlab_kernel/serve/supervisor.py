"""Notice a dead RE worker, fail its item, and bring the queue back.

The queueserver's own watchdog restarts a dead RE *Manager*, but not a
dead *worker* (the process that runs plans): the manager then waits for it
forever, showing the item as running. :class:`WorkerSupervisor` checks once
a second whether the worker process is alive while the environment is
said to exist. When it is not, it destroys the environment (the queueserver
records the running item in the history as ``failed``), removes the copy
of that item the queueserver puts back at the front of the queue (a plan
killed half-way may have dispensed or heated something: it is not re-run
without a person deciding so), opens a fresh environment, and restarts
the queue. The new worker's durable capture recovers the killed run from
its journal and ships it closed with ``exit_status="fail"``. If the fresh
environment cannot be opened (the catalog is down: the worker connects to it
as it starts), it tries again every check until it can.

It also restarts a manager that is stuck: ``executing_queue`` with an idle
worker and nothing changing, whether it still names a running item (it lost
the end of a plan, after a Redis restart) or names none (it ran an item it did
not know of, written into the Redis queue behind its back, and failed to file
it). The whole RE Manager (watchdog included) dying is for
:class:`~smartlab_kernel.serve.services.ServiceMonitor`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

log = logging.getLogger(__name__)

#: What the history item's message says when the supervisor failed it.
WORKER_DIED_MESSAGE = "RE Worker environment was destroyed"


def manager_processes(watchdog_pid: int, control_port: int) -> tuple[int | None, int | None]:
    """Return ``(manager pid, worker pid)`` under the ``start-re-manager`` process.

    That process (the queueserver's watchdog) has two children while an
    environment is open: the manager, which listens on the 0MQ control
    port, and the worker. Either is ``None`` when not running.
    """
    manager = worker = None
    try:
        children = psutil.Process(watchdog_pid).children()
    except psutil.NoSuchProcess:
        return None, None
    for child in children:
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            listening = any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == control_port
                for c in child.net_connections(kind="tcp")
            )
        except psutil.NoSuchProcess:
            continue
        if listening:
            manager = child.pid
        else:
            worker = child.pid
    return manager, worker


class WorkerSupervisor:
    """Watch the RE worker in a background thread and recover the queue when it dies.

    It also restarts a *stuck* manager: ``executing_queue`` with the worker
    idle, and either a running item whose end it lost (after a Redis restart)
    or no running item at all (after it failed to file an item it did not
    know of, one written into the Redis queue directly). When that lasts
    ``stuck_after`` seconds with no progress at all (same running item, same
    history, same queue), the supervisor kills the manager process; the
    queueserver's watchdog starts a new one, which reloads the queue from
    Redis, records a running item as ``unknown`` and goes on.

    Args:
        api_factory: Returns a queueserver client with instructor rights.
        watchdog_pid: Process id of ``start-re-manager``.
        control_port: The RE Manager's 0MQ control port.
        open_environment: ``open_environment(api)`` opens an environment and waits.
        interval: Seconds between checks.
        stuck_after: Seconds of "executing, worker idle, history unchanged" before a
            restart. A manager under heavy load can show that state for seconds
            while it catches up, so keep this well above a plan's end-to-next-start time.

    Attributes:
        events: One line per recovery, for the instructor (also logged).
        last_status: The manager's last status read (``{}`` before the first).
        last_status_at: When it was read (``time.monotonic()``).
    """

    def __init__(
        self,
        api_factory: Callable[[], Any],
        watchdog_pid: int,
        control_port: int,
        open_environment: Callable[[Any], None],
        interval: float = 1.0,
        stuck_after: float = 30.0,
    ) -> None:
        self._api_factory = api_factory
        self.watchdog_pid = watchdog_pid
        self.control_port = control_port
        self.stuck_after = stuck_after
        self._stuck_since: float | None = None
        self._stuck_marker: tuple[Any, ...] | None = None
        self._open_environment = open_environment
        self.interval = interval
        self.events: list[str] = []
        self.last_status: dict[str, Any] = {}
        self.last_status_at = 0.0
        self._reopen = False  # the environment must be opened again (a recovery failed to)
        self._checking = threading.Lock()  # held during a check or a recovery
        self._suspended = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (waits for a recovery under way to end)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def suspend(self) -> None:
        """Stop checking until :meth:`resume` (the RE Manager is being restarted).

        Waits for a check or recovery under way to end.
        """
        self._suspended.set()
        with self._checking:
            pass

    def resume(self) -> None:
        """Check again (the RE Manager is back, with ``watchdog_pid`` updated)."""
        self._stuck_since = None
        self._suspended.clear()

    @property
    def suspended(self) -> bool:
        """Whether checks are suspended (see :meth:`suspend`)."""
        return self._suspended.is_set()

    def _loop(self) -> None:
        api = self._api_factory()
        try:
            while not self._stop.wait(self.interval):
                with self._checking:
                    if self._suspended.is_set():
                        continue
                    try:
                        self.check(api)
                    except Exception as exc:  # a check fails while services restart; try again
                        log.warning("worker supervisor: %s", exc)
        finally:
            api.close()

    def check(self, api: Any) -> bool:
        """Recover if the worker died or the manager is stuck; return True if it did."""
        status = api.status(reload=True)
        self.last_status, self.last_status_at = status, time.monotonic()
        if not status.get("worker_environment_exists"):
            if self._reopen:  # a recovery could not open it: try again
                self._open_environment(api)
                api.queue_autostart(True)
                self._reopen = False
                self._note("RE environment opened again after a failed attempt; queue restarted")
                return True
            return False
        manager, worker = manager_processes(self.watchdog_pid, self.control_port)
        if worker is not None:
            return self._check_stuck(status, manager)
        running = status.get("running_item_uid")
        log.error("RE worker died (running item %s); recovering the queue", running)
        api.environment_destroy()
        api.wait_for_idle(timeout=30)
        history = api.history_get()["items"]
        failed = history[-1] if history else {}
        queue = api.queue_get()["items"]
        if running and queue and _same_plan(queue[0], failed):
            api.item_remove(uid=queue[0]["item_uid"])
        self._reopen = True
        self._open_environment(api)
        api.queue_autostart(True)  # starts the next item, if any
        self._reopen = False
        self._note(
            f"worker died while running {failed.get('name', '?')} of {failed.get('user', '?')} "
            f"(item {running}); item marked failed, environment reopened, queue restarted"
        )
        return True

    def _note(self, message: str) -> None:
        self.events.append(message)
        log.error(message)

    def _check_stuck(self, status: dict[str, Any], manager: int | None) -> bool:
        # Between two plans the manager shows "executing, idle, no item" for a moment:
        # only a state that lasts stuck_after seconds, with nothing changing, is stuck.
        stuck = (
            status.get("manager_state") == "executing_queue" and status.get("re_state") == "idle"
        )
        marker = (
            status.get("running_item_uid"),
            status.get("plan_history_uid"),
            status.get("plan_queue_uid"),
        )
        if not stuck or marker != self._stuck_marker:
            self._stuck_since = None
            self._stuck_marker = marker if stuck else None
        if not stuck:
            return False
        now = time.monotonic()
        if self._stuck_since is None:
            self._stuck_since = now
        if now - self._stuck_since < self.stuck_after or manager is None:
            return False
        self._stuck_since = None
        running = status.get("running_item_uid")
        on = f"on item {running}" if running else "with no running item"
        self._note(
            f"RE Manager stuck executing the queue {on} with an idle worker for "
            f"{self.stuck_after:g} s; restarting the manager (queue reloads from Redis)"
        )
        os.kill(manager, signal.SIGKILL)
        return True


def _same_plan(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("name", "args", "kwargs", "user")
    return all(a.get(k) == b.get(k) for k in keys)
