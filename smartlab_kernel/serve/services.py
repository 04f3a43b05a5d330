"""Per-service supervision of a served lab: each child restarted on its own, health reported.

``smartlab serve`` runs three children, each in a process group of its own:
tiled (the catalog), the RE Manager (the queue; its group holds the
queueserver's watchdog, the manager and the RE worker) and the queueserver
HTTP server (everyone's access to the queue). :class:`ServiceMonitor` gives
each a thread that watches it:

* When it exits (a crash, ``kill -9``, the OOM killer), whatever is left of
  its process group is killed (a killed watchdog leaves its manager holding
  the 0MQ ports) and it is started again after a backoff (1 s, 2 s, 4 s ...
  up to 30 s; back to 1 s once it has run for a minute), while the other two
  keep serving.
* A restarted service counts as running once it answers on its port and, for
  the RE Manager, once the queue is ready again (environment open, queue
  started), which waits for tiled: the RE worker connects to the catalog as
  it starts.

What each outage means: with tiled down, plans keep running; every document
is journaled on disk first, and the RE worker's shipper sends a run that
could not be written again once the catalog answers. With the HTTP server
down, the queue goes on; clients are refused until it is back. With the RE
Manager down no plan runs; the queue is in Redis and is picked up again; a
plan that was running is recorded with exit status ``unknown`` and not run
again, and its run is closed as failed from the journal.

The lab's state goes to ``<state_dir>/status.json`` every second (read with
:func:`read_status`, shown by ``smartlab serve status``): ``ok``, or
``degraded`` with the reasons while a service is not running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psutil

from ..storage.shipper import STATUS_FILE as SHIPPING_STATUS_FILE
from .errors import ServeError

if TYPE_CHECKING:
    from .server import LabServer

log = logging.getLogger(__name__)

#: The status file in the state folder.
STATUS_FILE = "status.json"

#: The children of a lab server, in start order.
SERVICE_NAMES: tuple[str, ...] = ("tiled", "re-manager", "http-server")

#: What it means for the class while a service is not running.
CONSEQUENCES: dict[str, str] = {
    "tiled": "the catalog is down: plans still run, their runs are journaled and "
    "stored in the catalog once it is back",
    "re-manager": "the queue is down: no plan runs; the queue is kept in Redis and "
    "goes on once it is back",
    "http-server": "nobody can reach the queue (connection refused); plans already queued go on",
}

#: ``running``: answers. ``starting``: restarted, not ready yet. ``restarting``: exited,
#: waiting out the backoff. ``unresponsive``: alive but not answering. ``stopped``.
ServiceState = Literal["running", "starting", "restarting", "unresponsive", "stopped"]

#: ``starting``, ``ok``, ``degraded`` (a service is not running, or the queue cannot
#: run plans), ``stopping``, ``stopped``.
LabState = Literal["starting", "ok", "degraded", "stopping", "stopped"]

#: Exit codes of ``smartlab serve status``.
STATUS_EXIT_CODES: dict[str, int] = {"ok": 0, "stopped": 3}


class StopRequested(ServeError):
    """A stop was asked for (a signal) while the lab server was starting or recovering."""


# -- process groups ----------------------------------------------------------------


def kill_group(pgid: int) -> None:
    """Send SIGKILL to every process in process group ``pgid`` (nothing if it is empty)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a live process (not a zombie: it holds no port) is left in group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(process.pid) == pgid and process.info["status"] != "zombie":
                return True
    return False  # only zombies, which their new parent has yet to reap


