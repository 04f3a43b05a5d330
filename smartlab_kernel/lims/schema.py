"""Table definitions of the LIMS database (SQLAlchemy Core).

These describe the schema at the newest migration; the migrations in
``migrations/versions`` create it and must be kept in step (a test compares
the two). JSON values are stored as canonical JSON text so they read back
byte for byte on every backend, which the audit hash chain relies on.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("sample_id", sa.String(64), primary_key=True),
    sa.Column("sample_type", sa.String(128), nullable=False, index=True),
    sa.Column("state", sa.String(32), nullable=False, index=True),
    sa.Column("location", sa.String(256), nullable=True),
    sa.Column("campaign_id", sa.String(128), nullable=True, index=True),
    sa.Column("metadata_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

sample_parents = sa.Table(
    "sample_parents",
    metadata,
    sa.Column("child_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("parent_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_sample_parents_parent_id", "parent_id"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_uid", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), nullable=True, index=True),
    sa.Column("metadata_json", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("recorded_by", sa.String(128), nullable=False),
)

run_samples = sa.Table(
    "run_samples",
    metadata,
    sa.Column("run_uid", sa.String(128), sa.ForeignKey("runs.run_uid"), primary_key=True),
    sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_run_samples_sample_id", "sample_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("operator", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(256), nullable=False, index=True),
    sa.Column("before_json", sa.Text, nullable=False),
    sa.Column("after_json", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

inventory_items = sa.Table(
    "inventory_items",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("units", sa.String(64), nullable=False),
    sa.Column("low_threshold", sa.Float, nullable=True),
    sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), nullable=True),
    sa.Column("metadata_json", sa.Text, nullable=False),
)

inventory_usage = sa.Table(
    "inventory_usage",
    metadata,
    sa.Column("usage_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_name", sa.String(128), sa.ForeignKey("inventory_items.name"), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("units", sa.String(64), nullable=False),
    sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), nullable=True),
    sa.Column("run_uid", sa.String(128), nullable=True, index=True),
    sa.Column("operator", sa.String(128), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("audit_seq", sa.Integer, nullable=False),
    sa.Index("ix_inventory_usage_sample_id", "sample_id"),
)
