from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from smartlab_kernel.lims import LimsStore, SchemaVersionError, head_revision
from smartlab_kernel.lims.database import alembic_config, current_revision, mark_for_writing
from smartlab_kernel.lims.schema import metadata


def test_fresh_database_is_created_at_head_and_matches_the_models(lims: LimsStore) -> None:
    assert current_revision(lims.engine) == head_revision() == "0002"
    with lims.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "lims.sqlite"
    with LimsStore.open(path) as lims:
        sample = lims.register_sample("mixture")
    with LimsStore.open(f"sqlite:///{path}", upgrade=False) as lims:
        assert lims.get_sample(sample.sample_id).sample_type == "mixture"
        assert lims.verify_audit().ok


def test_old_database_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    config = alembic_config()
    with engine.connect() as conn:
        mark_for_writing(conn)
        with conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="upgrade=True"):
        LimsStore.open(path, upgrade=False)
    with LimsStore.open(path) as lims:
        assert current_revision(lims.engine) == "0002"
        lims.add_item("stock_A", "5 mL")
        assert lims.items()[0].name == "stock_A"


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with LimsStore.open(path):
        pass
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="'9999'"):
        LimsStore.open(path)


def test_unsupported_backend_and_bad_schema() -> None:
    from smartlab_kernel.lims import LimsError

    with pytest.raises(LimsError, match="unsupported"):
        LimsStore.open("mysql://localhost/x")
    with pytest.raises(LimsError, match="schema name"):
        LimsStore.open("postgresql+psycopg://localhost/x", schema="bad;name")