def wait_groups_gone(pgids: list[int], timeout: float = 10.0) -> bool:
    """Wait until no live process is left in any of ``pgids``; False on timeout."""
    deadline = time.monotonic() + timeout
    while any(group_alive(pgid) for pgid in pgids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_group(
    process: subprocess.Popen[bytes],
    timeout: float,
    first: int = signal.SIGINT,
    wait_gone: bool = True,
) -> int:
    """Stop a service and everything in its process group; return its exit code.

    The service (the group's leader, started with ``start_new_session``) gets
    ``first`` and ``timeout`` seconds to end; then the whole group gets
    SIGKILL, which also ends what the leader left behind (the RE Manager's
    worker, a killed watchdog's manager). With ``wait_gone``, returns once
    nothing of the group is alive (at most 10 s more).
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    kill_group(process.pid)
    process.wait()
    if wait_gone:
        wait_groups_gone([process.pid])
    return process.returncode


def _process_started(pid: int) -> float | None:
    """The start time of process ``pid`` (psutil's ``create_time``), if it runs."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.Error:
        return None


def _same_process(pid: Any, started: Any) -> bool:
    """Whether ``pid`` still runs and is the process that started at ``started``."""
    if not isinstance(pid, int) or not isinstance(started, (int, float)):
        return False
    now = _process_started(pid)
    return now is not None and abs(now - started) < 0.05


# -- probes --------------------------------------------------------------------------


def http_answers(url: str, timeout: float = 5.0) -> bool:
    """Whether an HTTP server answers at ``url`` (any status code counts)."""
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def tcp_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# -- the monitor ---------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts of a service that keeps dying.

    Attributes:
        first: Seconds before the first restart.
        factor: Each further restart in a row waits this many times longer ...
        longest: ... up to this many seconds.
        stable_after: Seconds a service must run for its next restart to wait
            ``first`` again.
    """

    first: float = 1.0
    factor: float = 2.0
    longest: float = 30.0
    stable_after: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number ``attempt`` (0 first) of a row."""
        return float(min(self.longest, self.first * self.factor**attempt))


@dataclass
class Child:
    """One supervised service, as :class:`ServiceMonitor` sees it.

    Attributes:
        name: ``tiled``, ``re-manager`` or ``http-server``.
        process: Returns its current process (a new one after each restart).
        respawn: Starts it again and returns the new process (raises
            :class:`StopRequested` when the lab is stopping).
        answers: Whether it answers on its port now.
        prepare: Called once a restarted service answers, to make it ready for
            use; it raises if it cannot yet, and is called again a second later.
        on_exit: Called when it has exited, before the restart.
    """

    name: str
    process: Callable[[], subprocess.Popen[bytes]]
    respawn: Callable[[], subprocess.Popen[bytes]]
    answers: Callable[[], bool]
    prepare: Callable[[], None] | None = None
    on_exit: Callable[[], None] | None = None


@dataclass
class ServiceHealth:
    """What the monitor knows of one service (a row of ``smartlab serve status``).

    Attributes:
        name: The service.
        state: See :data:`ServiceState`.
        pid: Its process id (the leader of its process group).
        pid_started: That process's start time (``psutil`` ``create_time``), so a
            reused pid is not mistaken for it.
        since: When it entered ``state`` (seconds since the epoch).
        restarts: How many times it was restarted.
        last_exit: Its last exit code (negative: killed by that signal).
        problem: Why it is not ``running``, if it is not.
    """

    name: str
    state: ServiceState = "running"
    pid: int | None = None
    pid_started: float | None = None
    since: float = field(default_factory=time.time)
    restarts: int = 0
    last_exit: int | None = None
    problem: str | None = None


class ServiceMonitor:
    """Restart each service on its own when it dies; report the lab's health.

    One thread per service watches it (see the module docstring); another
    writes the status file every ``interval``.

    Args:
        children: The services.
        status_path: Where to write the status (JSON, mode 0600).
        report: Returns more for the status: ``problems`` (a list, merged with
            the services'), and anything else to show (queue state, backlog).
        backoff: Delays between restarts in a row.
        interval: Seconds between checks.
        start_timeout: Seconds a restarted service may take to get ready
            before it is killed and started again.
        unresponsive_after: Failed probes in a row before a live service is
            reported ``unresponsive`` (reported only: it is not restarted).
    """

    def __init__(
        self,
        children: list[Child],
        status_path: Path,
        report: Callable[[], dict[str, Any]] | None = None,
        backoff: Backoff | None = None,
        interval: float = 1.0,
        start_timeout: float = 240.0,
        unresponsive_after: int = 3,
    ) -> None:
        self.children = {child.name: child for child in children}
        self.status_path = status_path
        self.backoff = backoff or Backoff()
        self.interval = interval
        self.start_timeout = start_timeout
        self.unresponsive_after = unresponsive_after
        self._report = report
        self.health: dict[str, ServiceHealth] = {}
        for child in children:
            pid = child.process().pid
            self.health[child.name] = ServiceHealth(
                child.name, pid=pid, pid_started=_process_started(pid)
            )
        #: Timestamped lines, newest last: exits, restarts, recoveries.
        self.events: deque[str] = deque(maxlen=200)
        self.state: LabState = "starting"
        self.started = time.time()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(child,), name=f"watch-{name}", daemon=True)
            for name, child in self.children.items()
        ]
        self._threads.append(threading.Thread(target=self._write_loop, name="status", daemon=True))

    def start(self) -> None:
        """Start watching (every service is expected to be running and ready)."""
        self.state = "ok"
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop watching and restarting; the status says ``stopping``."""
        self._stop.set()
        self.state = "stopping"
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=5.0)
        self.write()

    def stopped(self, exit_codes: dict[str, int | None]) -> None:
        """Record that every service has stopped, with its exit code; write the status."""
        self.state = "stopped"
        with self._lock:
            for name, health in self.health.items():
                health.state = "stopped"
                health.since = time.time()
                health.problem = None
                if exit_codes.get(name) is not None:
                    health.last_exit = exit_codes[name]
        self.note("every service stopped")
        self.write()

    def note(self, message: str, level: int = logging.INFO) -> None:
        """Add a line to the events (and to the log)."""
        log.log(level, message)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._lock:
            self.events.append(f"{stamp} {message}")

    # -- status -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The lab's state now (what the status file holds)."""
        extra: dict[str, Any] = {}
        if self._report is not None:
            try:
                extra = dict(self._report())
            except Exception as exc:  # the report is a nicety; never fail the status
                extra = {"problems": [f"could not read the queue's state: {exc}"]}
        with self._lock:
            services = {name: dataclasses.asdict(h) for name, h in self.health.items()}
            events = list(self.events)[-30:]
        problems = [
            f"{name} {health['state']}"
            + (f" ({health['problem']})" if health["problem"] else "")
            + f": {CONSEQUENCES.get(name, '')}"
            for name, health in services.items()
            if health["state"] != "running" and self.state in ("ok", "degraded")
        ]
        problems += list(extra.pop("problems", []))
        lab: LabState = self.state
        if lab in ("ok", "degraded"):
            lab = "degraded" if problems else "ok"
        this = psutil.Process()
        return {
            "lab": lab,
            "pid": this.pid,
            "pid_started": this.create_time(),
            "started": self.started,
            "updated": time.time(),
            "services": services,
            "problems": problems,
            "events": events,
            **extra,
        }

    def write(self) -> None:
        """Write the status file (atomically: a reader never sees half of it)."""
        write_status(self.status_path, self.status())

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.write()
            except Exception as exc:  # a full disk must not stop the supervision
                log.warning("could not write %s: %s", self.status_path, exc)
            self._stop.wait(self.interval)

    # -- one service ----------------------------------------------------------------

    def _set(self, health: ServiceHealth, state: ServiceState, **changes: Any) -> None:
        with self._lock:
            if health.state != state:
                health.since = time.time()
            health.state = state
            for key, value in changes.items():
                setattr(health, key, value)

    def _watch(self, child: Child) -> None:
        try:
            self._watch_loop(child)
        except StopRequested:
            pass
        except Exception:  # a bug here must not go unnoticed, but the lab keeps serving
            log.exception("supervision of %s stopped", child.name)
            self.note(f"supervision of {child.name} failed; see the log", logging.ERROR)

    def _watch_loop(self, child: Child) -> None:
        name, health = child.name, self.health[child.name]
        process = child.process()
        # when the current process started (it may have run long before the monitor did)
        started = time.monotonic() - max(0.0, time.time() - (health.pid_started or time.time()))
        exited_at: float | None = None  # when the last one exited (until back)
        ready = True  # started by LabServer.start, which made it ready
        in_a_row = 0  # restarts in a row without a stable run
        failed_probes = 0
        while not self._stop.wait(self.interval):
            code = process.poll()
            if code is None and not ready and time.monotonic() - started > self.start_timeout:
                self.note(
                    f"{name} not ready {self.start_timeout:g} s after its restart; killing it",
                    logging.ERROR,
                )
                kill_group(process.pid)
                code = process.wait()
            if code is not None:
                ran = time.monotonic() - started
                if ran >= self.backoff.stable_after:
                    in_a_row = 0
                delay = self.backoff.delay(in_a_row)
                in_a_row += 1
                exited_at = exited_at or time.monotonic()
                self._set(
                    health,
                    "restarting",
                    last_exit=code,
                    problem=f"exited ({code}); restart in {delay:g} s",
                )
                self.note(
                    f"{name} exited ({code}) after {ran:.0f} s; restarting it in {delay:g} s",
                    logging.ERROR,
                )
                kill_group(process.pid)  # what it left behind holds its ports
                if child.on_exit is not None:
                    child.on_exit()
                if self._stop.wait(delay):
                    return
                try:
                    process = child.respawn()
                except StopRequested:
                    return
                except Exception as exc:
                    self.note(f"{name} could not be started: {exc}", logging.ERROR)
                    continue  # the old process is still dead: back off and try again
                started, ready, failed_probes = time.monotonic(), False, 0
                self._set(
                    health,
                    "starting",
                    pid=process.pid,
                    pid_started=_process_started(process.pid),
                    restarts=health.restarts + 1,
                    problem="started again, not answering yet",
                )
                continue
            if not child.answers():
                failed_probes += 1
                if ready and failed_probes >= self.unresponsive_after:
                    self._set(
                        health,
                        "unresponsive",
                        problem=f"alive but not answering ({failed_probes} checks)",
                    )
                continue
            failed_probes = 0
            if not ready:
                if child.prepare is not None:
                    try:
                        child.prepare()
                    except StopRequested:
                        return
                    except Exception as exc:
                        self._set(health, "starting", problem=f"answers, not ready yet: {exc}")
                        continue
                ready = True
                back = time.monotonic() - (exited_at or started)
                exited_at = None
                self.note(f"{name} is back (pid {process.pid}), {back:.1f} s after it exited")
            if health.state != "running":
                self._set(health, "running", problem=None)


