"""The audit trail detects truncation and edits of derived state (issue 15, item 6).

The chain head is anchored outside the table (a head file beside a SQLite
database, a head file given for PostgreSQL, the head in each run's start
document), and verification replays the inventory, usage and samples from
the log and names every row that disagrees.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from smartlab_kernel.cli.main import main
from smartlab_kernel.lims import AuditHead, LimsStore


@pytest.fixture
def anchored(lims: LimsStore, tmp_path: Path) -> LimsStore:
    """The ``lims`` store, with a head file also on PostgreSQL (beside SQLite by default)."""
    if lims.engine.url.get_backend_name() == "sqlite":
        assert lims.head_file == Path(str(lims.engine.url.database) + ".audit-head")
        return lims
    url = lims.engine.url.render_as_string(hide_password=False)
    with lims.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    lims.close()
    return LimsStore.open(url, schema=schema, operator="tester", head_file=tmp_path / "pg.head")


def _tamper(lims: LimsStore, *statements: str) -> None:
    """Edit the database behind the LIMS's back (the audit log's trigger dropped first)."""
    with lims.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        for statement in statements:
            conn.exec_driver_sql(statement)


def _history(lims: LimsStore) -> str:
    """Six entries: register, add_item, consume (a usage row), transition, record_run, restock."""
    sample = lims.register_sample("mixture")
    lims.add_item("stock_A", "10 mL")
    with lims.transaction(operator="ana") as tx:
        tx.consume("stock_A", "1 mL", sample_id=sample.sample_id, run_uid="run-1")
        tx.transition(sample.sample_id, "prepared")
    lims.record_run("run-1", [sample.sample_id])
    lims.restock("stock_A", "2 mL")
    assert lims.verify_audit().ok
    return sample.sample_id


def _cli(lims: LimsStore) -> list[str]:
    url = lims.engine.url
    if url.get_backend_name() == "sqlite":
        return ["audit", "verify", "--db", str(url.database)]
    with lims.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    target = url.render_as_string(hide_password=False)
    assert lims.head_file is not None
    return ["audit", "verify", "--db", target, "--schema", schema, "--head", str(lims.head_file)]


def test_every_commit_appends_the_head_to_the_head_file(anchored: LimsStore) -> None:
    _history(anchored)
    head = anchored.audit_head()
    assert head is not None and head.seq == 6
    assert head.hash == anchored.audit_entries()[-1].hash
    assert anchored.head_file is not None
    lines = anchored.head_file.read_text().splitlines()
    assert len(lines) == 5  # one per transaction (the consume and transition share one)
    assert AuditHead.from_json(lines[-1]) == head


def test_deleting_the_newest_entries_is_detected(
    anchored: LimsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _history(anchored)
    assert main(_cli(anchored)) == 0
    capsys.readouterr()
    _tamper(anchored, "DELETE FROM audit_log WHERE seq >= 5")
    result = anchored.verify_audit()
    assert not result
    assert result.chain.ok  # what is left is a valid chain on its own
    assert result.missing_at_end == (5, 6)
    assert "audit entries 5 to 6 are missing at the end" in str(result)
    assert main(_cli(anchored)) == 1
    err = capsys.readouterr().err
    assert "audit entries 5 to 6 are missing at the end" in err
    assert "head file" in err


def test_an_edited_inventory_amount_is_named(
    anchored: LimsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _history(anchored)
    _tamper(anchored, "UPDATE inventory_items SET amount = 99 WHERE name = 'stock_A'")
    result = anchored.verify_audit()
    assert not result and result.chain.ok
    (mismatch,) = result.inventory
    assert (mismatch.item, mismatch.expected, mismatch.stored) == ("stock_A", 11.0, 99.0)
    text = "inventory item 'stock_A': the audit log gives 11 milliliter, the table holds 99"
    assert text in str(result)
    assert main(_cli(anchored)) == 1
    assert text in capsys.readouterr().err


def test_deleted_usage_rows_are_named(
    anchored: LimsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_id = _history(anchored)
    _tamper(anchored, "DELETE FROM inventory_usage")
    result = anchored.verify_audit()
    assert not result and result.chain.ok
    (problem,) = result.usage
    assert (problem.audit_seq, problem.item, problem.amount) == (3, "stock_A", 1.0)
    text = (
        f"usage row of audit seq 3 is missing: 1 milliliter of 'stock_A' for sample "
        f"{sample_id}, run run-1"
    )
    assert text in str(result)
    assert main(_cli(anchored)) == 1
    assert text in capsys.readouterr().err


def test_an_edited_sample_state_is_named(anchored: LimsStore) -> None:
    sample_id = _history(anchored)
    _tamper(anchored, f"UPDATE samples SET state = 'measured' WHERE sample_id = '{sample_id}'")
    result = anchored.verify_audit()
    assert not result
    assert f"sample {sample_id}: state is 'measured', the audit log gives 'prepared'" in str(result)


def test_a_missing_head_file_is_reported(lims: LimsStore) -> None:
    if lims.engine.url.get_backend_name() != "sqlite":
        result = lims.verify_audit()  # no head file given: intact but not anchored
        assert result.ok and result.unanchored
        return
    _history(lims)
    assert lims.head_file is not None
    lims.head_file.unlink()
    result = lims.verify_audit()
    assert not result
    assert f"no audit head file at {lims.head_file}" in str(result)


def test_a_rewritten_chain_is_caught_by_an_anchor(anchored: LimsStore) -> None:
    """Entries deleted and new ones appended: the chain is valid, the anchors are not."""
    _history(anchored)
    anchor = anchored.audit_head()
    assert anchor is not None
    _tamper(anchored, "DELETE FROM audit_log WHERE seq >= 4")
    assert anchored.head_file is not None
    anchored.head_file.unlink()  # the forger removes the head file too
    for _ in range(3):
        anchored.register_sample("forged")
    result = anchored.verify_audit(anchors=[anchor])
    assert not result and result.chain.ok
    assert f"audit entry 6 does not match the head anchored elsewhere ({anchor.hash[:12]}" in str(
        result
    )
