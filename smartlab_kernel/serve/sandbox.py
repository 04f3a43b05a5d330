"""A throwaway lab server for tests and benchmarks: own database, queue prefix, ports and keys.

Several test sessions can share one PostgreSQL and one Redis: each sandbox
creates a uniquely named database and Redis key prefix (so also a uniquely
named Redis account for the lab), picks free ports, and removes its
database, keys and Redis account when closed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .config import ServeConfig, parse_config
from .credentials import redis_user
from .keys import hash_key, new_key
from .postgres import drop_database
from .server import LabServer


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Sandbox:
    """A lab server with fresh users, started in ``directory``.

    Args:
        directory: Its state folder (deleted on :meth:`close`).
        students: How many students (named ``student01``, ...).
        postgres: PostgreSQL server URI, without a database name.
        redis_address: ``host:port`` of Redis.
        redis_admin_password: Password of Redis's ``default`` user, if it has one
            (the lab makes its own Redis account with it).
        time_scale: Simulated seconds per real second on the bench.

    Attributes:
        keys: User name -> API key (the instructor is ``ta``).
        server: The :class:`LabServer`.
    """

    directory: Path
    students: int = 2
    postgres: str = "postgresql://postgres@127.0.0.1:5432"
    redis_address: str = "127.0.0.1:6379"
    redis_admin_password: str = ""
    time_scale: float = 1000.0
    keys: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def __post_init__(self) -> None:
        self.keys = {"ta": new_key()}
        self.keys.update({f"student{i:02d}": new_key() for i in range(1, self.students + 1)})
        redis: dict[str, str] = {
            "address": self.redis_address,
            "prefix": f"smartlab_test_{self.tag}",
        }
        if self.redis_admin_password:
            admin_file = self.directory.with_name(f"{self.directory.name}-redis-admin")
            admin_file.parent.mkdir(parents=True, exist_ok=True)
            admin_file.write_text(self.redis_admin_password)
            admin_file.chmod(0o600)
            redis["admin_password_file"] = str(admin_file)
        self.config: ServeConfig = parse_config(
            {
                "state_dir": str(self.directory),
                "redis": redis,
                "queue": {
                    "http_port": free_port(),
                    "zmq_control_port": free_port(),
                    "zmq_info_port": free_port(),
                },
                "catalog": {
                    "port": free_port(),
                    "postgres_uri": f"{self.postgres}/smartlab_test_{self.tag}",
                },
                "bench": {"time_scale": self.time_scale},
                # the LIMS lives in the catalog's database, in a schema of its own
                "lims": {
                    "url": _sqlalchemy_url(f"{self.postgres}/smartlab_test_{self.tag}"),
                    "schema": "lims",
                },
                "users": [
                    {
                        "name": name,
                        "role": "instructor" if name == "ta" else "student",
                        "key_hash": hash_key(key),
                    }
                    for name, key in self.keys.items()
                ],
            }
        )
        self.server = LabServer(self.config)

    @property
    def url(self) -> str:
        """The queue server's address (what ``Lab.connect`` takes)."""
        return self.config.queue_url

    def start(self, timeout: float = 150.0) -> Sandbox:
        """Start the lab server; return self."""
        self.server.start(timeout)
        return self

    def close(self) -> None:
        """Stop the server, drop its database, delete its Redis keys, account and its folder."""
        self.server.stop()
        drop_database(self.config.catalog.postgres_uri)
        _delete_redis_keys(
            self.redis_address, self.config.redis.prefix, self.redis_admin_password or None
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def _sqlalchemy_url(uri: str) -> str:
    """``postgresql://...`` as SQLAlchemy's psycopg 3 dialect wants it."""
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def _delete_redis_keys(address: str, prefix: str, password: str | None = None) -> None:
    """Delete the lab's keys and its Redis account (as ``default``, with ``password``)."""
    import redis

    host, port = address.rsplit(":", 1)
    try:
        client = redis.Redis(host=host, port=int(port), password=password, socket_timeout=5)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.execute_command("ACL", "DELUSER", redis_user(prefix))
        client.close()
    except redis.RedisError:
        pass  # that Redis is gone (a test stopped it): nothing left to clean


class RedisProcess:
    """A private ``redis-server`` on a free port, with an append-only file so data survive restarts.

    It keeps its accounts in an ACL file (``users.acl``), as docs/serve asks
    of a lab's Redis, so the lab's account survives a restart too.

    Args:
        directory: Where it keeps its append-only file and ACL file.
        port: Port (default: a free one).
        admin_password: The ``default`` user's password (default: none,
            Redis's stock setup; with one, Redis is locked as docs/serve says).
    """

    def __init__(self, directory: Path, port: int | None = None, admin_password: str = "") -> None:
        self.directory = directory
        self.port = port or free_port()
        self.admin_password = admin_password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start it and wait until it accepts connections."""
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        acl_file = self.directory / "users.acl"
        if not acl_file.exists():
            password = f">{self.admin_password}" if self.admin_password else "nopass"
            acl_file.write_text(f"user default on {password} ~* &* +@all\n")
            acl_file.chmod(0o600)
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
                "--aclfile",
                str(acl_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not reachable("127.0.0.1", self.port, 0.5):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop it (SIGTERM: it writes its append-only file and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
