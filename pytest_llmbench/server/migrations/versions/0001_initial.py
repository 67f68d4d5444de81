"""runs, items, ingest batches and API keys

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(40)),
        sa.Column("started_at", sa.Float, index=True),
        sa.Column("finished_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("suites", sa.Text, nullable=False),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("targets", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("annotation", sa.Text),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("info_json", sa.Text, nullable=False),
        sa.Column("compare_json", sa.Text),
        sa.Column("summary_json", sa.Text),
        sa.Column("summary_stale", sa.Boolean, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("nodeid", sa.Text, nullable=False),
        sa.Column("suite", sa.String(300), nullable=False),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("target", sa.String(300)),
        sa.Column("variant", sa.String(300)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("latency_s", sa.Float),
        sa.Column("cost_usd", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint("run_pk", "nodeid", name="uq_items_run_nodeid"),
    )
    op.create_index("ix_items_run_outcome", "items", ["run_pk", "outcome"])
    op.create_index("ix_items_run_model", "items", ["run_pk", "model"])
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("batch_index", sa.Integer),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("stored", sa.Integer, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )


def downgrade() -> None:
    for table in ("api_keys", "ingest_batches", "items", "runs"):
        op.drop_table(table)
