"""Create (and, for tests, drop) the PostgreSQL database that holds tiled's catalog."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .errors import ServeError


def _split(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgresql", "postgres") or not name:
        raise ServeError(
            f"catalog.postgres_uri must look like postgresql://user@host:port/database, got {uri!r}"
        )
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    return maintenance, name


def ensure_database(uri: str) -> bool:
    """Create the database named in ``uri`` if it does not exist; return True if created.

    Raises:
        ServeError: If PostgreSQL is unreachable or refuses.
    """
    import psycopg
    from psycopg import sql

    maintenance, name = _split(uri)
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.Error as exc:
        raise ServeError(
            f"cannot create PostgreSQL database {name!r} via {maintenance}: {exc}"
        ) from exc


def drop_database(uri: str) -> None:
    """Drop the database named in ``uri`` (closing its connections first), if it exists."""
    import psycopg
    from psycopg import sql

    maintenance, name = _split(uri)
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
