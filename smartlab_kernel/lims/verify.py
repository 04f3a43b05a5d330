"""Full audit verification: the chain, its anchored heads, and the state it implies.

The chain alone (:func:`~smartlab_kernel.lims.audit.verify_chain`) shows
edits of the log. :func:`verify_store` also shows:

* **truncation**: the newest entries deleted, against heads recorded outside
  the table (the head file, run start documents, ``--anchor``; see
  :mod:`smartlab_kernel.lims.anchor`), naming the missing ``seq`` range;
* **a rewritten chain**: an anchored head whose ``seq`` holds another hash;
* **edits of derived state**: the inventory, its usage ledger, the samples
  and the runs are replayed from the log (each entry's ``after`` is the
  row's state after the change, each ``consume`` entry has one usage row)
  and every row that disagrees is named with the logged and stored values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import queries
from ._util import load_json
from .anchor import AuditHead, read_heads
from .audit import AuditVerification, ChainWalker, iter_entries
from .records import AuditEntry
from .schema import inventory_usage, runs, samples

_ITEM_FIELDS = ("kind", "units", "low_threshold", "sample_id", "metadata")
_SAMPLE_FIELDS = ("sample_type", "state", "parents", "location", "metadata", "campaign_id")


@dataclass(frozen=True)
class AmountMismatch:
    """An inventory row whose stored amount is not what the audit log gives.

    Attributes:
        item: The item's name.
        expected: Amount after the item's last audit entry (``None``: never added).
        stored: Amount in ``inventory_items`` (``None``: the row is missing).
        units: The item's units.
    """

    item: str
    expected: float | None
    stored: float | None
    units: str

    def __str__(self) -> str:
        if self.stored is None:
            return (
                f"inventory item {self.item!r}: the audit log gives {self.expected:g} "
                f"{self.units}, the table has no such row"
            )
        if self.expected is None:
            return (
                f"inventory item {self.item!r}: the table holds {self.stored:g} {self.units}, "
                "the audit log never added it"
            )
        return (
            f"inventory item {self.item!r}: the audit log gives {self.expected:g} {self.units}, "
            f"the table holds {self.stored:g} {self.units}"
        )


@dataclass(frozen=True)
class UsageMismatch:
    """A usage row missing, extra or different from the ``consume`` entry it records.

    Attributes:
        audit_seq: The ``consume`` entry (``None`` for a row pointing at no entry).
        item: The item consumed.
        amount: How much, in ``units``.
        units: The item's units.
        problem: ``"missing"``, ``"extra"`` or ``"differs"``.
        detail: What differs, for ``"differs"`` and ``"extra"``.
        sample_id: The sample it went into, per the log (or the row for an extra one).
        run_uid: The run that used it, likewise.
    """

    audit_seq: int | None
    item: str
    amount: float
    units: str
    problem: str
    detail: str = ""
    sample_id: str | None = None
    run_uid: str | None = None

    def __str__(self) -> str:
        what = f"{self.amount:g} {self.units} of {self.item!r}"
        if self.sample_id:
            what += f" for sample {self.sample_id}"
        if self.run_uid:
            what += f", run {self.run_uid}"
        if self.problem == "missing":
            return f"usage row of audit seq {self.audit_seq} is missing: {what}"
        if self.problem == "extra":
            return f"usage row ({what}) is not in the audit log: {self.detail}"
        return f"usage row of audit seq {self.audit_seq} differs from the log: {self.detail}"


@dataclass(frozen=True)
class AuditReport:
    """Everything :func:`verify_store` found; truthy when nothing is wrong.

    Attributes:
        chain: The hash chain's own verification.
        head_seq: ``seq`` of the newest entry in the table (0 when empty).
        anchors_checked: How many recorded heads were compared with the table.
        missing_at_end: ``(first, last)`` seqs that anchored heads prove were
            deleted from the end of the table, if any.
        anchor_problems: Anchored heads the table contradicts, head files
            that are missing or unreadable, in words.
        inventory: Inventory rows whose amount disagrees with the log.
        usage: Usage rows missing, extra or different from the log.
        rows: Other rows (inventory fields, samples, runs) that disagree, in words.
        unanchored: No head anchor at all was available (no head file, no
            anchors given): deleting the newest entries cannot be detected.
    """

    chain: AuditVerification
    head_seq: int = 0
    anchors_checked: int = 0
    missing_at_end: tuple[int, int] | None = None
    anchor_problems: tuple[str, ...] = ()
    inventory: tuple[AmountMismatch, ...] = ()
    usage: tuple[UsageMismatch, ...] = ()
    rows: tuple[str, ...] = ()
    unanchored: bool = False

    @property
    def problems(self) -> list[str]:
        """Every problem found besides a broken chain, one line each."""
        return [
            *self.anchor_problems,
            *(str(m) for m in self.inventory),
            *(str(u) for u in self.usage),
            *self.rows,
        ]

    @property
    def ok(self) -> bool:
        """True when the chain, its anchors and every replayed row check out."""
        return self.chain.ok and not self.problems

    @property
    def entries_checked(self) -> int:
        """Entries read by the chain check."""
        return self.chain.entries_checked

    @property
    def first_bad_seq(self) -> int | None:
        """``seq`` of the first entry that broke the chain, if any."""
        return self.chain.first_bad_seq

    @property
    def reason(self) -> str:
        """Why the chain broke, or ``"intact"``."""
        return self.chain.reason

    @property
    def head_hash(self) -> str:
        """Hash of the last good entry (publish it, e.g. in a paper, as another anchor)."""
        return self.chain.head_hash

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        problems = self.problems
        if self.ok:
            text = str(self.chain)
            if self.anchors_checked:
                text += f" (checked against {self.anchors_checked} recorded heads)"
            if self.unanchored:
                text += (
                    "\nnote: no head anchor (head file or --anchor) was given, so deleting the "
                    "newest entries cannot be detected"
                )
            return text
        lines = [str(self.chain)] if not self.chain.ok else []
        if problems and self.chain.ok:
            lines.append(
                f"audit trail NOT intact: {len(problems)} problem(s) (the hash chain of "
                f"{self.chain.entries_checked} entries is valid on its own)"
            )
        lines += [f"  - {p}" for p in problems]
        return "\n".join(lines)


@dataclass
class _Replay:
    """State of the tables as the audit log says it must be."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: dict[int, dict[str, Any]] = field(default_factory=dict)
    log_problems: list[str] = field(default_factory=list)

    def apply(self, entry: AuditEntry) -> None:
        kind, _, key = entry.entity.partition(":")
        after = entry.after if isinstance(entry.after, dict) else {}
        if kind == "item" and "amount" in after:
            previous = self.items.get(key)
            before = entry.before if isinstance(entry.before, dict) else None
            if (
                previous is not None
                and before is not None
                and not _close(before.get("amount"), previous.get("amount"))
            ):
                self.log_problems.append(
                    f"audit entry {entry.seq} ({entry.action} of {key!r}) starts from "
                    f"{before.get('amount')!r}, the entry before left "
                    f"{previous.get('amount')!r}"
                )
            state = {k: after.get(k) for k in ("name", "amount", *_ITEM_FIELDS)}
            if entry.action == "consume" and before is not None:
                # a consume entry's "sample_id" is the sample the stock went into
                state["sample_id"] = before.get("sample_id")
            self.items[key] = state
            if entry.action == "consume":
                self.usage[entry.seq] = {
                    "item": key,
                    "amount": after.get("consumed"),
                    "units": after.get("units"),
                    "sample_id": after.get("sample_id"),
                    "run_uid": after.get("run_uid"),
                }
        elif kind == "sample" and "state" in after:
            self.samples[key] = dict(after)
        elif kind == "run" and "metadata" in after:
            self.runs[key] = {**self.runs.get(key, {}), **after}


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def verify_store(
    conn: sa.Connection,
    head_files: Sequence[Path] = (),
    anchors: Iterable[tuple[str, AuditHead]] = (),
) -> AuditReport:
    """Verify the chain, its anchored heads and the tables it implies.

    Args:
        conn: A connection to the LIMS database.
        head_files: Head files to check (a missing one with a non-empty log is a problem).
        anchors: ``(where it was recorded, head)`` pairs, e.g. from run start documents.

    Returns:
        The report; its ``str`` names every problem.
    """
    anchor_problems: list[str] = []
    by_seq: dict[int, list[tuple[str, AuditHead]]] = {}
    for source, head in anchors:
        by_seq.setdefault(head.seq, []).append((source, head))
    for path in head_files:
        try:
            heads, bad = read_heads(path)
        except FileNotFoundError:
            anchor_problems.append(f"no audit head file at {path}")
            continue
        except OSError as exc:
            anchor_problems.append(f"cannot read the audit head file {path}: {exc}")
            continue
        anchor_problems += bad
        for head in heads:
            by_seq.setdefault(head.seq, []).append((f"head file {path}", head))

    stored_items = {item.name: item for item in queries.list_items(conn)}
    stored_samples = {
        s.sample_id: s
        for s in queries._samples_from_rows(conn, conn.execute(sa.select(samples)).all())
    }
    stored_runs = {r.run_uid: load_json(r.metadata_json) for r in conn.execute(sa.select(runs))}
    usage_rows = list(conn.execute(sa.select(inventory_usage)))

    walker, replay = ChainWalker(), _Replay()
    last_seq, checked_anchors = 0, 0
    for entry in iter_entries(conn):
        walker.feed(entry)
        replay.apply(entry)
        last_seq = max(last_seq, entry.seq)
        for source, head in by_seq.get(entry.seq, ()):
            checked_anchors += 1
            if head.hash != entry.hash:
                anchor_problems.append(
                    f"audit entry {entry.seq} does not match the head anchored elsewhere "
                    f"({head.hash[:12]}... in {source}): the trail was rewritten at or before "
                    "that entry"
                )
    missing = _missing_at_end(last_seq, by_seq)
    if missing is not None:
        first, last = missing
        source, head = by_seq[last][0]
        span = f"audit entries {first} to {last} are" if last > first else f"audit entry {last} is"
        anchor_problems.insert(
            0,
            f"{span} missing at the end: {source} records seq {head.seq} "
            f"({head.hash[:12]}...), the table ends at seq {last_seq}",
        )
        checked_anchors += sum(len(v) for k, v in by_seq.items() if k > last_seq)
    if last_seq == 0:  # an empty log: nothing to miss from a head file never written
        anchor_problems = [p for p in anchor_problems if not p.startswith("no audit head file")]
    return AuditReport(
        chain=walker.result(),
        head_seq=last_seq,
        anchors_checked=checked_anchors,
        missing_at_end=missing,
        anchor_problems=tuple(anchor_problems),
        inventory=tuple(_inventory_mismatches(replay, stored_items)),
        usage=tuple(_usage_mismatches(replay, usage_rows)),
        rows=tuple(
            replay.log_problems
            + _item_field_problems(replay, stored_items)
            + _sample_problems(replay, stored_samples)
            + _run_problems(replay, stored_runs)
        ),
        unanchored=not head_files and not by_seq,
    )


