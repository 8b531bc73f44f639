"""What staff do with enquiries: find, read, update, note, delete, purge, re-encrypt.

Shared by the dashboard and ``dit-staff`` so both follow the same rules: every change is audited
by reference and staff user, decrypted data only leaves through the returned records, and
errors name references, never people.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from dit_assistant.clinic_time import day_start
from dit_assistant.store.audit import audit
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken, load_cipher
from dit_assistant.store.database import Database
from dit_assistant.store.models import (
    STATUSES,
    ConversationEvent,
    Enquiry,
    EnquiryNote,
    EnquiryNotification,
    UnansweredQuestion,
    utcnow,
)
from dit_assistant.store.tally import add_count

logger = logging.getLogger(__name__)

UNREADABLE = "[unreadable with the configured keys]"
_ROTATION_BATCH = 200


class EnquiryNotFound(LookupError):
    """No enquiry has this reference (it may have been deleted or purged)."""


@dataclass(frozen=True)
class Note:
    created_at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class EnquiryRecord:
    """An enquiry with its personal data decrypted, for staff who deliberately look at it."""

    reference: str
    status: str
    priority: bool
    channel: str
    contact_method: str
    preferred_name: str
    contact_detail: str
    best_times: str | None
    help_with: str | None
    consent_at: datetime
    privacy_notice_version: str
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    notes: tuple[Note, ...] = field(default=())
    not_notified: bool = False
    """A notice to staff about it failed (and is being retried, or gave up)."""


@dataclass(frozen=True)
class EnquiryFilter:
    """Filters of the list and the export; dates are days in ``zone`` (the clinic's, as staff
    type them), both ends included."""

    status: str | None = None
    priority: bool | None = None
    channel: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    zone: tzinfo = timezone.utc

    def apply(self, statement: Select) -> Select:
        if self.status:
            statement = statement.where(Enquiry.status == self.status)
        if self.priority is not None:
            statement = statement.where(Enquiry.priority.is_(self.priority))
        if self.channel:
            statement = statement.where(Enquiry.channel == self.channel)
        if self.created_from:
            statement = statement.where(
                Enquiry.created_at >= day_start(self.created_from, self.zone)
            )
        if self.created_to:
            end = day_start(self.created_to + timedelta(days=1), self.zone)
            statement = statement.where(Enquiry.created_at < end)
        return statement

    def describe(self) -> str:
        """The filters in words for the audit trail (they hold no personal data)."""
        parts = [
            f"{name}={value}"
            for name, value in vars(self).items()
            if value is not None and value != "" and name != "zone"
        ]
        return ", ".join(parts) or "all"


def _decrypt(cipher: EnquiryCipher, token: str | None, reference: str) -> str | None:
    if token is None:
        return None
    try:
        return cipher.decrypt(token)
    except InvalidToken:
        logger.error("enquiry %s: a field cannot be decrypted with the configured keys", reference)
        return UNREADABLE


def _record(row: Enquiry, cipher: EnquiryCipher, with_notes: bool) -> EnquiryRecord:
    ref = row.reference
    notes = (
        tuple(
            Note(n.created_at, n.author, _decrypt(cipher, n.body_token, ref) or "")
            for n in row.notes
        )
        if with_notes
        else ()
    )
    return EnquiryRecord(
        reference=ref,
        status=row.status,
        priority=row.priority,
        channel=row.channel,
        contact_method=row.contact_method,
        preferred_name=_decrypt(cipher, row.name_token, ref) or "",
        contact_detail=_decrypt(cipher, row.contact_detail_token, ref) or "",
        best_times=_decrypt(cipher, row.best_times_token, ref),
        help_with=_decrypt(cipher, row.help_with_token, ref),
        consent_at=row.consent_at,
        privacy_notice_version=row.privacy_notice_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_changed_at=row.status_changed_at,
        notes=notes,
        not_notified=any(n.state == "failed" for n in row.notifications),
    )


def _find(session: Session, reference: str) -> Enquiry:
    row = session.execute(
        select(Enquiry).where(Enquiry.reference == reference)
    ).scalar_one_or_none()
    if row is None:
        raise EnquiryNotFound(reference)
    return row


def list_enquiries(
    database: Database,
    filters: EnquiryFilter | None = None,
    cipher: EnquiryCipher | None = None,
    limit: int | None = None,
    with_notes: bool = False,
) -> list[EnquiryRecord]:
    """Enquiries matching ``filters``, newest first."""
    cipher = cipher or load_cipher()
    statement = (filters or EnquiryFilter()).apply(select(Enquiry))
    statement = statement.order_by(Enquiry.created_at.desc(), Enquiry.id.desc())
    if with_notes:
        statement = statement.options(selectinload(Enquiry.notes))
    if limit:
        statement = statement.limit(limit)
    with database.session() as session:
        rows = session.execute(statement).scalars().all()
        return [_record(row, cipher, with_notes) for row in rows]


@dataclass(frozen=True)
class EnquirySummary:
    """An enquiry without personal data: what a list in a terminal may show."""

    reference: str
    status: str
    priority: bool
    channel: str
    contact_method: str
    created_at: datetime
    status_changed_at: datetime


def list_summaries(
    database: Database, filters: EnquiryFilter | None = None, limit: int | None = None
) -> list[EnquirySummary]:
    """Like ``list_enquiries`` but nothing is decrypted, so nothing personal can leak."""
    statement = (filters or EnquiryFilter()).apply(
        select(
            Enquiry.reference,
            Enquiry.status,
            Enquiry.priority,
            Enquiry.channel,
            Enquiry.contact_method,
            Enquiry.created_at,
            Enquiry.status_changed_at,
        )
    )
    statement = statement.order_by(Enquiry.created_at.desc(), Enquiry.id.desc())
    if limit:
        statement = statement.limit(limit)
    with database.session() as session:
        return [EnquirySummary(*row) for row in session.execute(statement)]


def count_enquiries(database: Database, filters: EnquiryFilter | None = None) -> int:
    statement = (filters or EnquiryFilter()).apply(select(func.count(Enquiry.id)))
    with database.session() as session:
        return int(session.execute(statement).scalar_one())


def channels(database: Database) -> list[str]:
    """Channels that enquiries came from, for the list's filter."""
    with database.session() as session:
        return list(
            session.execute(select(Enquiry.channel).distinct().order_by(Enquiry.channel)).scalars()
        )


