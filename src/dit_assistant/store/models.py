"""Database tables, declared once for the application and for migrations.

Personal data (name, contact detail, best times, free text, staff notes, what people write in
the chat) is only ever stored as Fernet tokens in the ``*_token`` columns: a copy of the
database, a backup or a log of SQL parameters reveals nothing about the person without the keys
(see ``store/crypto.py``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# SQLAlchemy 1.4 has no type information: its declarative base is typed as Any.
Base: Any = declarative_base()

STATUSES = ("new", "contacted", "closed")
UNANSWERED_REPLIES = ("default", "out_of_scope")
"""Which "I don't have an answer" a question got: not understood (``utter_default``), or
understood as outside what the assistant covers (``utter_out_of_scope``)."""
CONTACT_METHODS = ("phone", "email", "text")
NOTIFICATION_TARGETS = ("email", "webhook")
NOTIFICATION_STATES = ("pending", "sent", "failed")
STATISTIC_KINDS = (
    "conversation",
    "message",
    "answer",
    "unknown_answer",
    "enquiry",
    "first_contact",
)
"""What ``statistic_counts`` counts (see ``store/tally.py``): conversations and the messages
people typed, by channel; answers given, by answer; "I don't have an answer" replies, by which
one; enquiry events (received, priority, contacted, closed, reopened, deleted, purged); and each
enquiry's wait for its first contact."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so without this a value written aware would come back naive and
    could not be compared with ``utcnow()``; PostgreSQL returns the session's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class SafetyEvent(Base):
    """One safety route taken by the assistant, for staff statistics.

    Deliberately holds no message text, sender id or other personal data: only when, which
    route, which configured region and which channel.
    """

    __tablename__ = "safety_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    route: Mapped[str] = Column(String(40), nullable=False, index=True)
    region: Mapped[str] = Column(String(40), nullable=False)
    channel: Mapped[str] = Column(String(40), nullable=False)


class StatisticCount(Base):
    """Something counted when it happened, for the staff statistics: never personal data.

    Each row adds ``count`` to one statistic (``kind``, and ``name``: which answer, which
    enquiry event) for one channel, in the clinic's hour starting at ``period_start`` (UTC).
    Rows are only ever added, never changed or derived from other tables, so the statistics
    stay as they were when the enquiries they counted are deleted or purged. No message text,
    sender id, reference or anything else that could identify a person; ``seconds`` holds an
    enquiry's wait for its first contact (``first_contact`` rows only).
    """

    __tablename__ = "statistic_counts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    period_start: Mapped[datetime] = Column(UTCDateTime, nullable=False, index=True)
    kind: Mapped[str] = Column(String(30), nullable=False)
    name: Mapped[str] = Column(String(60), nullable=False, default="")
    channel: Mapped[str] = Column(String(40), nullable=False, default="")
    count: Mapped[int] = Column(Integer, nullable=False, default=1)
    seconds: Mapped[int | None] = Column(Integer, nullable=True)


