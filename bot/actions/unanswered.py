"""Keeps each message that got the honest "I don't have an answer", for staff to review.

Run by the rules right after ``utter_default`` or ``utter_out_of_scope`` (the reply has already
gone out, so it never waits for this, and a failure here never stops it). What is stored is
unlinked from the person: the text with contact details removed, encrypted; the day, the
channel, which reply it got and the topic the classifier leaned towards. Never the sender id.
If the database is unreachable only this record is lost, and the log says so without the text;
the write runs off the action server's event loop with a short timeout (:mod:`.database`).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dit_assistant.store.unanswered import record_unanswered

from .contained import contained
from .database import store
from .safety import SAFETY_ROUTES

logger = logging.getLogger(__name__)

REPLIES = {"utter_default": "default", "utter_out_of_scope": "out_of_scope"}
NOT_A_TOPIC = SAFETY_ROUTES | {"nlu_fallback", "out_of_scope", "small_talk", "gibberish"}


def nearest_intent(message: dict[str, Any]) -> str | None:
    """The topic the classifier ranked highest, if any: a hint for staff, never a safety route."""
    for candidate in message.get("intent_ranking") or []:
        name = candidate.get("name")
        if name and name not in NOT_A_TOPIC:
            return str(name)
    return None


def last_reply(tracker: Tracker) -> str | None:
    """Which "I don't have an answer" was just sent, if one was."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return None
        if event.get("event") == "action" and event.get("name") in REPLIES:
            return REPLIES[event["name"]]
    return None


@contained
class ActionNoteUnanswered(Action):
    """Stores the unanswered message, scrubbed and encrypted; never breaks the conversation."""

    def name(self) -> str:
        return "action_note_unanswered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        intent = (message.get("intent") or {}).get("name")
        reply = last_reply(tracker)
        # Button payloads ("/ask_cost") are not questions; answers to a form and anything the
        # safety net routed are never kept.
        if not text or text.startswith("/") or reply is None:
            return []
        if tracker.active_loop.get("name") or intent in SAFETY_ROUTES:
            return []
        channel = tracker.get_latest_input_channel() or "unknown"
        nearest = nearest_intent(message)
        try:
            await store.run(
                lambda database: record_unanswered(
                    database, text, channel=channel, reply=reply, nearest_intent=nearest
                ),
                "an unanswered question",
            )
        except Exception as error:  # noqa: BLE001 - the record must never break the chat
            logger.error("could not keep an unanswered question: %s", type(error).__name__)
        return []
