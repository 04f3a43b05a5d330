"""Opening the LIMS database: engine set-up and Alembic migrations.

SQLite (the default, one file in the lab directory) and PostgreSQL (served
mode) share one schema. Writers are serialised: SQLite transactions start
with ``BEGIN IMMEDIATE``; on PostgreSQL a transaction locks the audit log, so
the hash chain never forks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .errors import LimsError, SchemaVersionError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Where the LIMS lives by default, relative to the lab directory.
DEFAULT_DB_PATH = Path("lab-data") / "lims.sqlite"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_WRITE_OPTION = "lims_write"


def database_url(target: str | Path) -> sa.URL:
    """Return the SQLAlchemy URL for a file path or a URL string.

    Args:
        target: ``"path/to/lims.sqlite"``, ``"sqlite:///..."`` or
            ``"postgresql+psycopg://user@host/db"``.
    """
    text = str(target)
    if "://" in text:
        return sa.make_url(text)
    return sa.URL.create("sqlite+pysqlite", database=str(Path(text).expanduser()))


def create_lims_engine(url: sa.URL, schema: str | None = None) -> sa.Engine:
    """Create an engine configured for the LIMS on SQLite or PostgreSQL.

    Args:
        url: Database URL.
        schema: PostgreSQL schema to use (created if missing); ignored on SQLite.

    Raises:
        LimsError: Unsupported backend or invalid schema name.
    """
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise LimsError(f"invalid PostgreSQL schema name {schema!r}")
            connect_args["options"] = f"-csearch_path={schema}"
        engine = sa.create_engine(url, connect_args=connect_args)
        if schema is not None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return engine
    raise LimsError(f"unsupported LIMS database {backend!r}; use SQLite or PostgreSQL")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def mark_for_writing(conn: sa.Connection) -> None:
    """Make ``conn``'s next transaction a writer (call before it begins)."""
    conn.execution_options(**{_WRITE_OPTION: True})


def lock_for_writing(conn: sa.Connection) -> None:
    """Serialise writers on PostgreSQL (SQLite already holds its write lock)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")


def alembic_config() -> Config:
    """Return an Alembic config pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """Return the newest schema revision this package knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """Return the schema revision of the database, or None for an empty one."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: sa.Engine) -> None:
    """Create or upgrade the schema to :func:`head_revision`, in one transaction.

    Raises:
        SchemaVersionError: The database is at a revision this package does not
            know (written by a newer version).
    """
    current = current_revision(engine)
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaVersionError(
            f"the LIMS database is at schema revision {current!r}, which this version of "
            f"smartlab_kernel does not know (newest known: {head_revision()!r}); upgrade "
            "smartlab_kernel"
        )
    config = alembic_config()
    with engine.connect() as conn:
        mark_for_writing(conn)
        with conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def require_head(engine: sa.Engine) -> None:
    """Raise :class:`SchemaVersionError` unless the database is at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaVersionError(
            f"the LIMS database is at schema revision {current!r}, expected {head!r}; "
            "open it with upgrade=True to migrate it"
        )
