"""Unanswered questions: scrubbed, encrypted, unlinked from the person, for staff review.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("reply", sa.String(16), nullable=False),
        sa.Column("nearest_intent", sa.String(60), nullable=True),
        sa.Column("text_token", sa.Text(), nullable=False),
        sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("covered_by", sa.String(80), nullable=True),
        sa.CheckConstraint(
            "reply IN ('default', 'out_of_scope')", name="ck_unanswered_questions_reply"
        ),
    )
    op.create_index("ix_unanswered_questions_received_on", "unanswered_questions", ["received_on"])


def downgrade() -> None:
    op.drop_index("ix_unanswered_questions_received_on", table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
