"""The lab server: tiled, the RE Manager and the queueserver HTTP server, started as one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
from .supervisor import WorkerSupervisor, manager_processes

PROFILE_MODULE = "smartlab_kernel.serve.profile"


@dataclass
class _Service:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path


class LabServer:
    """Start and stop the three services of a shared lab, wired together with keys.

    Order: PostgreSQL database (created if asked) -> tiled (catalog in
    PostgreSQL, data files on disk) -> RE Manager (Redis for the queue, the
    simulated bench and :mod:`~smartlab_kernel.serve.queue_plans` in its
    profile, documents through durable capture into tiled) -> queueserver
    HTTP server. Then every user's key is installed in both servers, the RE
    environment is opened, and the queue is set to start items as they arrive
    and to go on past a failed one. Logs go to ``<state_dir>/logs``.

    Args:
        config: The validated configuration.
        extra_env: Extra environment variables for the services (tests).
    """

    def __init__(self, config: ServeConfig, extra_env: dict[str, str] | None = None) -> None:
        self.config = config
        self.state = config.state_path
        self.services: dict[str, _Service] = {}
        self.service_key = new_key()
        self._extra_env = dict(extra_env or {})
        self._zmq_public = self._zmq_private = ""  # the persisted pair, read in start()
        self._redis_address = config.redis.address  # with the lab's account, from start()
        self.supervisor: WorkerSupervisor | None = None

    # -- start / stop ---------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        """Start every service and wait until a plan could be submitted.

        Raises:
            ServeError: If a service exits or is not ready within ``timeout``
                (the message names it and the end of its log).
        """
        deadline = time.monotonic() + timeout
        try:
            self._start(deadline)
        except BaseException:
            self.stop()
            raise

    def _start(self, deadline: float) -> None:
        config = self.config
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
        tiled_yml = write_yaml(self.state / "tiled.yml", tiled_config(config))
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
        self._prepare_queue(deadline)
        self.supervisor = WorkerSupervisor(
            self.api,
            self.pid("re-manager"),
            self.config.queue.zmq_control_port,
            lambda api: self.open_environment(api, time.monotonic() + 120.0),
        )
        self.supervisor.start()

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
            "SMARTLAB_SERVE_SERVICE_KEY": self.service_key,
            "SMARTLAB_SERVE_JOURNAL_DIR": str(self.state / "journal"),
            "SMARTLAB_SERVE_ALARM_LOG": str(self.state / "alarms.jsonl"),
            "SMARTLAB_SERVE_REDIS_ADDRESS": self._redis_address,
            "SMARTLAB_SERVE_REDIS_PREFIX": self.config.redis.prefix,
            "SMARTLAB_SERVE_LIMS_URL": self.config.lims.url,
            "SMARTLAB_SERVE_LIMS_SCHEMA": self.config.lims.schema,
        }

    def _prepare_queue(self, deadline: float) -> None:
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
        """Stop the services, last started first (SIGINT, then SIGKILL after ``timeout``)."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for name in reversed(list(self.services)):
            service = self.services.pop(name)
            process = service.process
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            service.log.close()

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
        self.services[name] = _Service(name, process, log, log_path)

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
            ServeError: Naming the service, its exit code and the end of its log.
        """
        for name, service in self.services.items():
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
