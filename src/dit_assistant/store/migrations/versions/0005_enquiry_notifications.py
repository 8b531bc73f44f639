"""Enquiry notifications: whether staff were told of each enquiry, by email and by webhook.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enquiry_notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "enquiry_id",
            sa.Integer(),
            sa.ForeignKey("enquiries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "target IN ('email', 'webhook')", name="ck_enquiry_notifications_target"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name="ck_enquiry_notifications_state"
        ),
        sa.UniqueConstraint("enquiry_id", "target", name="uq_enquiry_notifications_target"),
    )
    op.create_index("ix_enquiry_notifications_state", "enquiry_notifications", ["state"])
    op.create_index(
        "ix_enquiry_notifications_next_attempt_at", "enquiry_notifications", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_enquiry_notifications_next_attempt_at", table_name="enquiry_notifications")
    op.drop_index("ix_enquiry_notifications_state", table_name="enquiry_notifications")
    op.drop_table("enquiry_notifications")
