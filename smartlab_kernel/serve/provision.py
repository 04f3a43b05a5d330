"""Put each user's API key into tiled's and the queueserver HTTP server's key tables.

Both servers keep API keys as ``(first eight hex digits, SHA-256 of the
key)`` rows tied to a principal, and look a key up on every request. We
write those rows from the hashes in the configuration file with the
servers' own ORM classes, so the user's one key works on both, and the
key itself never reaches the server's disk. Keys not in the configuration
are removed, so taking a user out of the file and restarting revokes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from .keys import split_key_hash

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
