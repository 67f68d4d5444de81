"""run service: the run.json of a job's session, so a worker on another machine can resume it

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_jobs", sa.Column("run_info_json", sa.Text))


def downgrade() -> None:
    op.drop_column("run_jobs", "run_info_json")
