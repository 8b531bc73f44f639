"""Enquiries with encrypted personal data, staff notes, staff accounts and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "enquiries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("submission_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("contact_method", sa.String(8), nullable=False),
        sa.Column("name_token", sa.Text(), nullable=False),
        sa.Column("contact_detail_token", sa.Text(), nullable=False),
        sa.Column("best_times_token", sa.Text(), nullable=True),
        sa.Column("help_with_token", sa.Text(), nullable=True),
        _timestamp("consent_at"),
        sa.Column("privacy_notice_version", sa.String(40), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("status_changed_at"),
        sa.UniqueConstraint("reference", name="uq_enquiries_reference"),
        sa.UniqueConstraint("submission_id", name="uq_enquiries_submission_id"),
        sa.CheckConstraint("status IN ('new', 'contacted', 'closed')", name="ck_enquiries_status"),
        sa.CheckConstraint(
            "contact_method IN ('phone', 'email', 'text')", name="ck_enquiries_contact_method"
        ),
    )
    op.create_index("ix_enquiries_status", "enquiries", ["status"])
    op.create_index("ix_enquiries_created_at", "enquiries", ["created_at"])

    op.create_table(
        "enquiry_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "enquiry_id",
            sa.Integer(),
            sa.ForeignKey("enquiries.id", ondelete="CASCADE", name="fk_enquiry_notes_enquiry"),
            nullable=False,
        ),
        _timestamp("created_at"),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("body_token", sa.Text(), nullable=False),
    )
    op.create_index("ix_enquiry_notes_enquiry_id", "enquiry_notes", ["enquiry_id"])

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_login_at", nullable=True),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        _timestamp("occurred_at"),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(16), nullable=True),
        sa.Column("staff_user", sa.String(80), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_reference", "audit_events", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_reference", table_name="audit_events")
    op.drop_index("ix_audit_events_occurred_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("staff_users")
    op.drop_index("ix_enquiry_notes_enquiry_id", table_name="enquiry_notes")
    op.drop_table("enquiry_notes")
    op.drop_index("ix_enquiries_created_at", table_name="enquiries")
    op.drop_index("ix_enquiries_status", table_name="enquiries")
    op.drop_table("enquiries")
