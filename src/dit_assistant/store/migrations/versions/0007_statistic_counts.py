"""Statistics counted when things happen (``statistic_counts``), and when an enquiry was first
contacted.

The enquiry statistics that can be rebuilt are counted in from what the database already holds:
each enquiry received (from the audit log, so enquiries deleted since count too), its status
changes and deletions (audit log), priority and the wait for first contact (for the enquiries
still stored). Conversations, messages and answers are counted from this version on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from alembic import op

from dit_assistant.clinic_time import hour_start

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ENQUIRIES = sa.table(
    "enquiries",
    sa.column("id", sa.Integer()),
    sa.column("reference", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("priority", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("first_contacted_at", sa.DateTime(timezone=True)),
)
AUDIT = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("action", sa.String()),
    sa.column("reference", sa.String()),
    sa.column("detail", sa.String()),
)
COUNTS = sa.table(
    "statistic_counts",
    sa.column("period_start", sa.DateTime(timezone=True)),
    sa.column("kind", sa.String()),
    sa.column("name", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("count", sa.Integer()),
    sa.column("seconds", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "statistic_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=True),
    )
    op.create_index("ix_statistic_counts_period_start", "statistic_counts", ["period_start"])
    op.add_column("enquiries", sa.Column("first_contacted_at", sa.DateTime(timezone=True)))
    _count_what_is_stored(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("enquiries") as batch:
        batch.drop_column("first_contacted_at")
    op.drop_index("ix_statistic_counts_period_start", table_name="statistic_counts")
    op.drop_table("statistic_counts")


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _clinic_zone() -> tzinfo:
    try:
        from dit_assistant.settings import get_settings

        return get_settings().zone
    except Exception:  # noqa: BLE001 - a configuration error is reported by the app itself
        return timezone.utc


def _channel_in(detail: str | None) -> str:
    """The channel an audit row of a received enquiry names (``...; channel rest``)."""
    _, found, channel = (detail or "").rpartition("channel ")
    return channel.strip()[:40] if found and channel.strip() else "unknown"


def _count_what_is_stored(connection: sa.engine.Connection) -> None:
    zone = _clinic_zone()
    stored = {
        row.reference: row
        for row in connection.execute(
            sa.select(
                ENQUIRIES.c.reference,
                ENQUIRIES.c.channel,
                ENQUIRIES.c.priority,
                ENQUIRIES.c.created_at,
            )
        )
    }
    events = connection.execute(
        sa.select(AUDIT.c.occurred_at, AUDIT.c.action, AUDIT.c.reference, AUDIT.c.detail)
        .where(AUDIT.c.action.in_(("received", "status_changed", "deleted")))
        .order_by(AUDIT.c.occurred_at, AUDIT.c.id)
    )
    counts: Counter[tuple[datetime, str, str, str]] = Counter()
    waits: list[tuple[datetime, str, int]] = []
    channel_of = {reference: row.channel for reference, row in stored.items()}
    received_at = {reference: _aware(row.created_at) for reference, row in stored.items()}
    counted: set[str] = set()
    contacted: dict[str, datetime] = {}

    def count(at: datetime, name: str, channel: str) -> None:
        counts[(hour_start(at, zone), "enquiry", name, channel or "unknown")] += 1

    for event in events:
        reference, at = event.reference, _aware(event.occurred_at)
        if event.action == "received" and reference and reference not in counted:
            counted.add(reference)
            channel = channel_of.setdefault(reference, _channel_in(event.detail))
            received = received_at.setdefault(reference, at)
            count(received, "received", channel)
            if reference in stored and stored[reference].priority:
                count(received, "priority", channel)
        elif event.action == "status_changed":
            status = (event.detail or "").rpartition("->")[2].strip()
            if status not in ("new", "contacted", "closed"):
                continue
            count(at, "reopened" if status == "new" else status, channel_of.get(reference, ""))
            if status == "contacted" and reference in received_at and reference not in contacted:
                contacted[reference] = at
                seconds = max(0, int((at - received_at[reference]).total_seconds()))
                waits.append((at, channel_of.get(reference, ""), seconds))
        elif event.action == "deleted":
            purged = (event.detail or "").startswith("retention")
            count(at, "purged" if purged else "deleted", channel_of.get(reference, ""))
    for reference, row in stored.items():  # stored without an audit row: count it all the same
        if reference not in counted:
            count(received_at[reference], "received", row.channel)
            if row.priority:
                count(received_at[reference], "priority", row.channel)

    def as_row(key: tuple[datetime, str, str, str], number: int, seconds: int | None) -> dict:
        start, kind, name, channel = key
        return {
            "period_start": start,
            "kind": kind,
            "name": name,
            "channel": channel or "unknown",
            "count": number,
            "seconds": seconds,
        }

    rows = [as_row(key, number, None) for key, number in counts.items()]
    rows += [
        as_row((hour_start(at, zone), "first_contact", "", channel), 1, seconds)
        for at, channel, seconds in waits
    ]
    if rows:
        connection.execute(COUNTS.insert(), rows)
    for reference, at in contacted.items():
        if reference in stored:
            connection.execute(
                ENQUIRIES.update()
                .where(ENQUIRIES.c.reference == reference)
                .values(first_contacted_at=at)
            )
