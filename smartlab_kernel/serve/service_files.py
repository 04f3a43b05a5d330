"""Write the configuration files of the three services from one :class:`ServeConfig`.

* tiled: catalog in PostgreSQL, data files in ``data_dir``, API keys only
  (login with a password is impossible: the password table is empty), and
  :class:`~smartlab_kernel.serve.access_policy.RunOwnerAccessPolicy` so a
  student reads only their own runs.
* queueserver HTTP server: API keys only, roles ``student`` and ``instructor``;
  students edit the queue through :mod:`~smartlab_kernel.serve.queue_router`.
* RE Manager: which plans each user group may run.
"""

from __future__ import annotations

import os
import secrets
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

#: Queue-server scopes of a student: watch everything; no queue or plan control. They add
#: and remove their own items through :mod:`~smartlab_kernel.serve.queue_router`, because
#: the server's ``write:queue:edit`` would let them move or remove anybody's items.
STUDENT_SCOPES: list[str] = [
    "read:status",
    "read:queue",
    "read:history",
    "read:resources",
    "read:config",
    "read:monitor",
]


def catalog_async_uri(postgres_uri: str) -> str:
    """Return the SQLAlchemy asyncpg form of a ``postgresql://`` URI (what tiled wants)."""
    scheme, rest = postgres_uri.split("://", 1)
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgresql", "postgres") else postgres_uri


def tiled_config(config: ServeConfig) -> dict[str, Any]:
    """Return tiled's ``config.yml`` content."""
    state = config.state_path
    return {
        "authentication": {
            "providers": [
                {
                    "provider": PROVIDER,
                    "authenticator": "tiled.authenticators:DictionaryAuthenticator",
                    "args": {"users_to_passwords": {}},
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
                    "writable_storage": [
                        str(config.data_path / "files"),
                        f"duckdb:///{config.data_path / 'tables.duckdb'}",
                    ],
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
            "args": {"roles": {"student": {"scopes_set": STUDENT_SCOPES}}, "users": users},
        },
        "resource_access": {
            "policy": "bluesky_httpserver.authorization:DefaultResourceAccessControl",
            "args": {"default_group": USER_GROUP},
        },
        "uvicorn": {"host": config.host, "port": config.queue.http_port},
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
