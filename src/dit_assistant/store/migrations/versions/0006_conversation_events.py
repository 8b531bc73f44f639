"""Conversations (Rasa's tracker store): one row per event, its content encrypted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("intent_name", sa.String(255), nullable=True),
        sa.Column("action_name", sa.String(255), nullable=True),
        sa.Column("data_token", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_conversation_events_sender_id_timestamp",
        "conversation_events",
        ["sender_id", "timestamp"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_events_sender_id_timestamp", table_name="conversation_events")
    op.drop_table("conversation_events")
