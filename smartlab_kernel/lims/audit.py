"""The append-only audit trail, hash-chained so tampering is detectable.

Each entry's ``hash`` is ``sha256(prev_hash + canonical JSON of the entry)``
where the entry is ``{seq, at, operator, action, entity, before, after}``.
Changing, inserting or deleting any entry breaks the chain at that entry.
Deleting the newest entries is only visible against a head recorded outside
the table (see :mod:`smartlab_kernel.lims.anchor` and
:mod:`smartlab_kernel.lims.verify`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ._util import canonical_json, load_json, utc_now
from .records import AuditEntry
from .schema import audit_log

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: str,
    operator: str,
    action: str,
    entity: str,
    before: Any,
    after: Any,
) -> str:
    """Return the chain hash of one entry.

    Args:
        prev_hash: Hash of the previous entry (:data:`GENESIS_HASH` for seq 1).
        seq: Position in the chain.
        at: UTC ISO time.
        operator: Who.
        action: What.
        entity: On what.
        before: JSON state before.
        after: JSON state after.

    Returns:
        64 hex characters of ``sha256(prev_hash + canonical_json(entry))``.
    """
    body = {
        "seq": seq,
        "at": at,
        "operator": operator,
        "action": action,
        "entity": entity,
        "before": before,
        "after": after,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append_entry(
    conn: sa.Connection, *, operator: str, action: str, entity: str, before: Any, after: Any
) -> AuditEntry:
    """Append one entry to the audit trail inside the caller's transaction.

    The caller holds the write lock (see ``LimsStore.transaction``), so
    reading the head and inserting the next entry cannot interleave.

    Returns:
        The entry written.
    """
    head = conn.execute(
        sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head is not None else (1, GENESIS_HASH)
    at = utc_now()
    before_json, after_json = canonical_json(before), canonical_json(after)
    # Hash what will be read back, so verification sees exactly these values.
    before_v, after_v = load_json(before_json), load_json(after_json)
    digest = entry_hash(
        prev_hash,
        seq=seq,
        at=at,
        operator=operator,
        action=action,
        entity=entity,
        before=before_v,
        after=after_v,
    )
    conn.execute(
        audit_log.insert().values(
            seq=seq,
            at=at,
            operator=operator,
            action=action,
            entity=entity,
            before_json=before_json,
            after_json=after_json,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return AuditEntry(seq, at, operator, action, entity, before_v, after_v, prev_hash, digest)


def iter_entries(
    conn: sa.Connection, entity: str | None = None, batch_size: int = 1000
) -> Iterator[AuditEntry]:
    """Yield audit entries in chain order, optionally only those about ``entity``."""
    query = sa.select(audit_log).order_by(audit_log.c.seq)
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    result = conn.execution_options(yield_per=batch_size).execute(query)
    for row in result:
        yield AuditEntry(
            seq=row.seq,
            at=row.at,
            operator=row.operator,
            action=row.action,
            entity=row.entity,
            before=load_json(row.before_json),
            after=load_json(row.after_json),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@dataclass(frozen=True)
class AuditVerification:
    """Result of checking the audit hash chain.

    Truthy when the chain is intact.

    Attributes:
        ok: True when every entry checked out.
        entries_checked: Number of entries read.
        first_bad_seq: ``seq`` of the first entry that failed, if any.
        reason: What failed, or ``"intact"``.
        head_hash: Hash of the last good entry (publish it to detect truncation).
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None
    reason: str
    head_hash: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.entries_checked} entries, head {self.head_hash}"
        return f"audit trail broken at seq {self.first_bad_seq}: {self.reason}"


class ChainWalker:
    """Checks the chain one entry at a time, from the first (see :func:`verify_chain`).

    Feed it every entry in ``seq`` order; after the first bad one it ignores
    the rest. :meth:`result` says how far the chain is intact.
    """

    def __init__(self) -> None:
        self._prev_hash = GENESIS_HASH
        self._expected_seq = 1
        self._checked = 0
        self._broken: AuditVerification | None = None

    @property
    def broken(self) -> bool:
        """True once a bad entry was fed."""
        return self._broken is not None

    def feed(self, entry: AuditEntry) -> bool:
        """Check the next entry; return whether the chain is still intact."""
        if self._broken is not None:
            return False
        self._checked += 1
        problem = _entry_problem(entry, self._expected_seq, self._prev_hash)
        if problem is not None:
            bad_seq = self._expected_seq if entry.seq != self._expected_seq else entry.seq
            self._broken = AuditVerification(
                False, self._checked, bad_seq, problem, self._prev_hash
            )
            return False
        self._prev_hash, self._expected_seq = entry.hash, self._expected_seq + 1
        return True

    def result(self) -> AuditVerification:
        """The verification so far: the first bad entry, or intact."""
        if self._broken is not None:
            return self._broken
        return AuditVerification(True, self._checked, None, "intact", self._prev_hash)


def verify_chain(entries: Iterable[AuditEntry]) -> AuditVerification:
    """Check a full chain of entries, in ``seq`` order, from the first.

    Args:
        entries: Every entry of the trail, in order.

    Returns:
        The verification result naming the first bad entry, if any.
    """
    walker = ChainWalker()
    for entry in entries:
        if not walker.feed(entry):
            break
    return walker.result()


def _entry_problem(entry: AuditEntry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"expected seq {expected_seq}, found {entry.seq} (entries missing)"
    if entry.prev_hash != prev_hash:
        return "prev_hash does not match the previous entry's hash"
    recomputed = entry_hash(
        prev_hash,
        seq=entry.seq,
        at=entry.at,
        operator=entry.operator,
        action=entry.action,
        entity=entry.entity,
        before=entry.before,
        after=entry.after,
    )
    if recomputed != entry.hash:
        return "hash mismatch: the entry was modified after it was written"
    return None