def _missing_at_end(
    last_seq: int, by_seq: Mapping[int, list[tuple[str, AuditHead]]]
) -> tuple[int, int] | None:
    beyond = [seq for seq in by_seq if seq > last_seq]
    return (last_seq + 1, max(beyond)) if beyond else None


def _inventory_mismatches(replay: _Replay, stored: Mapping[str, Any]) -> list[AmountMismatch]:
    found = []
    for name in sorted(set(replay.items) | set(stored)):
        logged, row = replay.items.get(name), stored.get(name)
        if logged is not None and row is not None:
            if not _close(logged.get("amount"), row.amount):
                found.append(AmountMismatch(name, logged["amount"], row.amount, row.units))
        elif logged is not None:
            found.append(AmountMismatch(name, logged["amount"], None, str(logged.get("units"))))
        elif row is not None:
            found.append(AmountMismatch(name, None, row.amount, row.units))
    return found


def _item_field_problems(replay: _Replay, stored: Mapping[str, Any]) -> list[str]:
    found = []
    for name in sorted(set(replay.items) & set(stored)):
        row = stored[name].to_dict()
        for key in _ITEM_FIELDS:
            if not _close(row.get(key), replay.items[name].get(key)):
                found.append(
                    f"inventory item {name!r}: {key} is {row.get(key)!r}, the audit log gives "
                    f"{replay.items[name].get(key)!r}"
                )
    return found


