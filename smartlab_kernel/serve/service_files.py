"""Write the configuration files of the three services from one :class:`ServeConfig`.

* tiled: catalog in PostgreSQL, data files in ``data_dir``, API keys only
  (login with a password is impossible: the password table is empty), and
  :class:`~smartlab_kernel.serve.access_policy.RunOwnerAccessPolicy` so a
  student reads only their own runs.
* queueserver HTTP server: API keys only, roles ``student`` and ``instructor``;
  students edit their own queue items (:mod:`~smartlab_kernel.serve.queue_policy`).
* RE Manager: its sockets and Redis account (:func:`re_manager_config`), and
  which plans each user group may run.

And the systemd unit that runs ``smartlab serve`` itself (:func:`systemd_unit`).
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

from .config import ServeConfig
from .queue_plans import QUEUE_PLAN_NAMES

#: The identity provider name both servers record for our users.
PROVIDER = "smartlab"
#: The user that ``smartlab serve`` itself acts as (not allowed as a configured name).
SERVICE_USER = "smartlab-service"
#: The queueserver user group every user's items run in.
USER_GROUP = "primary"
#: Threads the lab service ships runs to the catalog with, side by side
#: (:class:`~smartlab_kernel.storage.shipper.Shipper`); measured in
#: ``benchmarks/queue_benchmark.py``, see docs/serve/operations.md.
SHIPPING_LANES = 3

#: Queue-server scopes of a student: watch everything and edit the queue, no queue or plan
#: control. ``write:queue:edit`` lets stock clients (``REManagerAPI``, the bluesky-widgets
#: queue editor) add, change and remove items; without :data:`OTHERS_ITEMS_SCOPE` the
#: lab's policy (:mod:`~smartlab_kernel.serve.queue_policy`) keeps that to the student's
#: own items, at the back of the queue.
STUDENT_SCOPES: list[str] = [
    "read:status",
    "read:queue",
    "read:history",
    "read:resources",
    "read:config",
    "read:monitor",
    "write:queue:edit",
]
#: The lab's own scope (instructors): edit anybody's queue items, anywhere in the queue.
OTHERS_ITEMS_SCOPE = "write:queue:edit:others"


def catalog_async_uri(postgres_uri: str) -> str:
    """Return the SQLAlchemy asyncpg form of a ``postgresql://`` URI (what tiled wants)."""
    scheme, rest = postgres_uri.split("://", 1)
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgresql", "postgres") else postgres_uri


def tiled_config(config: ServeConfig, service_password: str) -> dict[str, Any]:
    """Return tiled's ``config.yml`` content.

    Args:
        config: The lab's configuration.
        service_password: The lab service's password for this start: the only
            password login the server accepts. The service ships runs with the
            token it gets (tiled checks a token without a database look-up, a
            key with three; see :mod:`~smartlab_kernel.storage.tiled_login`).
            Users have keys only.
    """
    state = config.state_path
    return {
        "authentication": {
            "providers": [
                {
                    "provider": PROVIDER,
                    "authenticator": "tiled.authenticators:DictionaryAuthenticator",
                    "args": {"users_to_passwords": {SERVICE_USER: service_password}},
                }
            ],
            "secret_keys": [secrets.token_hex(32)],
            "allow_anonymous_access": False,
        },
        "access_control": {
            "access_policy": "smartlab_kernel.serve.access_policy:RunOwnerAccessPolicy",
            "args": {"provider": PROVIDER},
        },
        "database": {
            "uri": f"sqlite:///{state / 'tiled-auth.sqlite'}",
            "init_if_not_exists": True,
        },
        "trees": [
            {
                "path": "/",
                "tree": "catalog",
                "args": {
                    "uri": catalog_async_uri(config.catalog.postgres_uri),
                    # Tables (runs' event data) in PostgreSQL, whose connections
                    # tiled pools: DuckDB's one connection, shared by the server's
                    # request threads, crashed the server (SIGSEGV, SIGABRT) and
                    # failed requests (500) when runs were written side by side.
                    # Tables written by labs before this change stay readable.
                    "writable_storage": [
                        str(config.data_path / "files"),
                        config.catalog.postgres_uri,
                    ],
                    "readable_storage": [f"duckdb:///{config.data_path / 'tables.duckdb'}"],
                    "init_if_not_exists": True,
                },
            }
        ],
        "uvicorn": {"host": config.host, "port": config.catalog.port},
    }


