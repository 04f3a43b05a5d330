"""The lab server's configuration: one TOML file, validated with errors that say what to fix.

Example (every key but ``[[users]]`` is optional)::

    state_dir = "./lab-server"     # logs, journals, key databases, data files
    host = "127.0.0.1"             # anything else needs allow_remote = true
    umask = 0o077                  # files 0600, folders 0700; 0o027 lets the group read

    [redis]
    address = "127.0.0.1:6379"
    prefix = "smartlab"            # queue keys live under this prefix
    admin_user = "default"         # makes the lab's own Redis account at start ...
    admin_password_file = ""       # ... with the password in this file ("" = none)

    [queue]
    http_port = 60610              # the queueserver HTTP server (students connect here)
    zmq_control_port = 60615
    zmq_info_port = 60625
    publish_console = false        # the manager's info socket (unencrypted): off

    [catalog]
    port = 8000                    # tiled
    postgres_uri = "postgresql://postgres@127.0.0.1:5432/smartlab"
    create_database = true

    [bench]
    seed = 0
    time_scale = 100.0             # simulated seconds per real second
    stock_ml = 10000.0             # each stock reservoir

    [lims]                         # samples and stock (optional; off when url is "")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/smartlab"
    schema = "lims"

    [[users]]
    name = "ta"
    role = "instructor"
    key_hash = "0a1b2c3d:..."      # from `smartlab serve keys`
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .keys import is_key_hash

Role = Literal["student", "instructor"]
ROLES: tuple[str, ...] = ("student", "instructor")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
#: A Redis key prefix: it names the lab's Redis account and its key patterns, so no
#: spaces or glob characters.
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class User:
    """One person who may use the lab server.

    Attributes:
        name: Login name (letters, digits, ``_.-``; starts with a letter).
        role: ``"student"`` (submits plans, reads own runs) or ``"instructor"``
            (sees everything, manages the queue).
        key_hash: Hash of the user's API key (see :func:`~.keys.hash_key`).
    """

    name: str
    role: Role
    key_hash: str


@dataclass(frozen=True)
class RedisSection:
    """Where the queue lives: ``address`` is ``host:port``, keys under ``prefix``.

    The lab reaches Redis only through an account of its own (see
    :func:`~smartlab_kernel.serve.provision.provision_redis`), made at start
    by ``admin_user`` with the password in ``admin_password_file`` (empty:
    no password, Redis's stock setup).
    """

    address: str = "127.0.0.1:6379"
    prefix: str = "smartlab"
    admin_user: str = "default"
    admin_password_file: str = ""


@dataclass(frozen=True)
class QueueSection:
    """Ports of the queueserver: its HTTP server and the RE Manager's 0MQ sockets.

    ``publish_console`` turns on the RE Manager's info socket (console output
    and status on ``zmq_info_port``). The queueserver cannot encrypt that
    socket, so anyone on the machine could read every student's plan
    arguments from it: it is off unless the configuration says otherwise.
    """

    http_port: int = 60610
    zmq_control_port: int = 60615
    zmq_info_port: int = 60625
    publish_console: bool = False


@dataclass(frozen=True)
class CatalogSection:
    """The tiled server: its port, its PostgreSQL catalog, and its data folder."""

    port: int = 8000
    postgres_uri: str = "postgresql://postgres@127.0.0.1:5432/smartlab"
    create_database: bool = True
    data_dir: str = ""


@dataclass(frozen=True)
class BenchSection:
    """The simulated bench the queue's RunEngine drives.

    ``stock_ml`` is the capacity of each stock reservoir: a class shares one
    bench, so it is much larger than a single user's default.
    """

    seed: int = 0
    time_scale: float = 100.0
    stock_ml: float = 10000.0


@dataclass(frozen=True)
class LimsSection:
    """The LIMS the queue's runs keep in step with (samples, stock, audit trail).

    ``url`` is a SQLAlchemy URL (``postgresql+psycopg://...`` for a shared lab);
    empty turns the LIMS off. ``schema`` is the PostgreSQL schema of its tables.
    """

    url: str = ""
    schema: str = "lims"


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``smartlab serve`` needs (see the module docstring for the file format)."""

    users: tuple[User, ...]
    state_dir: str = "./lab-server"
    host: str = "127.0.0.1"
    allow_remote: bool = False
    umask: int = 0o077
    redis: RedisSection = field(default_factory=RedisSection)
    queue: QueueSection = field(default_factory=QueueSection)
    catalog: CatalogSection = field(default_factory=CatalogSection)
    bench: BenchSection = field(default_factory=BenchSection)
    lims: LimsSection = field(default_factory=LimsSection)

    @property
    def state_path(self) -> Path:
        """The state folder, absolute."""
        return Path(self.state_dir).expanduser().resolve()

    @property
    def data_path(self) -> Path:
        """Where tiled writes data files (``catalog.data_dir`` or ``<state_dir>/data``)."""
        given = self.catalog.data_dir
        return Path(given).expanduser().resolve() if given else self.state_path / "data"

    @property
    def queue_url(self) -> str:
        """The address students give to ``Lab.connect``."""
        return f"http://{self.host}:{self.queue.http_port}"

    @property
    def catalog_url(self) -> str:
        """The tiled server's address."""
        return f"http://{self.host}:{self.catalog.port}"


_SECTIONS: dict[str, type] = {
    "redis": RedisSection,
    "queue": QueueSection,
    "catalog": CatalogSection,
    "bench": BenchSection,
    "lims": LimsSection,
}


def _check_type(where: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise ConfigError(f"{where} must be {expected.__name__}, got {value!r}")
    return value


def _section(name: str, raw: Any, cls: type) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table, got {raw!r}")
    allowed = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in [{name}]; allowed: {sorted(allowed)}")
    defaults = cls()
    values = {
        key: _check_type(f"{name}.{key}", value, type(getattr(defaults, key)))
        for key, value in raw.items()
    }
    for key, value in values.items():
        if key.endswith("port") and not 1 <= value <= 65535:
            raise ConfigError(f"{name}.{key} must be a port in 1..65535, got {value}")
    if name == "redis" and "prefix" in values and not _PREFIX.match(values["prefix"]):
        raise ConfigError(
            f"redis.prefix {values['prefix']!r} must be letters, digits, _ . - "
            "(letter or digit first, at most 64)"
        )
    return cls(**values)


def _user(index: int, raw: Any) -> User:
    where = f"users[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table with name, role, key_hash; got {raw!r}")
    missing = sorted({"name", "role", "key_hash"} - set(raw))
    unknown = sorted(set(raw) - {"name", "role", "key_hash"})
    if missing or unknown:
        raise ConfigError(
            f"{where} needs exactly name, role, key_hash (missing {missing}, unknown {unknown})"
        )
    name, role, key_hash = (str(raw[k]) for k in ("name", "role", "key_hash"))
    if name.startswith("smartlab-"):
        raise ConfigError(f"{where}.name {name!r}: names starting 'smartlab-' are reserved")
    if not _NAME.match(name):
        raise ConfigError(f"{where}.name {name!r} must be letters, digits, _ . - (letter first)")
    if role not in ROLES:
        raise ConfigError(f"{where}.role {role!r} must be one of {list(ROLES)}")
    if not is_key_hash(key_hash):
        raise ConfigError(
            f"{where}.key_hash must be '<8 hex>:<64 hex>' as `smartlab serve keys` writes it"
        )
    return User(name=name, role=role, key_hash=key_hash)  # type: ignore[arg-type]


def parse_config(raw: dict[str, Any]) -> ServeConfig:
    """Validate a configuration given as a dict (as read from TOML).

    Raises:
        ConfigError: If a key is unknown, a value has the wrong type or range,
            users are missing or repeated, or the host is not loopback while
            ``allow_remote`` is false.
    """
    top = {"state_dir": str, "host": str, "allow_remote": bool, "umask": int}
    unknown = sorted(set(raw) - set(top) - set(_SECTIONS) - {"users"})
    if unknown:
        allowed = sorted([*top, *_SECTIONS, "users"])
        raise ConfigError(f"unknown key(s) {unknown}; allowed: {allowed}")
    values: dict[str, Any] = {k: _check_type(k, raw[k], t) for k, t in top.items() if k in raw}
    for name, cls in _SECTIONS.items():
        if name in raw:
            values[name] = _section(name, raw[name], cls)
    users_raw = raw.get("users")
    if not isinstance(users_raw, list) or not users_raw:
        raise ConfigError("the configuration needs at least one [[users]] entry")
    users = tuple(_user(i, u) for i, u in enumerate(users_raw))
    names = [u.name for u in users]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"user names must be unique; repeated: {repeated}")
    if not any(u.role == "instructor" for u in users):
        raise ConfigError("at least one user needs role = 'instructor' (to manage the queue)")
    config = ServeConfig(users=users, **values)
    if not 0 <= config.umask <= 0o777 or config.umask & 0o700:
        raise ConfigError(
            f"umask {config.umask:#o} must be in 0o000..0o077 (the lab must read and write "
            "its own files); 0o077 keeps them private, 0o027 lets the group read"
        )
    if not config.allow_remote and not _is_loopback(config.host):
        raise ConfigError(
            f"host {config.host!r} is not a loopback address; set allow_remote = true "
            "to serve beyond this machine (and put TLS in front)"
        )
    return config


def load_config(path: str | Path) -> ServeConfig:
    """Read and validate a TOML configuration file.

    Raises:
        ConfigError: If the file is missing, is not TOML, or is invalid.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"no configuration file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return parse_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