def _usage_mismatches(replay: _Replay, rows: Sequence[Any]) -> list[UsageMismatch]:
    found = []
    by_seq: dict[int, list[Any]] = {}
    for row in rows:
        by_seq.setdefault(int(row.audit_seq), []).append(row)
    for seq, logged in sorted(replay.usage.items()):
        matching = by_seq.pop(seq, [])
        if not matching:
            found.append(
                UsageMismatch(
                    seq,
                    str(logged["item"]),
                    float(logged["amount"]),
                    str(logged["units"]),
                    "missing",
                    sample_id=logged["sample_id"],
                    run_uid=logged["run_uid"],
                )
            )
            continue
        row, extra = matching[0], matching[1:]
        differences = [
            f"{key} is {getattr(row, column)!r}, the audit log gives {logged[key]!r}"
            for key, column in (
                ("item", "item_name"),
                ("amount", "amount"),
                ("units", "units"),
                ("sample_id", "sample_id"),
                ("run_uid", "run_uid"),
            )
            if not _close(getattr(row, column), logged[key])
        ]
        if differences:
            found.append(
                UsageMismatch(
                    seq,
                    str(logged["item"]),
                    float(logged["amount"]),
                    str(logged["units"]),
                    "differs",
                    "; ".join(differences),
                    logged["sample_id"],
                    logged["run_uid"],
                )
            )
        by_seq.setdefault(seq, []).extend(extra)  # a duplicate row is an extra one
    for seq, leftover in sorted(by_seq.items()):
        for row in leftover:
            found.append(
                UsageMismatch(
                    seq,
                    str(row.item_name),
                    float(row.amount),
                    str(row.units),
                    "extra",
                    f"usage row {row.usage_id} points at audit seq {seq}, which is not a "
                    "consume entry, or another row records that consume",
                    row.sample_id,
                    row.run_uid,
                )
            )
    return found