def get_enquiry(
    database: Database,
    reference: str,
    cipher: EnquiryCipher | None = None,
    viewed_by: str | None = None,
) -> EnquiryRecord:
    """One enquiry with its notes; ``viewed_by`` records the look in the audit trail."""
    cipher = cipher or load_cipher()
    with database.session() as session:
        record = _record(_find(session, reference), cipher, with_notes=True)
        if viewed_by:
            audit(session, "viewed", reference, viewed_by)
        return record


def set_status(database: Database, reference: str, status: str, staff_user: str) -> bool:
    """Change the status; False if it already had it (nothing changes, nothing is audited)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    with database.session() as session:
        row = _find(session, reference)
        if row.status == status:
            return False
        previous, now = row.status, utcnow()
        row.status, row.status_changed_at, row.updated_at = status, now, now
        audit(session, "status_changed", reference, staff_user, f"{previous} -> {status}")
        add_count(session, "enquiry", "reopened" if status == "new" else status, row.channel)
        if status == "contacted" and row.first_contacted_at is None:
            row.first_contacted_at = now
            waited = max(0, int((now - row.created_at).total_seconds()))
            add_count(session, "first_contact", channel=row.channel, seconds=waited)
    return True


def add_note(
    database: Database,
    reference: str,
    text: str,
    staff_user: str,
    cipher: EnquiryCipher | None = None,
) -> None:
    """Add a staff note, encrypted like the enquiry's own personal data."""
    text = text.strip()
    if not text:
        raise ValueError("a note needs some text")
    cipher = cipher or load_cipher()
    with database.session() as session:
        row = _find(session, reference)
        row.notes.append(EnquiryNote(author=staff_user, body_token=cipher.encrypt(text)))
        row.updated_at = utcnow()
        audit(session, "note_added", reference, staff_user)


