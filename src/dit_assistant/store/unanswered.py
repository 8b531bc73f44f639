"""Questions the assistant could not answer: kept, scrubbed and encrypted, for staff to review.

The action server records each message that got the honest "I don't have an answer"
(``bot/actions/unanswered.py``); staff see them grouped by similarity in the dashboard and with
``dit-staff unanswered``, write new content for the common ones, then mark the group covered
(hidden from the default list, kept until retention) or delete it.

What is kept is deliberately unlinked from the person: the text with contact details removed
(``dit_assistant.redaction``), encrypted like enquiries; the day in the clinic's time zone (not
the time), the channel, which reply it got and the topic the classifier leaned towards. No
sender id, conversation or enquiry. Logs and audit rows carry counts and group keys, never the
text.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update

from dit_assistant.clinic_time import clinic_date
from dit_assistant.redaction import scrub
from dit_assistant.settings import get_settings
from dit_assistant.similarity import SIMILARITY_THRESHOLD, group_texts, normalise
from dit_assistant.store.audit import audit
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken, load_cipher
from dit_assistant.store.database import Database
from dit_assistant.store.models import UNANSWERED_REPLIES, UnansweredQuestion, utcnow

logger = logging.getLogger(__name__)

MAX_TEXT = 1000
"""Longer messages are cut here: a question needs no more, and a pasted document is not kept."""
GROUPING_LIMIT = 2000
"""At most this many of the newest questions are grouped at once (grouping compares every pair)."""
UNREADABLE = "[unreadable with the configured keys]"


class GroupNotFound(LookupError):
    """No group holds this question (it may have been deleted, purged or marked covered)."""


@dataclass(frozen=True)
class Question:
    """One unanswered question, decrypted for staff."""

    id: int
    received_on: date
    channel: str
    reply: str
    nearest_intent: str | None
    text: str
    covered_at: datetime | None
    covered_by: str | None


@dataclass(frozen=True)
class QuestionGroup:
    """Similar questions, newest first; ``key`` (its newest question's id) names it to staff."""

    questions: tuple[Question, ...]

    @property
    def key(self) -> int:
        return self.questions[0].id

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(q.id for q in self.questions)

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def newest(self) -> date:
        return self.questions[0].received_on

    @property
    def oldest(self) -> date:
        return self.questions[-1].received_on

    @property
    def example(self) -> str:
        return self.questions[0].text

    @property
    def nearest_intents(self) -> list[tuple[str, int]]:
        """The topics the classifier leaned towards, most frequent first."""
        return Counter(q.nearest_intent for q in self.questions if q.nearest_intent).most_common()

    @property
    def covered(self) -> bool:
        return all(q.covered_at is not None for q in self.questions)


@dataclass(frozen=True)
class Grouped:
    groups: list[QuestionGroup]
    total: int
    """Questions in this view (covered or not); more than were grouped past GROUPING_LIMIT."""


# ---------------------------------------------------------------------------------- record
def record_unanswered(
    database: Database,
    text: str,
    channel: str,
    reply: str,
    nearest_intent: str | None = None,
    cipher: EnquiryCipher | None = None,
    today: date | None = None,
) -> bool:
    """Keep one unanswered message, scrubbed and encrypted; False if nothing was worth keeping.

    A message with no words left once contact details are removed (only a phone number, only
    emoji or punctuation) is not kept: there is no question in it to write content for.
    """
    if reply not in UNANSWERED_REPLIES:
        raise ValueError(f"reply must be one of {', '.join(UNANSWERED_REPLIES)}")
    scrubbed = scrub(text[: MAX_TEXT * 2])[:MAX_TEXT].strip()
    if not normalise(scrubbed):
        return False
    cipher = cipher or load_cipher()
    with database.session() as session:
        session.add(
            UnansweredQuestion(
                received_on=today or clinic_today(),
                channel=(channel or "unknown")[:40],
                reply=reply,
                nearest_intent=(nearest_intent or None) and nearest_intent[:60],
                text_token=cipher.encrypt(scrubbed),
            )
        )
    return True


# ------------------------------------------------------------------------------------ read
def _decrypt(cipher: EnquiryCipher, row: UnansweredQuestion) -> str:
    try:
        return cipher.decrypt(row.text_token)
    except InvalidToken:
        logger.error("unanswered question %d cannot be decrypted with the configured keys", row.id)
        return UNREADABLE


def _question(cipher: EnquiryCipher, row: UnansweredQuestion) -> Question:
    return Question(
        id=row.id,
        received_on=row.received_on,
        channel=row.channel,
        reply=row.reply,
        nearest_intent=row.nearest_intent,
        text=_decrypt(cipher, row),
        covered_at=row.covered_at,
        covered_by=row.covered_by,
    )


def _covered_clause(covered: bool) -> object:
    column = UnansweredQuestion.covered_at
    return column.is_not(None) if covered else column.is_(None)


def list_questions(
    database: Database,
    covered: bool = False,
    cipher: EnquiryCipher | None = None,
    limit: int | None = None,
) -> list[Question]:
    """Questions not yet covered (or, with ``covered=True``, the covered ones), newest first."""
    cipher = cipher or load_cipher()
    statement = (
        select(UnansweredQuestion)
        .where(_covered_clause(covered))
        .order_by(UnansweredQuestion.received_on.desc(), UnansweredQuestion.id.desc())
    )
    if limit:
        statement = statement.limit(limit)
    with database.session() as session:
        return [_question(cipher, row) for row in session.execute(statement).scalars()]


def count_questions(database: Database, covered: bool = False) -> int:
    statement = select(func.count(UnansweredQuestion.id)).where(_covered_clause(covered))
    with database.session() as session:
        return int(session.execute(statement).scalar_one())


def list_groups(
    database: Database,
    covered: bool = False,
    cipher: EnquiryCipher | None = None,
    threshold: float = SIMILARITY_THRESHOLD,
) -> Grouped:
    """The questions grouped by similarity, groups ordered by their newest question."""
    questions = list_questions(database, covered, cipher, limit=GROUPING_LIMIT)
    indices = group_texts([q.text for q in questions], threshold)
    groups = [QuestionGroup(tuple(questions[i] for i in group)) for group in indices]
    total = len(questions)
    if total == GROUPING_LIMIT:
        total = count_questions(database, covered)
    return Grouped(groups=groups, total=total)


def find_group(database: Database, key: int, cipher: EnquiryCipher | None = None) -> QuestionGroup:
    """The group that holds question ``key`` as grouped now: not yet covered, else covered."""
    cipher = cipher or load_cipher()
    for covered in (False, True):
        for group in list_groups(database, covered, cipher).groups:
            if key in group.ids:
                return group
    raise GroupNotFound(key)


# ---------------------------------------------------------------------------------- change
def _questions(count: int) -> str:
    return f"{count} question{'' if count == 1 else 's'}"


def _ids(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids})


