"""The audit trail: reference, action, time and staff user; never personal data.

Every change to an enquiry, every export, view, deletion and purge adds a row in the same
transaction as the change, and a log line with the same content, so the clinic can account for
what happened to a person's data even after the data itself is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dit_assistant.store.database import Database
from dit_assistant.store.models import AuditEvent

logger = logging.getLogger("dit_assistant.audit")


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    action: str
    reference: str | None
    staff_user: str | None
    detail: str | None


def audit(
    session: Session,
    action: str,
    reference: str | None = None,
    staff_user: str | None = None,
    detail: str | None = None,
) -> None:
    """Add an audit row to ``session``'s transaction. ``detail`` must hold no personal data."""
    session.add(
        AuditEvent(
            action=action,
            reference=reference,
            staff_user=staff_user,
            detail=(detail or None) and detail[:200],
        )
    )
    logger.info(
        "audit %s reference=%s staff=%s%s",
        action,
        reference or "-",
        staff_user or "system",
        f" ({detail})" if detail else "",
    )


def recent_audit(database: Database, limit: int = 50) -> list[AuditEntry]:
    """The latest audit rows, newest first."""
    with database.session() as session:
        rows = session.execute(
            select(AuditEvent)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        ).scalars()
        return [
            AuditEntry(r.occurred_at, r.action, r.reference, r.staff_user, r.detail) for r in rows
        ]
