"""Taking in enquiries: what the intake form's actions call.

The reference is drawn before anything is written, so whether the enquiry lands in the database
or, during an outage, in the local spool, the person is told one reference that staff will find.
``stored=True`` means committed; ``stored=False`` means kept safely in the spool, to be moved into
the database by ``replay_spool`` (tried again on every later successful submission, and by
``dit-staff replay-spool``). Logs carry references and error types only, never personal data.
Staff are notified of each stored or replayed enquiry after its commit (``dit_assistant.notify``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from dit_assistant.notify.wakeup import notify_soon
from dit_assistant.settings import get_settings
from dit_assistant.store.audit import audit
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken
from dit_assistant.store.database import Database, open_database
from dit_assistant.store.models import CONTACT_METHODS, Enquiry, EnquiryNotification, utcnow
from dit_assistant.store.spool import Spool, default_spool
from dit_assistant.store.tally import add_count

logger = logging.getLogger(__name__)

REFERENCE_PREFIX = "DIT-"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Digits and capitals without 0/O and 1/I, which people misread when they quote a reference."""
REFERENCE_LENGTH = 5
_ATTEMPTS = 5

UNAVAILABLE = (SQLAlchemyError, OSError)
"""What "the database cannot take this now" looks like: connection refused, locked or
unwritable file, lost connection, a missing directory for an SQLite file."""


@dataclass(frozen=True)
class EnquiryDraft:
    """What the intake form collected, already validated, after the person consented."""

    preferred_name: str
    contact_method: str  # "phone" | "email" | "text"
    contact_detail: str  # already validated: E.164 phone or email
    best_times: str | None
    help_with: str | None
    channel: str  # "rest", "socketio", "telegram", ...
    consent_at: datetime  # aware UTC
    privacy_notice_version: str
    priority: bool


@dataclass(frozen=True)
class SubmitResult:
    reference: str
    stored: bool  # True: committed to the database; False: kept in the local spool


def new_reference() -> str:
    """A short reference such as ``DIT-7K3Q9`` (32**5, about 33 million, possibilities)."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + body


def normalise_reference(text: str) -> str:
    """Accept what staff type (lower case, spaces, without the prefix) as the stored form."""
    cleaned = "".join(text.split()).upper()
    if not cleaned.startswith(REFERENCE_PREFIX):
        cleaned = REFERENCE_PREFIX + cleaned
    return cleaned


_default_lock = threading.Lock()
_default: Database | None = None


def default_database() -> Database:
    """The configured database, opened (and migrated) on first success and then reused.

    A failure is not cached: the next enquiry tries again, so the store recovers by itself.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = open_database()
        return _default


# ---------------------------------------------------------------------------------- submit
def _validate(draft: EnquiryDraft) -> None:
    if draft.contact_method not in CONTACT_METHODS:
        raise ValueError(f"contact_method must be one of {', '.join(CONTACT_METHODS)}")
    for name in ("preferred_name", "contact_detail", "channel", "privacy_notice_version"):
        if not str(getattr(draft, name) or "").strip():
            raise ValueError(f"{name} is required")
    if len(draft.channel) > 40 or len(draft.privacy_notice_version) > 40:
        raise ValueError("channel and privacy_notice_version are at most 40 characters")
    if draft.consent_at.tzinfo is None:
        raise ValueError("consent_at must be timezone-aware (UTC)")


def _record(draft: EnquiryDraft) -> dict[str, Any]:
    """The enquiry as the spool keeps it: plain JSON values, encrypted as a whole on disk."""
    return {
        "version": 1,
        "reference": new_reference(),
        "submission_id": uuid.uuid4().hex,
        "created_at": utcnow().isoformat(),
        "preferred_name": draft.preferred_name.strip(),
        "contact_method": draft.contact_method,
        "contact_detail": draft.contact_detail.strip(),
        "best_times": _optional(draft.best_times),
        "help_with": _optional(draft.help_with),
        "channel": draft.channel.strip(),
        "consent_at": draft.consent_at.isoformat(),
        "privacy_notice_version": draft.privacy_notice_version.strip(),
        "priority": bool(draft.priority),
    }


