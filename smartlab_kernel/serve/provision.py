"""Provisioning at start: users' API keys in both servers, the lab's own Redis account.

Both servers keep API keys as ``(first eight hex digits, SHA-256 of the
key)`` rows tied to a principal, and look a key up on every request. We
write those rows from the hashes in the configuration file with the
servers' own ORM classes, so the user's one key works on both, and the
key itself never reaches the server's disk. Keys not in the configuration
are removed, so taking a user out of the file and restarting revokes them.

Redis (:func:`provision_redis`): the RE Manager keeps the queue in Redis
and takes whatever is there as a queue item, including its ``user``. So
the lab reaches Redis only through an ACL account of its own, which may
touch the lab's keys and nothing else; with Redis's default user locked
(docs/serve), a local user can neither read the queue nor inject an item.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .config import RedisSection
from .credentials import redis_password, redis_user
from .errors import ServeError
from .keys import split_key_hash

logger = logging.getLogger(__name__)

#: What the lab's Redis account may run, in ``ACL SETUSER`` order: data commands (on its
#: own keys only, see :func:`redis_acl_rules`); nothing that administers the server,
#: lists other keys, runs scripts or publishes.
REDIS_COMMAND_RULES: tuple[str, ...] = (
    "-@all",
    "+@read",
    "+@write",
    "+@keyspace",
    "+@list",
    "+@string",
    "+@hash",
    "+@connection",
    "+@transaction",
    "-@admin",
    "-@dangerous",
    "-@scripting",
    "-@pubsub",
    "-scan",
    "-randomkey",
)

#: tiled scopes of a student's key: read only (runs are written by the queue's RunEngine).
STUDENT_TILED_SCOPES: list[str] = ["read:metadata", "read:data"]


@dataclass(frozen=True)
class KeyGrant:
    """One key to install: who holds it, its hash, and whether they are an administrator."""

    name: str
    key_hash: str
    admin: bool


def provision_tiled(database_uri: str, provider: str, grants: Iterable[KeyGrant]) -> None:
    """Install ``grants`` in tiled's authentication database (already created by tiled).

    Args:
        database_uri: The SQLAlchemy URI of tiled's ``database``.
        provider: The identity provider name of tiled's configuration.
        grants: The keys to install; every other key is removed.
    """
    asyncio.run(_provision_tiled(database_uri, provider, list(grants)))


async def _provision_tiled(database_uri: str, provider: str, grants: list[KeyGrant]) -> None:
    from sqlalchemy import delete, select
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from tiled.authn_database.core import create_user, make_admin_by_identity
    from tiled.authn_database.orm import APIKey, Identity
    from tiled.utils import ensure_specified_sql_driver

    engine = create_async_engine(ensure_specified_sql_driver(database_uri))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            await db.execute(delete(APIKey))
            await db.commit()
            for grant in grants:
                identity = (
                    await db.execute(select(Identity).filter_by(provider=provider, id=grant.name))
                ).scalar()
                if grant.admin:
                    principal = await make_admin_by_identity(db, provider, grant.name)
                elif identity is None:
                    principal = await create_user(db, provider, grant.name)
                else:
                    principal_id = identity.principal_id
                    principal = None
                first_eight, digest = split_key_hash(grant.key_hash)
                db.add(
                    APIKey(
                        principal_id=principal.id if principal is not None else principal_id,
                        first_eight=first_eight,
                        hashed_secret=digest,
                        scopes=["inherit"] if grant.admin else STUDENT_TILED_SCOPES,
                        note=f"smartlab serve: {grant.name}",
                    )
                )
                await db.commit()
    finally:
        await engine.dispose()


def provision_queue_server(database_uri: str, provider: str, grants: Iterable[KeyGrant]) -> None:
    """Install ``grants`` in the queueserver HTTP server's database (already created by it).

    Roles (what a key may do) come from the server's access policy, keyed by
    user name; the key itself inherits them.

    Args:
        database_uri: The SQLAlchemy URI of the HTTP server's ``database``.
        provider: The identity provider name of its configuration.
        grants: The keys to install; every other key is removed.
    """
    from bluesky_httpserver.database.core import create_user
    from bluesky_httpserver.database.orm import APIKey, Identity
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(database_uri)
    try:
        with Session(engine) as db:
            db.query(APIKey).delete()
            db.commit()
            for grant in grants:
                identity = db.query(Identity).filter_by(provider=provider, id=grant.name).first()
                if identity is None:
                    principal_id = create_user(db, provider, grant.name).id
                else:
                    principal_id = identity.principal_id
                first_eight, digest = split_key_hash(grant.key_hash)
                db.add(
                    APIKey(
                        principal_id=principal_id,
                        first_eight=first_eight,
                        hashed_secret=digest,
                        scopes=["inherit"],
                        note=f"smartlab serve: {grant.name}",
                    )
                )
            db.commit()
    finally:
        engine.dispose()


def redis_acl_rules(prefix: str, password: str) -> list[str]:
    """``ACL SETUSER`` rules of the lab's Redis account for queue keys under ``prefix``.

    The queueserver's keys are ``<prefix>_...``, the room's ``<prefix>:...``;
    the account gets those two patterns, no pub/sub channels, and
    :data:`REDIS_COMMAND_RULES`. ``reset`` first, so rules from an older
    version do not linger.
    """
    return [
        "reset",
        "on",
        f">{password}",
        f"~{prefix}_*",
        f"~{prefix}:*",
        "resetchannels",
        *REDIS_COMMAND_RULES,
    ]


def _host_port(address: str) -> tuple[str, int, int]:
    """Split ``host:port[/db]`` into ``(host, port, db)``."""
    host, _, rest = address.rpartition(":")
    port, _, db = rest.partition("/")
    return host or "127.0.0.1", int(port), int(db or 0)


def provision_redis(redis_config: RedisSection, state_path: Path) -> str:
    """Make (or renew) the lab's Redis account; return the address its services use.

    The account is ``<prefix>-lab`` (:func:`~.credentials.redis_user`), with
    the password kept in ``<state_path>/credentials`` and
    :func:`redis_acl_rules`. It is made with the configuration's
    ``admin_user`` and ``admin_password_file``, and saved to Redis's ACL
    file (``ACL SAVE``) when Redis has one, so it survives a Redis restart.
    Without an ACL file, a warning: the account lasts until Redis restarts,
    and the lab makes it again at its next start.

    Args:
        redis_config: The configuration's ``[redis]`` section.
        state_path: The lab's state folder.

    Returns:
        ``<user>:<password>@<host>:<port>``, the form the RE Manager's
        ``redis_addr`` and ``redis://`` URLs take.

    Raises:
        ServeError: If the account cannot be made, or does not work (names
            the account and what to set).
    """
    import redis

    host, port, db = _host_port(redis_config.address)
    user = redis_user(redis_config.prefix)
    password = redis_password(state_path)
    admin_password = None
    if redis_config.admin_password_file:
        admin_file = Path(redis_config.admin_password_file).expanduser()
        try:
            admin_password = admin_file.read_text().strip() or None
        except OSError as exc:
            raise ServeError(f"redis.admin_password_file: cannot read {admin_file}: {exc}") from exc
    admin = redis.Redis(
        host=host,
        port=port,
        db=db,
        username=redis_config.admin_user or None,
        password=admin_password,
        socket_timeout=10,
    )
    try:
        admin.execute_command(
            "ACL", "SETUSER", user, *redis_acl_rules(redis_config.prefix, password)
        )
        try:
            admin.execute_command("ACL", "SAVE")
        except redis.ResponseError as exc:
            logger.warning(
                "Redis at %s keeps no ACL file (%s): the lab's account %r lasts until Redis "
                "restarts; configure `aclfile` in redis.conf (docs/serve)",
                redis_config.address,
                exc,
                user,
            )
    except redis.RedisError as exc:
        raise ServeError(
            f"cannot make the lab's Redis account {user!r} at {redis_config.address} as "
            f"{redis_config.admin_user!r}: {exc}. Set [redis] admin_user and "
            "admin_password_file to a Redis user that may run ACL SETUSER"
        ) from exc
    finally:
        admin.close()
    own = redis.Redis(
        host=host, port=port, db=db, username=user, password=password, socket_timeout=10
    )
    try:
        own.llen(f"{redis_config.prefix}_plan_queue")
    except redis.RedisError as exc:
        raise ServeError(f"the lab's Redis account {user!r} does not work: {exc}") from exc
    finally:
        own.close()
    return f"{user}:{password}@{redis_config.address}"