def http_server_config(config: ServeConfig) -> dict[str, Any]:
    """Return the queueserver HTTP server's ``config.yml`` content."""
    users: dict[str, Any] = {SERVICE_USER: {"roles": ["admin", "expert"]}}
    for user in config.users:
        roles = ["admin", "expert"] if user.role == "instructor" else ["student"]
        users[user.name] = {"roles": roles}
    return {
        "qserver_zmq_configuration": {
            "control_address": f"tcp://127.0.0.1:{config.queue.zmq_control_port}",
            "info_address": f"tcp://127.0.0.1:{config.queue.zmq_info_port}",
        },
        "authentication": {
            "providers": [
                {
                    "provider": PROVIDER,
                    "authenticator": "bluesky_httpserver.authenticators:DictionaryAuthenticator",
                    "args": {"users_to_passwords": {}},
                }
            ],
            "secret_keys": [secrets.token_hex(32)],
            "allow_anonymous_access": False,
        },
        "server_configuration": {
            "custom_routers": [
                "smartlab_kernel.serve.info_router.router",
                "smartlab_kernel.serve.queue_router.router",
                "smartlab_kernel.serve.room_router.router",
            ],
        },
        "database": {"uri": f"sqlite:///{config.state_path / 'queue-auth.sqlite'}"},
        "api_access": {
            "policy": "bluesky_httpserver.authorization:DictionaryAPIAccessControl",
            "args": {
                "roles": {
                    "student": {"scopes_set": STUDENT_SCOPES},
                    "expert": {"scopes_add": [OTHERS_ITEMS_SCOPE]},
                },
                "users": users,
            },
        },
        "resource_access": {
            "policy": "bluesky_httpserver.authorization:DefaultResourceAccessControl",
            "args": {"default_group": USER_GROUP},
        },
        "uvicorn": {"host": config.host, "port": config.queue.http_port},
    }


def re_manager_config(config: ServeConfig, redis_address: str) -> dict[str, Any]:
    """Return the RE Manager's ``--config`` file content (its ``network`` settings).

    A file rather than command-line options, so that the Redis password in
    ``redis_address`` (``user:password@host:port``, see
    :func:`~smartlab_kernel.serve.provision.provision_redis`) is not in the
    process list. The info socket is off unless ``queue.publish_console``:
    the queueserver cannot encrypt it.
    """
    return {
        "network": {
            "zmq_control_addr": f"tcp://127.0.0.1:{config.queue.zmq_control_port}",
            "zmq_info_addr": f"tcp://127.0.0.1:{config.queue.zmq_info_port}",
            "zmq_publish_console": config.queue.publish_console,
            "redis_addr": redis_address,
            "redis_name_prefix": config.redis.prefix,
        }
    }


def user_group_permissions() -> dict[str, Any]:
    """Return the RE Manager's user-group permissions: only the queue's plans, any device."""
    plans = [f":^{name}$" for name in QUEUE_PLAN_NAMES]
    return {
        "user_groups": {
            "root": {
                "allowed_plans": [None],
                "forbidden_plans": [":^_"],
                "allowed_devices": [None],
                "forbidden_devices": [":^_:?.*"],
            },
            USER_GROUP: {
                "allowed_plans": plans,
                "forbidden_plans": [None],
                "allowed_devices": [":.*"],
                "forbidden_devices": [None],
            },
        }
    }


def write_yaml(path: Path, content: dict[str, Any]) -> Path:
    """Write ``content`` as YAML to ``path`` (readable by the owner only); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(yaml.safe_dump(content, sort_keys=False))
    return path


#: What the ``smartlab`` console script runs (for a unit where it is not installed).
_MAIN = "import sys; from smartlab_kernel.cli.main import main; sys.exit(main())"


def systemd_unit(config_path: Path, user: str | None = None) -> str:
    """Return a systemd unit that runs ``smartlab serve config_path`` as a service.

    ``KillMode=mixed``: ``systemctl stop`` sends SIGTERM to ``smartlab serve``
    alone, which stops tiled, the RE Manager and the HTTP server in order
    (each a process group); whatever is still in the unit's cgroup after
    ``TimeoutStopSec`` is killed. ``Restart=on-failure`` starts it again if it
    fails to start or dies; a service that dies under it is restarted by
    ``smartlab serve`` itself. Files are created private (``UMask=0077``).

    Args:
        config_path: The lab's TOML configuration (absolute).
        user: The account to run as (default: the current one). It needs to
            read the configuration and write the state folder.
    """
    script = Path(sys.executable).with_name("smartlab")
    command = (
        f"{script} serve"
        if script.exists()
        else f'{sys.executable} -c "{_MAIN}" serve'  # no console script: call its function
    )
    name = config_path.stem
    return f"""\
# smartlab lab server "{name}", written by `smartlab serve unit`.
# Install:  sudo cp smartlab-{name}.service /etc/systemd/system/
#           sudo systemctl daemon-reload && sudo systemctl enable --now smartlab-{name}
# State:    smartlab serve status {config_path}    Log: journalctl -u smartlab-{name}
[Unit]
Description=smartlab lab server {name} (tiled, RE Manager, HTTP server)
After=network-online.target postgresql.service redis-server.service redis.service
Wants=network-online.target

[Service]
Type=exec
User={user or getpass.getuser()}
WorkingDirectory={config_path.parent}
ExecStart={command} {config_path}
Environment=PYTHONUNBUFFERED=1
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=90
Restart=on-failure
RestartSec=10
UMask=0077
NoNewPrivileges=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
"""
