"""action_note_unanswered (bot/actions/unanswered.py), called the way the action server calls it,
against a real SQLite store: what it keeps, what it never keeps, and that a database outage
never reaches the conversation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.database import store
from bot.actions.unanswered import ActionNoteUnanswered
from dit_assistant.store import open_database
from dit_assistant.store.unanswered import list_questions
from tests.fixtures.store import count_rows, raw_dump
from tests.fixtures.trackers import domain, run

SENDER = "sender-7c1e9a"
QUESTION = "can I bring my rabbit? email bun.owner@example.org or call 07700 900123"
RANKING = [
    {"name": "nlu_fallback", "confidence": 0.2},
    {"name": "risk_check", "confidence": 0.15},
    {"name": "ask_bring_someone", "confidence": 0.12},
]


@pytest.fixture(autouse=True)
def fresh_database_handle() -> Iterator[None]:
    """The action server opens the database once; each test has its own."""
    store.reset()
    yield
    store.reset()


def conversation(
    text: str = QUESTION,
    intent: str = "nlu_fallback",
    reply: str | None = "utter_default",
    active_loop: str | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.2},
        "intent_ranking": RANKING,
    }
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest, "input_channel": "telegram"},
    ]
    if reply:
        events.append({"event": "action", "name": reply})
    return Tracker(
        sender_id=SENDER,
        slots={},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=reply or "action_listen",
    )


def note(tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = run(ActionNoteUnanswered().run(dispatcher, tracker, domain()))
    assert dispatcher.messages == []  # the reply was already sent by the rule
    return events


def test_the_unanswered_message_is_kept_scrubbed_encrypted_and_without_the_sender(store_env):
    assert note(conversation()) == []
    database = open_database(store_env.database_url)
    (question,) = list_questions(database)
    assert question.text == "can I bring my rabbit? email [email] or call [phone]"
    assert (question.channel, question.reply) == ("telegram", "default")
    assert question.nearest_intent == "ask_bring_someone"  # never nlu_fallback or a risk route
    dump = raw_dump(database)
    # The phone number whole: a fragment such as "07700" can turn up inside a stored timestamp.
    for secret in (SENDER, "rabbit", "bun.owner", "07700 900123", "7700900123"):
        assert secret not in dump


def test_out_of_scope_replies_are_kept_as_such(store_env):
    note(conversation("what's the weather tomorrow", "out_of_scope", "utter_out_of_scope"))
    (question,) = list_questions(open_database(store_env.database_url))
    assert (question.text, question.reply) == ("what's the weather tomorrow", "out_of_scope")


@pytest.mark.parametrize(
    "tracker",
    [
        conversation(active_loop="intake_form"),
        conversation(intent="risk_check"),
        conversation(intent="risk_suicide", reply="utter_default"),
        conversation(reply=None),
        conversation(reply="utter_crisis"),
        conversation(text="/out_of_scope", intent="out_of_scope", reply="utter_out_of_scope"),
        conversation(text="   "),
    ],
    ids=[
        "form-answer",
        "check-in",
        "crisis",
        "no-unknown-reply",
        "crisis-reply",
        "button-payload",
        "blank",
    ],
)
def test_form_answers_safety_routes_and_payloads_are_never_kept(store_env, tracker):
    note(tracker)
    assert count_rows(open_database(store_env.database_url), "unanswered_questions") == 0


def test_a_database_outage_is_logged_without_the_text_and_never_raised(
    store_env, tmp_path: Path, caplog
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    store_env.set(DATABASE_URL=f"sqlite:///{blocker / 'store.sqlite'}")
    with caplog.at_level(logging.DEBUG):
        assert note(conversation()) == []
    assert "could not keep an unanswered question" in caplog.text
    for secret in ("rabbit", "[email]", "bun.owner", "07700", SENDER):
        assert secret not in caplog.text
