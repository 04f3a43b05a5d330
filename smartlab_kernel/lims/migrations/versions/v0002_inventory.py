"""Inventory: stock solutions and consumables, and the usage ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create inventory_items and inventory_usage."""
    op.create_table(
        "inventory_items",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("units", sa.String(64), nullable=False),
        sa.Column("low_threshold", sa.Float, nullable=True),
        sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False),
    )
    op.create_table(
        "inventory_usage",
        sa.Column("usage_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_name", sa.String(128), sa.ForeignKey("inventory_items.name"), nullable=False
        ),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("units", sa.String(64), nullable=False),
        sa.Column("sample_id", sa.String(64), sa.ForeignKey("samples.sample_id"), nullable=True),
        sa.Column("run_uid", sa.String(128), nullable=True),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_inventory_usage_run_uid", "inventory_usage", ["run_uid"])
    op.create_index("ix_inventory_usage_sample_id", "inventory_usage", ["sample_id"])


def downgrade() -> None:
    """Drop the inventory tables."""
    op.drop_table("inventory_usage")
    op.drop_table("inventory_items")