def delete_enquiry(
    database: Database,
    reference: str,
    staff_user: str,
    reason: str = "on request",
    purged: bool = False,
) -> None:
    """Erase one person's enquiry and its notes; the audit row keeps only the reference.
    ``purged``: deleted at the end of its retention period rather than on request."""
    with database.session() as session:
        row = _find(session, reference)
        session.execute(delete(EnquiryNote).where(EnquiryNote.enquiry_id == row.id))
        session.execute(delete(EnquiryNotification).where(EnquiryNotification.enquiry_id == row.id))
        session.execute(delete(Enquiry).where(Enquiry.id == row.id))
        audit(session, "deleted", reference, staff_user, reason)
        # What it was counted as (received, contacted...) stays counted; so does this.
        add_count(session, "enquiry", "purged" if purged else "deleted", row.channel)


def expired_references(
    database: Database, retention_days: int, now: datetime | None = None
) -> list[str]:
    """Closed enquiries whose closing is older than the retention period."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with database.session() as session:
        return list(
            session.execute(
                select(Enquiry.reference)
                .where(Enquiry.status == "closed", Enquiry.status_changed_at < cutoff)
                .order_by(Enquiry.status_changed_at)
            ).scalars()
        )


def purge_expired(
    database: Database,
    retention_days: int,
    staff_user: str = "retention",
    now: datetime | None = None,
) -> list[str]:
    """Delete closed enquiries past retention; returns their references (audited one by one)."""
    purged = []
    for reference in expired_references(database, retention_days, now):
        try:
            delete_enquiry(
                database, reference, staff_user, f"retention {retention_days} days", purged=True
            )
        except EnquiryNotFound:
            continue  # deleted meanwhile by someone else
        purged.append(reference)
    return purged


def rotate_keys(
    database: Database, cipher: EnquiryCipher | None = None, staff_user: str | None = None
) -> int:
    """Re-encrypt every token (enquiries, notes, unanswered questions, conversation events) with
    the newest key, in batches; returns the rows rewritten.

    Safe to interrupt and run again: a token already under the newest key is simply
    re-encrypted with it once more.
    """
    cipher = cipher or load_cipher()
    rewritten = 0
    for model, columns in (
        (Enquiry, ("name_token", "contact_detail_token", "best_times_token", "help_with_token")),
        (EnquiryNote, ("body_token",)),
        (UnansweredQuestion, ("text_token",)),
        (ConversationEvent, ("data_token",)),
    ):
        last_id = 0
        while True:
            with database.session() as session:
                rows = (
                    session.execute(
                        select(model)
                        .where(model.id > last_id)
                        .order_by(model.id)
                        .limit(_ROTATION_BATCH)
                    )
                    .scalars()
                    .all()
                )
                for row in rows:
                    for column in columns:
                        token = getattr(row, column)
                        if token is not None:
                            setattr(row, column, cipher.rotate(token))
                rewritten += len(rows)
            if not rows:
                break
            last_id = rows[-1].id
    with database.session() as session:
        audit(session, "keys_rotated", None, staff_user, f"{rewritten} rows re-encrypted")
    return rewritten


def record_export(database: Database, count: int, staff_user: str, filters: EnquiryFilter) -> None:
    """Exports carry decrypted data out of the store: who took how many, and which filter."""
    with database.session() as session:
        audit(session, "exported", None, staff_user, f"{count} enquiries; {filters.describe()}")