# -- the status file -----------------------------------------------------------------


def write_status(path: Path, status: dict[str, Any]) -> None:
    """Write ``status`` as JSON to ``path``, readable by the owner only, atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(status, handle, indent=1)
    os.replace(temporary, path)


def read_status(state_path: Path) -> dict[str, Any]:
    """Read the status a lab server wrote in ``state_path``, checked against what runs now.

    A lab server that is gone without saying so (killed with SIGKILL, the
    machine rebooted) reads as ``stopped``, with any of its services still
    alive listed as ``orphaned``; one whose status is more than 10 s old
    reads as ``degraded`` (it may hang).

    Returns:
        The status (see :meth:`ServiceMonitor.status`); ``lab`` is ``stopped``
        and ``services`` empty if no lab server ever ran there.
    """
    path = state_path / STATUS_FILE
    try:
        status: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {
            "lab": "stopped",
            "services": {},
            "problems": [f"no {STATUS_FILE} in {state_path}: no lab server ran here"],
            "events": [],
        }
    except (OSError, ValueError) as exc:
        return {"lab": "stopped", "services": {}, "problems": [f"{path}: {exc}"], "events": []}
    problems = status.setdefault("problems", [])
    running = _same_process(status.get("pid"), status.get("pid_started"))
    if status.get("lab") != "stopped" and not running:
        status["lab"] = "stopped"
        problems.insert(
            0,
            f"smartlab serve (pid {status.get('pid')}) is gone without stopping its "
            "services (killed with SIGKILL? the machine restarted?)",
        )
    if status.get("lab") == "stopped":
        for name, service in status.get("services", {}).items():
            if _same_process(service.get("pid"), service.get("pid_started")):
                service["state"] = "orphaned"
                problems.append(
                    f"{name} (pid {service['pid']}) still runs: the next `smartlab serve` "
                    "stops it, or kill its process group"
                )
            else:
                service["state"] = "stopped"
        return status
    age = time.time() - float(status.get("updated", 0))
    if age > 10.0:
        status["lab"] = "degraded"
        problems.insert(0, f"status not updated for {age:.0f} s: smartlab serve may hang")
    return status


def reap_leftovers(state_path: Path) -> list[str]:
    """Kill the services an earlier lab server in ``state_path`` left running.

    A lab server killed with SIGKILL cannot stop its services; they keep its
    ports. Each service that still runs (the same process: pid and start
    time) has its process group killed.

    Returns:
        One line per service killed.

    Raises:
        ServeError: If that lab server still runs (two cannot share a state folder).
    """
    path = state_path / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    pid = status.get("pid")
    if (
        pid != os.getpid()
        and status.get("lab") != "stopped"
        and _same_process(pid, status.get("pid_started"))
    ):
        raise ServeError(
            f"another smartlab serve (pid {pid}) runs with state folder {state_path}; "
            "stop it first (`smartlab serve status CONFIG` shows it)"
        )
    killed = []
    for name, service in status.get("services", {}).items():
        if _same_process(service.get("pid"), service.get("pid_started")):
            kill_group(service["pid"])
            killed.append(f"{name} (pid {service['pid']}) left by an earlier smartlab serve")
    for line in killed:
        log.warning("killed %s", line)
    return killed


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def format_status(status: dict[str, Any]) -> str:
    """``status`` (from :func:`read_status`) as ``smartlab serve status`` prints it."""
    now = time.time()
    head = f"lab: {status.get('lab')}"
    if status.get("pid") and status.get("lab") != "stopped":
        head += f"   (smartlab serve pid {status['pid']}"
        if status.get("started"):
            head += f", up {_duration(now - float(status['started']))}"
        head += ")"
    lines = [head]
    for name, service in status.get("services", {}).items():
        row = f"  {name:<12} {service.get('state', '?'):<12} pid {service.get('pid') or '-':<8}"
        row += f" restarts {service.get('restarts', 0):<3}"
        if service.get("since"):
            row += f" for {_duration(now - float(service['since']))}"
        if service.get("last_exit") is not None:
            row += f"   last exit {service['last_exit']}"
        lines.append(row)
    queue = status.get("queue")
    if isinstance(queue, dict):
        environment = "open" if queue.get("worker_environment_exists") else "NOT open"
        lines.append(
            f"queue: {queue.get('manager_state')}, {queue.get('items_in_queue')} queued, "
            f"environment {environment}"
        )
    if status.get("unshipped_runs") is not None:
        lines.append(f"runs journaled, not yet in the catalog: {status['unshipped_runs']}")
    problems = status.get("problems") or []
    if problems:
        lines.append("problems:")
        lines += [f"  - {problem}" for problem in problems]
    events = status.get("events") or []
    if events:
        lines.append("recent events:")
        lines += [f"  {event}" for event in events[-10:]]
    return "\n".join(lines)


def status_exit_code(status: dict[str, Any]) -> int:
    """0 when ``ok``, 3 when ``stopped`` (as ``systemctl status``), 1 otherwise."""
    return STATUS_EXIT_CODES.get(str(status.get("lab")), 1)


# -- a lab server's children ---------------------------------------------------------


def lab_monitor(server: LabServer) -> ServiceMonitor:
    """Build the :class:`ServiceMonitor` of a started :class:`LabServer`."""
    config = server.config

    def child(name: str, answers: Callable[[], bool], **hooks: Any) -> Child:
        return Child(
            name,
            process=lambda: server.services[name].process,
            respawn=lambda: server.respawn(name),
            answers=answers,
            **hooks,
        )

    def suspend_worker_supervisor() -> None:
        if server.supervisor is not None:
            server.supervisor.suspend()

    def prepare_queue() -> None:
        # The RE worker connects to the catalog as it starts: wait for tiled.
        if not http_answers(f"{config.catalog_url}/api/v1/"):
            raise ServeError("waiting for tiled (the RE worker needs the catalog to start)")
        server.prepare_queue(time.monotonic() + 240.0)
        if server.supervisor is not None:
            server.supervisor.watchdog_pid = server.pid("re-manager")
            server.supervisor.resume()

    # Probes only connect: an HTTP request a second would fill the services' access logs.
    # (uvicorn listens once the application has started, so it is ready when it accepts.)
    children = [
        child("tiled", lambda: tcp_answers(config.host, config.catalog.port)),
        child(
            "re-manager",
            lambda: tcp_answers("127.0.0.1", config.queue.zmq_control_port),
            prepare=prepare_queue,
            on_exit=suspend_worker_supervisor,
        ),
        child("http-server", lambda: tcp_answers(config.host, config.queue.http_port)),
    ]
    return ServiceMonitor(
        [c for c in children if c.name in server.services],
        server.state / STATUS_FILE,
        lambda: lab_report(server),
    )


def shipping_failure(status_file: Path) -> str | None:
    """The RE worker's shipping error, if it failed since it last stored a run.

    Args:
        status_file: The shipper's status (``journal/shipping.json``).

    Returns:
        Its last error, or ``None`` if it has none since its last stored run
        (or wrote no status).
    """
    try:
        status = json.loads(status_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or not status.get("last_error"):
        return None
    if (status.get("error_at") or 0) <= (status.get("stored_at") or 0):
        return None
    return str(status["last_error"])


def lab_report(server: LabServer) -> dict[str, Any]:
    """The queue's state and the storage backlog, for the status."""
    report: dict[str, Any] = {}
    problems: list[str] = []
    pending = server.state / "journal" / "pending"
    with contextlib.suppress(OSError):
        report["unshipped_runs"] = sum(1 for _ in pending.glob("*.jnl"))
    failing = shipping_failure(server.state / "journal" / SHIPPING_STATUS_FILE)
    if failing and report.get("unshipped_runs"):
        problems.append(f"runs are not reaching the catalog: {failing}")
    supervisor = server.supervisor
    if supervisor is not None:
        queue, age = supervisor.last_status, time.monotonic() - supervisor.last_status_at
        if queue and age < 10.0:
            keys = ("manager_state", "items_in_queue", "running_item_uid")
            report["queue"] = {key: queue.get(key) for key in keys}
            report["queue"]["worker_environment_exists"] = bool(
                queue.get("worker_environment_exists")
            )
            if not queue.get("worker_environment_exists") and not supervisor.suspended:
                problems.append("the RE environment is not open: no plan can run")
        report["recoveries"] = list(supervisor.events[-10:])
    report["problems"] = problems
    return report
