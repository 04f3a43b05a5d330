"""Fixtures for the LIMS tests: the same store on SQLite and on PostgreSQL.

PostgreSQL is the real server on 127.0.0.1:5432 (database ``test``). Every
test gets its own schema named after this session's token; all schemas of the
session are dropped at the end, so parallel runs do not collide. When the
server is unreachable the PostgreSQL half is skipped, unless ``CI=true``,
where that is a failure.
"""

from __future__ import annotations

import getpass
import itertools
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from smartlab_kernel.lims import LimsStore

PG_HOST = os.environ.get("SMARTLAB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SMARTLAB_TEST_PG_PORT", "5432"))
PG_DATABASE = os.environ.get("SMARTLAB_TEST_PG_DATABASE", "test")
_counter = itertools.count()


def _pg_conninfo(user: str) -> str:
    return f"host={PG_HOST} port={PG_PORT} dbname={PG_DATABASE} user={user} connect_timeout=3"


@pytest.fixture(scope="session")
def postgres_user() -> str:
    """A user that can connect to the test database, or skip / fail."""
    errors = []
    for user in dict.fromkeys(["postgres", getpass.getuser()]):
        try:
            with psycopg.connect(_pg_conninfo(user)):
                return user
        except psycopg.Error as exc:
            errors.append(f"{user}: {exc}".strip())
    reason = f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DATABASE} unreachable ({'; '.join(errors)})"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_session_prefix(postgres_user: str) -> Iterator[str]:
    """Schema-name prefix unique to this test session; its schemas are dropped at the end."""
    prefix = f"lims_test_{uuid.uuid4().hex[:10]}"
    yield prefix
    with psycopg.connect(_pg_conninfo(postgres_user), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
        ).fetchall()
        for (schema,) in rows:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_target(postgres_user: str, postgres_session_prefix: str) -> Iterator[tuple[str, str]]:
    """(URL, schema) of a fresh, empty PostgreSQL schema for one test."""
    schema = f"{postgres_session_prefix}_{next(_counter)}"
    url = f"postgresql+psycopg://{postgres_user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
    yield url, schema
    with psycopg.connect(_pg_conninfo(postgres_user), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def lims(request: pytest.FixtureRequest, tmp_path) -> Iterator[LimsStore]:
    """An empty LIMS store at schema head, on each backend."""
    if request.param == "sqlite":
        store = LimsStore.open(tmp_path / "lab-data" / "lims.sqlite", operator="tester")
    else:
        url, schema = request.getfixturevalue("postgres_target")
        store = LimsStore.open(url, schema=schema, operator="tester")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def stocked(lims: LimsStore) -> LimsStore:
    """A store with two stock solutions (with sample records) and vials."""
    a = lims.register_sample("stock_solution", location="rack1:A1", sample_id="STOCK-A")
    b = lims.register_sample("stock_solution", location="rack1:A2", sample_id="STOCK-B")
    lims.add_item("stock_A", "25 mL", sample_id=a.sample_id, low_threshold="5 mL")
    lims.add_item("stock_B", "10 mL", sample_id=b.sample_id)
    lims.add_item("vials", "3 vial", kind="consumable", low_threshold="1 vial")
    return lims