def _sample_problems(replay: _Replay, stored: Mapping[str, Any]) -> list[str]:
    found = []
    for sample_id in sorted(set(replay.samples) | set(stored)):
        logged, row = replay.samples.get(sample_id), stored.get(sample_id)
        if row is None:
            found.append(f"sample {sample_id} is in the audit log but not in the samples table")
        elif logged is None:
            found.append(
                f"sample {sample_id} is in the samples table but the audit log never registered it"
            )
        else:
            current = row.to_dict()
            for key in _SAMPLE_FIELDS:
                if current.get(key) != logged.get(key):
                    found.append(
                        f"sample {sample_id}: {key} is {current.get(key)!r}, the audit log gives "
                        f"{logged.get(key)!r}"
                    )
    return found


def _run_problems(replay: _Replay, stored: Mapping[str, Any]) -> list[str]:
    found = []
    for run_uid in sorted(set(replay.runs) | set(stored)):
        logged, metadata = replay.runs.get(run_uid), stored.get(run_uid)
        if metadata is None:
            found.append(f"run {run_uid} is in the audit log but not in the runs table")
        elif logged is None:
            found.append(f"run {run_uid} is in the runs table but the audit log never recorded it")
        elif metadata != logged.get("metadata"):
            found.append(
                f"run {run_uid}: metadata is {metadata!r}, the audit log gives "
                f"{logged.get('metadata')!r}"
            )
    return found
