"""Stored conversations: their retention, and removing an enquiry's details once it has ended.

The Rasa server keeps each conversation in ``conversation_events``, one encrypted row per event
(``dit_assistant.store.tracker_store``). This module holds what does not need Rasa, so the
staff tools can use it without loading Rasa:

- retention: a conversation is deleted ``CONVERSATION_RETENTION_DAYS`` after its latest event,
  by the dashboard's daily purge and by ``dit-staff purge``;
- :func:`scrub_enquiry_details`: the events of a conversation with the details typed into the
  enquiry form removed, which the tracker store applies when an enquiry has ended
  (:func:`enquiry_ended`).

Events are handled here as Rasa writes them (``Event.as_dict()``): plain dicts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from dit_assistant.enquiry_form import ENDING_ACTIONS, FORM_NAME, FORM_SLOTS, PERSONAL_SLOTS
from dit_assistant.store.audit import audit
from dit_assistant.store.database import Database
from dit_assistant.store.models import ConversationEvent, utcnow

REMOVED = "[removed]"
"""What stands in a stored reply where a detail from the enquiry form was."""
_SHORTEST_DETAIL = 2
"""Shorter slot values ("a", "?") are not searched for in replies: they would match anywhere."""

Event = dict[str, Any]


# ------------------------------------------------------------------------------- retention
def _cutoff(retention_days: int, now: datetime | None) -> float:
    return ((now or utcnow()) - timedelta(days=retention_days)).timestamp()


def _expired_senders(retention_days: int, now: datetime | None) -> Any:
    """Conversations whose latest event is older than the retention period (a subquery)."""
    return (
        select(ConversationEvent.sender_id)
        .group_by(ConversationEvent.sender_id)
        .having(func.max(ConversationEvent.timestamp) < _cutoff(retention_days, now))
    )


def expired_conversation_count(
    database: Database, retention_days: int, now: datetime | None = None
) -> int:
    """How many conversations a purge would delete now."""
    subquery = _expired_senders(retention_days, now).subquery()
    with database.session() as session:
        return int(session.execute(select(func.count()).select_from(subquery)).scalar_one())


def purge_conversations(
    database: Database,
    retention_days: int,
    staff_user: str = "retention",
    now: datetime | None = None,
) -> int:
    """Delete every conversation whose latest event is older than ``retention_days`` days;
    returns how many conversations went (audited as a count: no sender id is recorded)."""
    with database.session() as session:
        senders = list(session.execute(_expired_senders(retention_days, now)).scalars())
        for start in range(0, len(senders), 500):
            session.execute(
                delete(ConversationEvent)
                .where(ConversationEvent.sender_id.in_(senders[start : start + 500]))
                .execution_options(synchronize_session=False)
            )
        if senders:
            audit(
                session,
                "conversations_purged",
                None,
                staff_user,
                f"{len(senders)} conversations; retention {retention_days} days",
            )
    return len(senders)


def conversation_count(database: Database) -> int:
    """Conversations held now (for tests and statistics; nothing about their content)."""
    statement = select(func.count(func.distinct(ConversationEvent.sender_id)))
    with database.session() as session:
        return int(session.execute(statement).scalar_one())


# ------------------------------------------------------------------ the enquiry's details
def enquiry_ended(new_events: Iterable[Event], slots: Mapping[str, Any]) -> bool:
    """Whether these new events end an enquiry with its details forgotten.

    True when one of them is an action that ends the enquiry (saved or spooled, closed after a
    refusal or an under-18 answer, or cancelled: ``ENDING_ACTIONS``) and the conversation's
    personal slots are now empty, which is how those actions report success. When saving fails
    the details stay in the slots for another try, and nothing is removed.
    """
    ending = any(
        event.get("event") == "action" and event.get("name") in ENDING_ACTIONS
        for event in new_events
    )
    return ending and not any(slots.get(slot) for slot in PERSONAL_SLOTS)


def _details(events: Iterable[Event]) -> re.Pattern[str] | None:
    """Every value the personal slots held (as typed and as accepted), as one pattern."""
    values = {
        str(event["value"]).strip()
        for event in events
        if event.get("event") == "slot"
        and event.get("name") in PERSONAL_SLOTS
        and isinstance(event.get("value"), str)
    }
    values = {value for value in values if len(value) >= _SHORTEST_DETAIL}
    if not values:
        return None
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _replace(value: Any, details: re.Pattern[str], skip: frozenset[str] = frozenset()) -> Any:
    """``value`` with every detail replaced, in strings nested in dicts and lists too."""
    if isinstance(value, str):
        return details.sub(REMOVED, value)
    if isinstance(value, list):
        return [_replace(item, details, skip) for item in value]
    if isinstance(value, dict):
        return {
            key: item if key in skip else _replace(item, details, skip)
            for key, item in value.items()
        }
    return value


def _scrub_user_event(event: Event, in_form: bool, details: re.Pattern[str] | None) -> None:
    parse_data = event.get("parse_data")
    if in_form:
        event["text"] = None
        if isinstance(parse_data, dict):
            parse_data["text"] = None
    if details is None:
        return
    if isinstance(event.get("text"), str):
        event["text"] = details.sub(REMOVED, event["text"])
    if isinstance(parse_data, dict):
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = details.sub(REMOVED, parse_data["text"])
        parse_data["entities"] = [
            {**entity, "value": _replace(entity.get("value"), details)}
            if isinstance(entity, dict)
            else entity
            for entity in parse_data.get("entities") or []
        ]
    if "metadata" in event:
        event["metadata"] = _replace(event["metadata"], details)


def scrub_enquiry_details(events: list[Event]) -> list[Event]:
    """The conversation without what was typed into the enquiry form.

    - every value the form's slots were set to is removed (the slot events keep their names,
      with no value): the slots are empty by then anyway, so replaying the conversation ends in
      the same state;
    - the text of every message the person wrote while the form was open is removed (answers,
      rejected answers, questions asked mid-form); its intent stays, which is all the
      assistant's policies read;
    - wherever else a detail the personal slots held appears (the summary the assistant showed,
      "Thank you, Sam", a message written before the form), it becomes ``[removed]``; button
      payloads are left as they are, as the message gate compares them with what it offered.

    Returns new dicts; ``events`` is not changed. Scrubbing twice changes nothing more. (An
    event that may change is copied before it is; one that cannot, copied shallowly: a cancel
    late in a conversation scrubs about a hundred events, most of them untouched.)
    """
    details = _details(events)
    loop: str | None = None
    scrubbed = []
    for original in events:
        kind = original.get("event")
        event = dict(original)
        if kind == "slot" and event.get("name") in FORM_SLOTS and event.get("value") is not None:
            event["value"] = None
        elif kind == "user" and (loop == FORM_NAME or details is not None):
            event = copy.deepcopy(original)
            _scrub_user_event(event, loop == FORM_NAME, details)
        elif kind == "bot" and details is not None:
            # _replace builds new values: the original's stay as they were.
            for key in ("text", "metadata"):
                if key in event:
                    event[key] = _replace(event[key], details)
            if "data" in event:
                event["data"] = _replace(event["data"], details, frozenset({"payload"}))
        if kind == "active_loop":
            loop = event.get("name")
        elif kind in ("restart", "session_started"):
            loop = None
        scrubbed.append(event)
    return scrubbed
