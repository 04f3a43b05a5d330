"""Export a campaign for publication: CSV + Parquet tables and an RO-Crate manifest.

The crate holds one table per concept (samples, lineage, runs, run_samples,
inventory_usage, audit) plus any tables the caller adds (planner decisions,
environment, run results), each as ``<name>.csv`` and ``<name>.parquet``,
described by ``ro-crate-metadata.json`` (RO-Crate 1.1).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from . import queries
from ._util import canonical_json
from .audit import iter_entries
from .schema import inventory_usage

#: What each built-in table holds, used as its description in the manifest.
TABLE_DESCRIPTIONS: dict[str, str] = {
    "samples": "Samples of the campaign and their ancestors (in_campaign marks which).",
    "lineage": "Parent -> child edges between the exported samples.",
    "runs": "Runs of the campaign as recorded in the LIMS.",
    "run_samples": "Which run touched which sample.",
    "inventory_usage": "Stock consumed for the campaign's samples and runs.",
    "audit": "Audit entries about the exported samples, runs and their stock usage, "
    "with their hash-chain fields.",
}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def campaign_tables(conn: sa.Connection, campaign_id: str) -> dict[str, pd.DataFrame]:
    """Return the LIMS tables of a campaign as DataFrames (what the export writes).

    Args:
        conn: An open connection.
        campaign_id: The campaign.

    Returns:
        Table name -> DataFrame, for every name in :data:`TABLE_DESCRIPTIONS`.
    """
    members = {s.sample_id for s in queries.samples_of_campaign(conn, campaign_id)}
    wanted = set(members)
    for sample_id in members:
        wanted.update(queries.lineage(conn, sample_id).ancestors)
    exported = queries.get_samples(conn, wanted)
    run_records = queries.runs_of_campaign(conn, campaign_id)
    run_uids = {r.run_uid for r in run_records}
    sample_cols = [
        "sample_id",
        "sample_type",
        "state",
        "location",
        "campaign_id",
        "metadata",
        "created_at",
        "created_by",
        "updated_at",
        "in_campaign",
    ]
    samples = _frame(
        [
            {
                **{c: getattr(s, c, None) for c in sample_cols},
                "state": s.state.value,
                "metadata": canonical_json(dict(s.metadata)),
                "in_campaign": s.sample_id in members,
            }
            for s in exported
        ],
        sample_cols,
    )
    lineage = _frame(
        [
            {"child_id": s.sample_id, "parent_id": p, "position": i}
            for s in exported
            for i, p in enumerate(s.parents)
        ],
        ["child_id", "parent_id", "position"],
    )
    runs = _frame(
        [
            {
                "run_uid": r.run_uid,
                "campaign_id": r.campaign_id,
                "metadata": canonical_json(dict(r.metadata)),
                "recorded_at": r.recorded_at,
                "recorded_by": r.recorded_by,
            }
            for r in run_records
        ],
        ["run_uid", "campaign_id", "metadata", "recorded_at", "recorded_by"],
    )
    run_samples = _frame(
        [
            {"run_uid": r.run_uid, "sample_id": s, "position": i}
            for r in run_records
            for i, s in enumerate(r.sample_ids)
        ],
        ["run_uid", "sample_id", "position"],
    )
    usage_query = (
        sa.select(inventory_usage)
        .where(
            sa.or_(
                inventory_usage.c.sample_id.in_(sorted(members)),
                inventory_usage.c.run_uid.in_(sorted(run_uids)),
            )
        )
        .order_by(inventory_usage.c.usage_id)
    )
    usage_cols = [
        "usage_id",
        "item_name",
        "amount",
        "units",
        "sample_id",
        "run_uid",
        "operator",
        "at",
        "audit_seq",
    ]
    usage = _frame([dict(r._mapping) for r in conn.execute(usage_query)], usage_cols)
    entities = {f"sample:{s}" for s in wanted} | {f"run:{u}" for u in run_uids}
    usage_seqs = set(usage["audit_seq"].tolist())
    audit_cols = [
        "seq",
        "at",
        "operator",
        "action",
        "entity",
        "before",
        "after",
        "prev_hash",
        "hash",
    ]
    audit = _frame(
        [
            {
                **{c: getattr(e, c) for c in audit_cols},
                "before": canonical_json(e.before),
                "after": canonical_json(e.after),
            }
            for e in iter_entries(conn)
            if e.entity in entities or e.seq in usage_seqs
        ],
        audit_cols,
    )
    return {
        "samples": samples,
        "lineage": lineage,
        "runs": runs,
        "run_samples": run_samples,
        "inventory_usage": usage,
        "audit": audit,
    }
