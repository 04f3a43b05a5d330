"""Samples, their parents, runs and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_APPEND_ONLY_MESSAGE = "audit_log is append-only"

_POSTGRES_TRIGGER = f"""
CREATE FUNCTION lims_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lims_audit_log_append_only();
"""


def upgrade() -> None:
    """Create samples, sample_parents, runs, run_samples and audit_log."""
    op.create_table(
        "samples",
        sa.Column("sample_id", sa.String(64), primary_key=True),
        sa.Column("sample_type", sa.String(128), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("location", sa.String(256), nullable=True),
        sa.Column("campaign_id", sa.String(128), nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_samples_sample_type", "samples", ["sample_type"])
    op.create_index("ix_samples_state", "samples", ["state"])
    op.create_index("ix_samples_campaign_id", "samples", ["campaign_id"])
    op.create_table(
        "sample_parents",
        sa.Column("child_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("parent_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_sample_parents_parent_id", "sample_parents", ["parent_id"])
    op.create_table(
        "runs",
        sa.Column("run_uid", sa.String(128), primary_key=True),
        sa.Column("campaign_id", sa.String(128), nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_runs_campaign_id", "runs", ["campaign_id"])
    op.create_table(
        "run_samples",
        sa.Column("run_uid", sa.String(128), sa.ForeignKey("runs.run_uid"), primary_key=True),
        sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_run_samples_sample_id", "run_samples", ["sample_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(256), nullable=False),
        sa.Column("before_json", sa.Text, nullable=False),
        sa.Column("after_json", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_POSTGRES_TRIGGER)
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    """Drop the tables of this revision (and the audit trail with them)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS lims_audit_log_append_only()")
    for table in ("audit_log", "run_samples", "runs", "sample_parents", "samples"):
        op.drop_table(table)
