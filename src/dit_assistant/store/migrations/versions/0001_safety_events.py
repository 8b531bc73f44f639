"""Safety events: one row per safety route, without personal data.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(40), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
    )
    op.create_index("ix_safety_events_route", "safety_events", ["route"])


def downgrade() -> None:
    op.drop_index("ix_safety_events_route", table_name="safety_events")
    op.drop_table("safety_events")