def _optional(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _add(session: Session, cipher: EnquiryCipher, record: dict[str, Any], how: str) -> None:
    """Add the enquiry, and its pending staff notifications, to ``session``'s transaction."""
    created_at = datetime.fromisoformat(record["created_at"])
    targets, now = get_settings().notifications.targets, utcnow()  # staff told of it when due
    session.add(
        Enquiry(
            reference=record["reference"],
            submission_id=record["submission_id"],
            status="new",
            priority=record["priority"],
            channel=record["channel"],
            contact_method=record["contact_method"],
            name_token=cipher.encrypt(record["preferred_name"]),
            contact_detail_token=cipher.encrypt(record["contact_detail"]),
            best_times_token=cipher.encrypt_optional(record["best_times"]),
            help_with_token=cipher.encrypt_optional(record["help_with"]),
            consent_at=datetime.fromisoformat(record["consent_at"]),
            privacy_notice_version=record["privacy_notice_version"],
            created_at=created_at,
            updated_at=created_at,
            status_changed_at=created_at,
            notifications=[
                EnquiryNotification(target=t, state="pending", attempts=0, next_attempt_at=now)
                for t in targets
            ],
        )
    )
    audit(session, "received", record["reference"], detail=f"{how}; channel {record['channel']}")
    add_count(session, "enquiry", "received", record["channel"], at=created_at)
    if record["priority"]:
        add_count(session, "enquiry", "priority", record["channel"], at=created_at)


def _stored_submission(session: Session, reference: str) -> str | None:
    statement = select(Enquiry.submission_id).where(Enquiry.reference == reference)
    return session.execute(statement).scalar_one_or_none()


def _insert_new(database: Database, cipher: EnquiryCipher, record: dict[str, Any]) -> str:
    """Commit ``record`` in one transaction, drawing a new reference if its one is taken."""
    for _ in range(_ATTEMPTS):
        try:
            with database.session() as session:
                _add(session, cipher, record, "from the conversation")
            return record["reference"]
        except IntegrityError:
            with database.session() as session:
                if _stored_submission(session, record["reference"]) is None:
                    raise
            record["reference"] = new_reference()
    raise RuntimeError("could not draw an unused reference")


def _spool(spool: Spool, record: dict[str, Any]) -> str:
    for _ in range(_ATTEMPTS):
        try:
            spool.write(record["reference"], record)
            return record["reference"]
        except FileExistsError:
            record["reference"] = new_reference()
    raise RuntimeError("could not draw an unused reference for the spool")


def new_record(draft: EnquiryDraft) -> dict[str, Any]:
    """The enquiry to keep, with its reference drawn: what :func:`store_record` commits or
    :func:`spool_record` writes. Raises ``ValueError`` for an invalid draft."""
    _validate(draft)
    return _record(draft)


def store_record(database: Database, record: dict[str, Any]) -> str:
    """Commit ``record`` and wake the staff notifier; returns its reference (which may have
    been drawn again if the first was taken). Raises one of ``UNAVAILABLE`` when the database
    cannot take it; then nothing was stored and the record can go to the spool."""
    reference = _insert_new(database, default_spool().cipher, record)
    logger.info(
        "enquiry %s stored (channel %s, priority %s)",
        reference,
        record["channel"],
        "yes" if record["priority"] else "no",
    )
    notify_soon()  # after the commit, in the background: the person never waits on SMTP
    return reference


def spool_record(record: dict[str, Any], reason: str) -> str:
    """Keep ``record`` in the spool (``reason``: why not in the database, for the log);
    returns its reference. Raises ``OSError`` if even the spool cannot be written."""
    reference = _spool(default_spool(), record)
    logger.warning(
        "database unavailable (%s): enquiry %s kept in the local spool", reason, reference
    )
    return reference


def submit_enquiry(draft: EnquiryDraft, database: Database | None = None) -> SubmitResult:
    """Store an enquiry, or keep it in the spool when the database cannot take it.

    Raises ``ValueError`` for an invalid draft, and ``OSError`` only if even the spool cannot
    be written: then nothing was kept and the person must be told to contact the clinic.
    """
    record = new_record(draft)
    try:
        database = database or default_database()
        reference = store_record(database, record)
    except UNAVAILABLE as error:
        return SubmitResult(reference=spool_record(record, type(error).__name__), stored=False)
    replay_opportunistically(database)
    return SubmitResult(reference=reference, stored=True)


def replay_opportunistically(database: Database) -> None:
    """The database just took a write: a good moment to empty the spool. Never fails."""
    spool = default_spool()
    try:
        if spool.has_pending():
            _replay(database, spool)
    except Exception as error:  # noqa: BLE001 - the person's own enquiry is already stored
        logger.warning("spool replay postponed (%s)", type(error).__name__)


# ---------------------------------------------------------------------------------- replay
def _replay_one(database: Database, cipher: EnquiryCipher, record: dict[str, Any]) -> bool:
    """Insert one spooled enquiry unless it is already stored; True if it was inserted."""
    spooled_reference = record["reference"]
    for _ in range(_ATTEMPTS):
        try:
            with database.session() as session:
                stored_as = session.execute(
                    select(Enquiry.reference).where(
                        Enquiry.submission_id == record["submission_id"]
                    )
                ).scalar_one_or_none()
                if stored_as is not None:
                    return False
                if _stored_submission(session, record["reference"]) is not None:
                    record["reference"] = new_reference()
                    continue
                _add(session, cipher, record, "replayed from the spool")
            break
        except IntegrityError:
            continue  # another process replayed it, or took the reference, meanwhile
    else:
        raise RuntimeError(f"could not replay {spooled_reference}")
    if record["reference"] != spooled_reference:
        logger.warning(
            "spooled enquiry %s was stored as %s: its reference was already taken",
            spooled_reference,
            record["reference"],
        )
    return True


def _replay(database: Database, spool: Spool) -> int:
    moved = 0
    for path in spool.pending():
        try:
            record = spool.read(path)
        except (InvalidToken, ValueError):
            logger.error("spool file %s cannot be read with the configured keys", path.name)
            continue
        try:
            inserted = _replay_one(database, spool.cipher, record)
        except (IntegrityError, DataError) as error:
            logger.error("spool file %s was not replayed (%s)", path.name, type(error).__name__)
            continue
        spool.remove(path)
        if inserted:
            moved += 1
            logger.info("enquiry %s moved from the spool to the database", record["reference"])
    spool.remove_stale_temporaries()
    if moved:
        notify_soon()
    return moved


def replay_spool(database: Database | None = None) -> int:
    """Move spooled enquiries into the database; returns how many were inserted.

    Idempotent: an enquiry already stored (same submission) is not inserted again, and each
    file is deleted only after its transaction committed. Raises the database's error if it is
    still unreachable; the files then stay where they are.
    """
    spool = default_spool()
    if not spool.has_pending():
        spool.remove_stale_temporaries()
        return 0
    return _replay(database or default_database(), spool)
