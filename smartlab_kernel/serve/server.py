"""The lab server: tiled, the RE Manager and the queueserver HTTP server, started as one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import IO, Any

from .config import ServeConfig
from .credentials import zmq_key_pair
from .errors import ServeError
from .files import open_private, private_dir
from .keys import hash_key, new_key
from .limits import WRITER_KEYS_ENV
from .postgres import ensure_database
from .provision import KeyGrant, provision_queue_server, provision_redis, provision_tiled
from .service_files import (
    PROVIDER,
    SERVICE_USER,
    http_server_config,
    re_manager_config,
    tiled_config,
    user_group_permissions,
    write_yaml,
)
from .services import (
    ServiceMonitor,
    StopRequested,
    kill_group,
    lab_monitor,
    reap_leftovers,
    wait_groups_gone,
)
from .services import stop_group as _stop_group
from .supervisor import WorkerSupervisor, manager_processes

PROFILE_MODULE = "smartlab_kernel.serve.profile"


@dataclass
class _Service:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path
    command: list[str]
    env: dict[str, str] | None


class LabServer:
    """Start and stop the three services of a shared lab, wired together with keys.

    Order: PostgreSQL database (created if asked) -> tiled (catalog in
    PostgreSQL, data files on disk) -> RE Manager (Redis for the queue, the
    simulated bench and :mod:`~smartlab_kernel.serve.queue_plans` in its
    profile, documents through durable capture into tiled) -> queueserver
    HTTP server. Then every user's key is installed in both servers, the RE
    environment is opened, and the queue is set to start items as they arrive
    and to go on past a failed one. Logs go to ``<state_dir>/logs``.

    Once started, each service is supervised on its own
    (:mod:`~smartlab_kernel.serve.services`): one that dies is restarted with
    backoff while the others keep serving, and the lab's state is written to
    ``<state_dir>/status.json``. Each runs in a process group of its own;
    :meth:`stop` ends every group.

    Args:
        config: The validated configuration.
        extra_env: Extra environment variables for the services (tests).
    """

    def __init__(self, config: ServeConfig, extra_env: dict[str, str] | None = None) -> None:
        self.config = config
        self.state = config.state_path
        self.services: dict[str, _Service] = {}
        self.service_key = new_key()
        self.service_password = new_key()  # the service's tiled login (ships runs with a token)
        self._extra_env = dict(extra_env or {})
        self._zmq_public = self._zmq_private = ""  # the persisted pair, read in start()
        self._redis_address = config.redis.address  # with the lab's account, from start()
        self.supervisor: WorkerSupervisor | None = None
        self.monitor: ServiceMonitor | None = None
        self._stop_requested = threading.Event()
        self._spawn_lock = threading.Lock()  # no restart once stop() has begun
        self._stopping = False

    # -- start / stop ---------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        """Start every service and wait until a plan could be submitted.

        Raises:
            ServeError: If a service exits or is not ready within ``timeout``
                (the message names it and the end of its log).
        """
        deadline = time.monotonic() + timeout
        self._stop_requested.clear()
        self._stopping = False
        try:
            self._start(deadline)
        except BaseException:
            self.stop()
            raise

    def _start(self, deadline: float) -> None:
        config = self.config
        reap_leftovers(self.state)  # what a lab server killed with SIGKILL left running
        for folder in (self.state, self.state / "logs", self.state / "journal", config.data_path):
            private_dir(folder, config.umask)  # 0700 by default: journals, keys, data
        private_dir(config.data_path / "files", config.umask)
        if config.catalog.create_database:
            ensure_database(config.catalog.postgres_uri)
        # the manager's 0MQ keys, kept for `qserver`; the lab's own Redis account (issue 16 #4, #5)
        self._zmq_public, self._zmq_private = astuple(zmq_key_pair(self.state))
        self._redis_address = provision_redis(config.redis, self.state)
        grants = [KeyGrant(SERVICE_USER, hash_key(self.service_key), admin=True)]
        grants += [KeyGrant(u.name, u.key_hash, u.role == "instructor") for u in config.users]

        # The three start at once (each takes seconds to import); keys go in once each answers.
        tiled_settings = tiled_config(config, self.service_password)
        tiled_yml = write_yaml(self.state / "tiled.yml", tiled_settings)
        http_yml = write_yaml(self.state / "http-server.yml", http_server_config(config))
        self._spawn(  # `tiled serve config` behind a body limit for all but writers (tiled_app)
            "tiled",
            [
                sys.executable,
                "-m",
                "smartlab_kernel.serve.tiled_app",
                "--config_path",
                str(tiled_yml),
            ],
            {WRITER_KEYS_ENV: ",".join(g.key_hash for g in grants if g.admin)},
        )
        self._spawn("re-manager", self._re_manager_command(), self._re_manager_env())
        self._spawn(
            "http-server",
            # bluesky-httpserver's app behind a body limit, open routes closed (http_app)
            [
                sys.executable,
                "-m",
                "smartlab_kernel.serve.http_app",
                "--config_path",
                str(http_yml),
            ],
            {
                "QSERVER_ZMQ_PUBLIC_KEY": self._zmq_public,
                "SMARTLAB_SERVE_CATALOG_URI": f"{config.catalog_url}/api/v1",
                "SMARTLAB_SERVE_REDIS_ADDRESS": self._redis_address,
                "SMARTLAB_SERVE_REDIS_PREFIX": config.redis.prefix,
            },
        )
        self._wait_http("tiled", f"{config.catalog_url}/api/v1/", deadline)
        provision_tiled(f"sqlite:///{self.state / 'tiled-auth.sqlite'}", PROVIDER, grants)
        self._wait_http("http-server", f"{config.queue_url}/api", deadline)
        provision_queue_server(f"sqlite:///{self.state / 'queue-auth.sqlite'}", PROVIDER, grants)
        self.prepare_queue(deadline)
        self.supervisor = WorkerSupervisor(
            self.api,
            self.pid("re-manager"),
            self.config.queue.zmq_control_port,
            lambda api: self.open_environment(api, time.monotonic() + 120.0),
        )
        self.supervisor.start()
        self.monitor = lab_monitor(self)
        self.monitor.start()

    def _re_manager_command(self) -> list[str]:
        config = self.config
        permissions = write_yaml(
            self.state / "user_group_permissions.yaml", user_group_permissions()
        )
        # sockets and Redis in a 0600 file: the Redis password stays out of the process list
        network = write_yaml(
            self.state / "re-manager.yml", re_manager_config(config, self._redis_address)
        )
        return [
            sys.executable,
            "-m",
            "smartlab_kernel.serve.re_manager",  # start_manager, Redis password kept out of logs
            "--config",
            str(network),
            "--startup-module",
            PROFILE_MODULE,
            "--existing-plans-devices",
            str(self.state / "existing_plans_and_devices.yaml"),
            "--update-existing-plans-devices",
            "ENVIRONMENT_OPEN",
            "--user-group-permissions",
            str(permissions),
            "--user-group-permissions-reload",
            "ON_STARTUP",
            "--use-ipython-kernel",
            "OFF",
        ]

    def _re_manager_env(self) -> dict[str, str]:
        bench = self.config.bench
        return {
            "QSERVER_ZMQ_PRIVATE_KEY_FOR_SERVER": self._zmq_private,
            "SMARTLAB_SERVE_NAME": self.config.state_path.name,
            "SMARTLAB_SERVE_SEED": str(bench.seed),
            "SMARTLAB_SERVE_TIME_SCALE": str(bench.time_scale),
            "SMARTLAB_SERVE_STOCK_ML": str(bench.stock_ml),
            "SMARTLAB_SERVE_CATALOG_URI": f"{self.config.catalog_url}/api/v1",
            "SMARTLAB_SERVE_SERVICE_PASSWORD": self.service_password,
            "SMARTLAB_SERVE_JOURNAL_DIR": str(self.state / "journal"),
            "SMARTLAB_SERVE_ALARM_LOG": str(self.state / "alarms.jsonl"),
            "SMARTLAB_SERVE_REDIS_ADDRESS": self._redis_address,
            "SMARTLAB_SERVE_REDIS_PREFIX": self.config.redis.prefix,
            "SMARTLAB_SERVE_LIMS_URL": self.config.lims.url,
            "SMARTLAB_SERVE_LIMS_SCHEMA": self.config.lims.schema,
        }

    def prepare_queue(self, deadline: float) -> None:
        """Make a (re)started RE Manager ready: environment open, queue started.

        Raises:
            ServeError: If it is not ready before ``deadline`` (``time.monotonic()``).
        """
        api = self.api()
        try:
            while True:
                try:
                    status = api.status()
                    if status.get("manager_state") == "idle":
                        break
                except Exception as exc:
                    self.check_alive(f"waiting for the RE Manager: {exc}")
                if time.monotonic() > deadline:
                    raise ServeError(self._log_excerpt("re-manager", "RE Manager not ready"))
                time.sleep(0.3)
            api.queue_mode_set(ignore_failures=True)
            self.open_environment(api, deadline)
            api.queue_autostart(True)
        finally:
            api.close()

    def open_environment(self, api: Any, deadline: float) -> None:
        """Open the RE environment (the profile: bench, plans, capture) and wait until it is.

        Raises:
            ServeError: If it does not open before ``deadline`` (``time.monotonic()``).
        """
        if not api.status().get("worker_environment_exists"):
            api.environment_open()
        while not api.status().get("worker_environment_exists"):
            self.check_alive("opening the RE environment")
            if time.monotonic() > deadline:
                raise ServeError(self._log_excerpt("re-manager", "RE environment did not open"))
            time.sleep(0.3)
        api.wait_for_idle(timeout=max(1.0, deadline - time.monotonic()))

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the services, last started first, and everything they started.

        Each service gets SIGINT, then its whole process group SIGKILL after
        ``timeout`` seconds (at once for what is left in the group: the RE
        worker, a killed watchdog's manager). Nothing is restarted once this
        has begun; :meth:`kill` (from another signal) cuts it short.
        """
        with self._spawn_lock:
            self._stopping = True
        self._stop_requested.set()
        if self.monitor is not None:
            self.monitor.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        exit_codes: dict[str, int | None] = {}
        groups = []
        for name in reversed(list(self.services)):
            service = self.services[name]
            began = time.monotonic()
            exit_codes[name] = _stop_group(service.process, timeout, wait_gone=False)
            if self.monitor is not None:
                took = time.monotonic() - began
                self.monitor.note(f"{name} stopped (exit {exit_codes[name]}) in {took:.1f} s")
            groups.append(service.process.pid)
            service.log.close()
            del self.services[name]
        wait_groups_gone(groups)
        if self.monitor is not None:
            self.monitor.stopped(exit_codes)
            self.monitor = None

    def kill(self) -> None:
        """SIGKILL every service's process group now (a stop that must not wait).

        Safe to call from a signal handler while :meth:`stop` runs: it takes no lock.
        """
        self._stop_requested.set()
        for service in list(self.services.values()):
            kill_group(service.process.pid)

    def request_stop(self) -> None:
        """Ask a :meth:`start` under way to give up (it stops what it started)."""
        self._stop_requested.set()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop`, :meth:`stop` or :meth:`kill` was called."""
        return self._stop_requested.is_set()

    def status(self) -> dict[str, Any]:
        """The lab's state: ``ok`` or ``degraded``, each service's, recent events.

        The same as ``<state_dir>/status.json`` and ``smartlab serve status``
        (see :meth:`~smartlab_kernel.serve.services.ServiceMonitor.status`).
        """
        if self.monitor is None:
            lab = "starting" if self.services else "stopped"
            return {"lab": lab, "services": {}, "problems": [], "events": []}
        return self.monitor.status()

    def __enter__(self) -> LabServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers --------------------------------------------------------------

    def api(self, api_key: str | None = None) -> Any:
        """Return a queueserver client (``REManagerAPI``), by default with the service key."""
        from bluesky_queueserver_api.http import REManagerAPI

        api = REManagerAPI(http_server_uri=self.config.queue_url)
        api.set_authorization_key(api_key=api_key or self.service_key)
        return api

    def pid(self, name: str) -> int:
        """Return the process id of a service (``tiled``, ``re-manager``, ``http-server``)."""
        return self.services[name].process.pid

    def worker_pid(self) -> int | None:
        """Return the process id of the RE worker (the process that runs plans), if any."""
        return manager_processes(self.pid("re-manager"), self.config.queue.zmq_control_port)[1]

    def respawn(self, name: str) -> subprocess.Popen[bytes]:
        """Start service ``name`` again as it was first started; return its new process.

        Raises:
            StopRequested: If :meth:`stop` has begun.
        """
        with self._spawn_lock:
            if self._stopping:
                raise StopRequested(f"not restarting {name}: the lab server is stopping")
            old = self.services[name]
            _stop_group(old.process, 0.0)  # what it left holds its ports: gone first
            old.log.close()
            self._spawn(name, old.command, old.env)
            return self.services[name].process

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log_path = self.state / "logs" / f"{name}.log"
        log = open_private(log_path, self.config.umask)  # closed in stop()
        full_env = {**os.environ, **self._extra_env, **(env or {})}
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=self.state,
            start_new_session=True,
            umask=self.config.umask,  # what the services create is private too
        )
        self.services[name] = _Service(name, process, log, log_path, command, env)

    def _wait_http(self, name: str, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.check_alive(f"starting {name}")
            try:
                urllib.request.urlopen(url, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # it answers (401/404 are fine: it is up)
            except OSError:
                time.sleep(0.2)
        raise ServeError(self._log_excerpt(name, f"{name} did not answer at {url}"))

    def check_alive(self, doing: str = "running") -> None:
        """Raise if a service has exited.

        Raises:
            StopRequested: If a stop was requested (a signal).
            ServeError: Naming the service, its exit code and the end of its log.
        """
        if self._stop_requested.is_set():
            raise StopRequested(f"stop requested while {doing}")
        for name, service in list(self.services.items()):
            code = service.process.poll()
            if code is not None:
                raise ServeError(self._log_excerpt(name, f"{name} exited ({code}) while {doing}"))

    def _log_excerpt(self, name: str, message: str) -> str:
        service = self.services.get(name)
        if service is None:
            return message
        service.log.flush()
        tail = service.log_path.read_text(errors="replace")[-3000:]
        return f"{message}; end of {service.log_path}:\n{tail}"
