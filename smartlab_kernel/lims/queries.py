"""Read-only queries on an open connection, shared by the store and transactions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from ._util import load_json
from .errors import UnknownItemError, UnknownSampleError
from .lifecycle import SampleState, parse_state
from .records import InventoryItem, Lineage, RunRecord, Sample
from .schema import inventory_items, run_samples, runs, sample_parents, samples


def _parents_of(conn: sa.Connection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        rows = conn.execute(
            sa.select(sample_parents)
            .where(sample_parents.c.child_id.in_(chunk))
            .order_by(sample_parents.c.child_id, sample_parents.c.position)
        )
        for row in rows:
            found[row.child_id].append(row.parent_id)
    return {k: tuple(v) for k, v in found.items()}


def _samples_from_rows(conn: sa.Connection, rows: Iterable[Any]) -> list[Sample]:
    rows = list(rows)
    parents = _parents_of(conn, [r.sample_id for r in rows])
    return [
        Sample(
            sample_id=r.sample_id,
            sample_type=r.sample_type,
            state=SampleState(r.state),
            parents=parents[r.sample_id],
            location=r.location,
            metadata=load_json(r.metadata_json),
            campaign_id=r.campaign_id,
            created_at=r.created_at,
            created_by=r.created_by,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def get_sample(conn: sa.Connection, sample_id: str) -> Sample:
    """Return one sample; raise :class:`UnknownSampleError` if absent."""
    row = conn.execute(sa.select(samples).where(samples.c.sample_id == sample_id)).first()
    if row is None:
        raise UnknownSampleError(sample_id)
    return _samples_from_rows(conn, [row])[0]


def get_samples(conn: sa.Connection, sample_ids: Iterable[str]) -> list[Sample]:
    """Return the samples with these ids, sorted by id (absent ids are skipped)."""
    ids = sorted(set(sample_ids))
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows.extend(conn.execute(sa.select(samples).where(samples.c.sample_id.in_(chunk))))
    rows.sort(key=lambda r: r.sample_id)
    return _samples_from_rows(conn, rows)


def find_samples(
    conn: sa.Connection,
    *,
    id_contains: str | None = None,
    sample_type: str | None = None,
    state: str | SampleState | None = None,
    campaign_id: str | None = None,
    limit: int | None = None,
) -> list[Sample]:
    """Return samples matching every given filter, newest first."""
    query = sa.select(samples)
    if id_contains:
        query = query.where(samples.c.sample_id.contains(id_contains.strip(), autoescape=True))
    if sample_type:
        query = query.where(samples.c.sample_type == sample_type)
    if state:
        query = query.where(samples.c.state == parse_state(state).value)
    if campaign_id:
        query = query.where(samples.c.campaign_id == campaign_id)
    query = query.order_by(samples.c.created_at.desc(), samples.c.sample_id)
    if limit is not None:
        query = query.limit(limit)
    return _samples_from_rows(conn, conn.execute(query))


def lineage(conn: sa.Connection, sample_id: str) -> Lineage:
    """Return the ancestors and descendants of a sample (walked level by level)."""
    get_sample(conn, sample_id)
    parents: dict[str, tuple[str, ...]] = {}
    frontier = [sample_id]
    while frontier:
        found = _parents_of(conn, frontier)
        parents.update(found)
        frontier = sorted({p for ps in found.values() for p in ps if p not in parents})
    children: dict[str, tuple[str, ...]] = {}
    frontier = [sample_id]
    while frontier:
        rows = conn.execute(
            sa.select(sample_parents.c.parent_id, sample_parents.c.child_id)
            .where(sample_parents.c.parent_id.in_(frontier))
            .order_by(sample_parents.c.parent_id, sample_parents.c.child_id)
        ).all()
        level: dict[str, list[str]] = {p: [] for p in frontier}
        for row in rows:
            level[row.parent_id].append(row.child_id)
        children.update({k: tuple(v) for k, v in level.items()})
        frontier = sorted({c for cs in level.values() for c in cs if c not in children})
    return Lineage(sample_id=sample_id, parents=parents, children=children)


def _runs_from_rows(conn: sa.Connection, rows: Iterable[Any]) -> list[RunRecord]:
    rows = list(rows)
    links: dict[str, list[str]] = {r.run_uid: [] for r in rows}
    if links:
        for link in conn.execute(
            sa.select(run_samples)
            .where(run_samples.c.run_uid.in_(list(links)))
            .order_by(run_samples.c.run_uid, run_samples.c.position)
        ):
            links[link.run_uid].append(link.sample_id)
    return [
        RunRecord(
            run_uid=r.run_uid,
            sample_ids=tuple(links[r.run_uid]),
            campaign_id=r.campaign_id,
            metadata=load_json(r.metadata_json),
            recorded_at=r.recorded_at,
            recorded_by=r.recorded_by,
        )
        for r in rows
    ]


def get_run(conn: sa.Connection, run_uid: str) -> RunRecord | None:
    """Return the run with this uid, or None."""
    rows = conn.execute(sa.select(runs).where(runs.c.run_uid == run_uid)).all()
    found = _runs_from_rows(conn, rows)
    return found[0] if found else None


def runs_of_sample(conn: sa.Connection, sample_id: str) -> list[RunRecord]:
    """Return every run that touched a sample, oldest first."""
    get_sample(conn, sample_id)
    linked = sa.select(run_samples.c.run_uid).where(run_samples.c.sample_id == sample_id)
    query = sa.select(runs).where(runs.c.run_uid.in_(linked))
    return _runs_from_rows(conn, conn.execute(query.order_by(runs.c.recorded_at, runs.c.run_uid)))


def runs_of_campaign(conn: sa.Connection, campaign_id: str) -> list[RunRecord]:
    """Return every run of a campaign, oldest first."""
    query = sa.select(runs).where(runs.c.campaign_id == campaign_id)
    return _runs_from_rows(conn, conn.execute(query.order_by(runs.c.recorded_at, runs.c.run_uid)))


def samples_of_campaign(conn: sa.Connection, campaign_id: str) -> list[Sample]:
    """Return samples registered for a campaign or touched by one of its runs, by id."""
    in_runs = (
        sa.select(run_samples.c.sample_id)
        .join(runs, runs.c.run_uid == run_samples.c.run_uid)
        .where(runs.c.campaign_id == campaign_id)
    )
    query = sa.select(samples).where(
        sa.or_(samples.c.campaign_id == campaign_id, samples.c.sample_id.in_(in_runs))
    )
    return _samples_from_rows(conn, conn.execute(query.order_by(samples.c.sample_id)))


def _item_from_row(row: Any) -> InventoryItem:
    return InventoryItem(
        name=row.name,
        kind=row.kind,
        amount=row.amount,
        units=row.units,
        low_threshold=row.low_threshold,
        sample_id=row.sample_id,
        metadata=load_json(row.metadata_json),
    )


def list_items(conn: sa.Connection) -> list[InventoryItem]:
    """Return every inventory item, by name."""
    rows = conn.execute(sa.select(inventory_items).order_by(inventory_items.c.name))
    return [_item_from_row(r) for r in rows]


def get_item(conn: sa.Connection, name: str) -> InventoryItem:
    """Return one inventory item; raise :class:`UnknownItemError` if absent."""
    row = conn.execute(sa.select(inventory_items).where(inventory_items.c.name == name)).first()
    if row is None:
        known = conn.execute(sa.select(inventory_items.c.name)).scalars().all()
        raise UnknownItemError(name, known)
    return _item_from_row(row)


def unfinished_runs(conn: sa.Connection) -> list[RunRecord]:
    """Return the runs recorded at their start whose end is not recorded, oldest first.

    Such a run has ``"exit_status": null`` in its metadata (canonical JSON,
    so the text match is exact).
    """
    query = sa.select(runs).where(
        runs.c.metadata_json.contains('"exit_status":null', autoescape=True)
    )
    found = _runs_from_rows(conn, conn.execute(query.order_by(runs.c.recorded_at, runs.c.run_uid)))
    return [r for r in found if "exit_status" in r.metadata and r.metadata["exit_status"] is None]