def mark_covered(database: Database, ids: Iterable[int], staff_user: str) -> int:
    """Mark these questions covered by new content; returns how many changed (audited)."""
    chosen = _ids(ids)
    if not chosen:
        return 0
    with database.session() as session:
        result = session.execute(
            update(UnansweredQuestion)
            .where(UnansweredQuestion.id.in_(chosen), UnansweredQuestion.covered_at.is_(None))
            .values(covered_at=utcnow(), covered_by=staff_user)
            .execution_options(synchronize_session=False)
        )
        changed = int(result.rowcount or 0)
        if changed:
            audit(
                session,
                "unanswered_covered",
                None,
                staff_user,
                f"{_questions(changed)} (group {chosen[-1]})",
            )
    return changed


def delete_questions(database: Database, ids: Iterable[int], staff_user: str) -> int:
    """Delete these questions for good; returns how many were deleted (audited)."""
    chosen = _ids(ids)
    if not chosen:
        return 0
    with database.session() as session:
        result = session.execute(
            delete(UnansweredQuestion)
            .where(UnansweredQuestion.id.in_(chosen))
            .execution_options(synchronize_session=False)
        )
        deleted = int(result.rowcount or 0)
        if deleted:
            audit(
                session,
                "unanswered_deleted",
                None,
                staff_user,
                f"{_questions(deleted)} (group {chosen[-1]})",
            )
    return deleted


def clinic_today() -> date:
    """Today in the clinic's time zone: the day staff see a question was asked."""
    return clinic_date(utcnow(), get_settings().zone)


def _cutoff(retention_days: int, today: date | None) -> date:
    return (today or clinic_today()) - timedelta(days=retention_days)


def expired_count(database: Database, retention_days: int, today: date | None = None) -> int:
    """Questions older than the retention period (what a purge would delete)."""
    cutoff = _cutoff(retention_days, today)
    statement = select(func.count(UnansweredQuestion.id)).where(
        UnansweredQuestion.received_on < cutoff
    )
    with database.session() as session:
        return int(session.execute(statement).scalar_one())


def purge_unanswered(
    database: Database,
    retention_days: int,
    staff_user: str = "retention",
    today: date | None = None,
) -> int:
    """Delete questions received more than ``retention_days`` days ago, covered or not."""
    cutoff = _cutoff(retention_days, today)
    with database.session() as session:
        result = session.execute(
            delete(UnansweredQuestion)
            .where(UnansweredQuestion.received_on < cutoff)
            .execution_options(synchronize_session=False)
        )
        purged = int(result.rowcount or 0)
        if purged:
            audit(
                session,
                "unanswered_purged",
                None,
                staff_user,
                f"{_questions(purged)}; retention {retention_days} days",
            )
    return purged