class Enquiry(Base):
    """One person's request to be contacted by the clinic.

    ``reference`` is what the person is told and what staff, logs and audit rows use;
    ``submission_id`` tells a replayed spool file that is already stored apart from a different
    enquiry that happens to share its reference.
    """

    __tablename__ = "enquiries"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'contacted', 'closed')", name="ck_enquiries_status"),
        CheckConstraint(
            "contact_method IN ('phone', 'email', 'text')", name="ck_enquiries_contact_method"
        ),
        UniqueConstraint("reference", name="uq_enquiries_reference"),
        UniqueConstraint("submission_id", name="uq_enquiries_submission_id"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    reference: Mapped[str] = Column(String(16), nullable=False)
    submission_id: Mapped[str] = Column(String(32), nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False, default="new", index=True)
    priority: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    channel: Mapped[str] = Column(String(40), nullable=False)
    contact_method: Mapped[str] = Column(String(8), nullable=False)
    name_token: Mapped[str] = Column(Text, nullable=False)
    contact_detail_token: Mapped[str] = Column(Text, nullable=False)
    best_times_token: Mapped[str | None] = Column(Text, nullable=True)
    help_with_token: Mapped[str | None] = Column(Text, nullable=True)
    consent_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    privacy_notice_version: Mapped[str] = Column(String(40), nullable=False)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    status_changed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    first_contacted_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    """When staff first marked it contacted: the end of its wait for first contact."""

    notes: Mapped[list[EnquiryNote]] = relationship(
        "EnquiryNote",
        back_populates="enquiry",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EnquiryNote.id",
    )
    notifications: Mapped[list[EnquiryNotification]] = relationship(
        "EnquiryNotification",
        back_populates="enquiry",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EnquiryNotification.id",
        lazy="selectin",
    )


class EnquiryNotification(Base):
    """Whether staff have been told of an enquiry, by one way (email or webhook).

    Written in the enquiry's own transaction as ``pending``, so a notice can never be lost even
    if the process stops right after the commit; sent afterwards (``dit_assistant.notify``).
    ``next_attempt_at`` is when it is next due: NULL once sent, or once a failed notice has used
    up its retries (``dit-staff notify --retry`` then tries it again). Holds no personal data.
    """

    __tablename__ = "enquiry_notifications"
    __table_args__ = (
        CheckConstraint("target IN ('email', 'webhook')", name="ck_enquiry_notifications_target"),
        CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name="ck_enquiry_notifications_state"
        ),
        UniqueConstraint("enquiry_id", "target", name="uq_enquiry_notifications_target"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    enquiry_id: Mapped[int] = Column(
        Integer, ForeignKey("enquiries.id", ondelete="CASCADE"), nullable=False
    )
    target: Mapped[str] = Column(String(16), nullable=False)
    state: Mapped[str] = Column(String(16), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str | None] = Column(String(80), nullable=True)
    """The error's type only (e.g. ``ConnectionRefusedError``), never a message or a secret."""
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)

    enquiry: Mapped[Enquiry] = relationship("Enquiry", back_populates="notifications")


class EnquiryNote(Base):
    """A staff note on an enquiry; encrypted, as staff may write personal details in it."""

    __tablename__ = "enquiry_notes"

    id: Mapped[int] = Column(Integer, primary_key=True)
    enquiry_id: Mapped[int] = Column(
        Integer, ForeignKey("enquiries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    author: Mapped[str] = Column(String(80), nullable=False)
    body_token: Mapped[str] = Column(Text, nullable=False)

    enquiry: Mapped[Enquiry] = relationship("Enquiry", back_populates="notes")


class StaffUser(Base):
    """A dashboard account. Created only from the command line; passwords as Argon2 hashes."""

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("username", name="uq_staff_users_username"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(80), nullable=False)
    password_hash: Mapped[str] = Column(String(255), nullable=False)
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)


class StaffSession(Base):
    """One signed-in dashboard session, so the server can end it (see ``store/staff_sessions.py``).

    The browser's signed cookie holds a random token; only its SHA-256 is stored, so a copy of
    the database lets nobody sign in. Logging out deletes the row, a new password deletes all of
    the account's rows, and a row older than the session lifetime or unused for longer than the
    idle timeout is refused and deleted.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    token_hash: Mapped[str] = Column(String(64), nullable=False)
    user_id: Mapped[int] = Column(
        Integer,
        ForeignKey("staff_users.id", ondelete="CASCADE", name="fk_staff_sessions_user"),
        nullable=False,
        index=True,
    )
    created_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow)


class AuditEvent(Base):
    """Who did what to which enquiry, and when: never any personal data.

    Rows outlive the enquiry they name (no foreign key), so a deletion on request or a purge
    stays accountable after the data is gone.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    action: Mapped[str] = Column(String(40), nullable=False)
    reference: Mapped[str | None] = Column(String(16), nullable=True, index=True)
    staff_user: Mapped[str | None] = Column(String(80), nullable=True)
    detail: Mapped[str | None] = Column(String(200), nullable=True)


class UnansweredQuestion(Base):
    """A message that got the honest "I don't have an answer", kept so staff can fill the gap.

    Deliberately unlinked from the person: no sender id, no conversation id, no enquiry, and only
    the day it arrived. The text has contact details removed (``dit_assistant.redaction``) before
    it is encrypted like enquiries; it is deleted after ``UNANSWERED_RETENTION_DAYS``.
    """

    __tablename__ = "unanswered_questions"
    __table_args__ = (
        CheckConstraint(
            "reply IN ('default', 'out_of_scope')", name="ck_unanswered_questions_reply"
        ),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    received_on: Mapped[date] = Column(Date, nullable=False, index=True)
    channel: Mapped[str] = Column(String(40), nullable=False)
    reply: Mapped[str] = Column(String(16), nullable=False)
    nearest_intent: Mapped[str | None] = Column(String(60), nullable=True)
    """The topic the classifier leaned towards, too weakly to answer; never a safety intent."""
    text_token: Mapped[str] = Column(Text, nullable=False)
    covered_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    covered_by: Mapped[str | None] = Column(String(80), nullable=True)


class ConversationEvent(Base):
    """One event of a conversation with the assistant: Rasa's tracker, one row per event.

    Written and read by the Rasa server's tracker store (``store/tracker_store.py``). Only what
    Rasa needs to find and order a conversation's events stays in plain text: the sender id, the
    event type, its time, and the intent and action names. Everything else (what the person
    wrote, its parse data, slot values, the assistant's replies) is the JSON of the event,
    encrypted like enquiries in ``data_token``.

    ``timestamp`` is Rasa's (seconds since the epoch, UTC); ``id`` orders the events of a
    conversation, as several can share a timestamp. A conversation is deleted
    ``CONVERSATION_RETENTION_DAYS`` after its latest event.
    """

    __tablename__ = "conversation_events"
    __table_args__ = (
        Index("ix_conversation_events_sender_id_timestamp", "sender_id", "timestamp"),
    )

    # 64-bit on PostgreSQL; SQLite only autoincrements a column declared exactly INTEGER.
    id: Mapped[int] = Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sender_id: Mapped[str] = Column(String(255), nullable=False)
    type_name: Mapped[str] = Column(String(255), nullable=False)
    timestamp: Mapped[float] = Column(Float, nullable=False)
    intent_name: Mapped[str | None] = Column(String(255), nullable=True)
    action_name: Mapped[str | None] = Column(String(255), nullable=True)
    data_token: Mapped[str] = Column(Text, nullable=False)
