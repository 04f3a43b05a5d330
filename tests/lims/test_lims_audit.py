from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from smartlab_kernel.lims import GENESIS_HASH, LimsStore, entry_hash


def _tamper(lims: LimsStore, statement: str) -> None:
    """Edit the audit log directly, getting past the append-only trigger first."""
    with lims.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.exec_driver_sql(statement)


def _some_history(lims: LimsStore) -> str:
    sample = lims.register_sample("mixture", location="rack1:A1")
    lims.add_item("stock_A", "10 mL")
    with lims.transaction(operator="ana") as tx:
        tx.consume("stock_A", "1 mL", sample_id=sample.sample_id)
        tx.transition(sample.sample_id, "prepared")
    lims.record_run("run-1", [sample.sample_id])
    lims.transition(sample.sample_id, "measured", operator="bob")
    return sample.sample_id


def test_every_change_is_audited_and_chained(lims: LimsStore) -> None:
    sample_id = _some_history(lims)
    entries = lims.audit_entries()
    assert [(e.seq, e.action, e.operator) for e in entries] == [
        (1, "register_sample", "tester"),
        (2, "add_item", "tester"),
        (3, "consume", "ana"),
        (4, "transition", "ana"),
        (5, "record_run", "tester"),
        (6, "transition", "bob"),
    ]
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    assert entries[3].before["state"] == "registered" and entries[3].after["state"] == "prepared"
    assert entries[2].before["amount"] == 10 and entries[2].after["amount"] == 9
    assert entries[2].after["sample_id"] == sample_id
    assert entries[0].at.endswith("Z") and "T" in entries[0].at
    e = entries[5]
    assert e.hash == entry_hash(
        e.prev_hash, seq=e.seq, at=e.at, operator=e.operator, action=e.action,
        entity=e.entity, before=e.before, after=e.after,
    )  # fmt: skip
    assert [h.action for h in lims.history(sample_id)] == [
        "register_sample",
        "transition",
        "transition",
    ]
    result = lims.verify_audit()
    assert result and result.entries_checked == 6 and result.first_bad_seq is None
    assert result.head_hash == entries[-1].hash


def test_audit_log_refuses_update_and_delete(lims: LimsStore) -> None:
    _some_history(lims)
    for statement in ("UPDATE audit_log SET operator = 'eve'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), lims.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert lims.verify_audit().ok


@pytest.mark.parametrize(
    ("statement", "bad_seq", "reason"),
    [
        ("UPDATE audit_log SET operator = 'eve' WHERE seq = 3", 3, "hash mismatch"),
        (
            "UPDATE audit_log SET after_json = REPLACE(after_json, '\"prepared\"', '\"stored\"') "
            "WHERE seq = 4",
            4,
            "hash mismatch",
        ),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "entries missing"),
        ("UPDATE audit_log SET prev_hash = hash WHERE seq = 5", 5, "prev_hash"),
    ],
)
def test_tampering_is_detected_at_the_edited_entry(
    lims: LimsStore, statement: str, bad_seq: int, reason: str
) -> None:
    _some_history(lims)
    assert lims.verify_audit().ok
    _tamper(lims, statement)
    result = lims.verify_audit()
    assert not result
    assert result.first_bad_seq == bad_seq
    assert reason in result.reason
    assert str(result).startswith(f"audit trail broken at seq {bad_seq}")


def test_rehashing_one_entry_breaks_the_next(lims: LimsStore) -> None:
    _some_history(lims)
    entry = lims.audit_entries()[2]
    forged = entry_hash(
        entry.prev_hash, seq=entry.seq, at=entry.at, operator="eve", action=entry.action,
        entity=entry.entity, before=entry.before, after=entry.after,
    )  # fmt: skip
    _tamper(lims, f"UPDATE audit_log SET operator = 'eve', hash = '{forged}' WHERE seq = 3")
    result = lims.verify_audit()
    assert result.first_bad_seq == 4


def test_audit_entries_from_concurrent_writers_form_one_chain(lims: LimsStore) -> None:
    import threading

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(5):
                lims.register_sample(f"type{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = lims.verify_audit()
    assert result.ok and result.entries_checked == 20
    with lims.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM samples")).scalar_one() == 20
