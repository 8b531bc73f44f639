"""Unanswered questions through the trained bot and the real action server, into a real database:
a message that gets the honest "I don't have an answer" is kept, scrubbed and unlinked from the
sender; crisis messages and answers to the enquiry form never are."""

from __future__ import annotations

import pytest

from dit_assistant.store import open_database
from dit_assistant.store.unanswered import list_questions
from tests.fixtures.actions import IntakeSetting
from tests.fixtures.store import raw_dump

UNKNOWN_REPLIES = {"utter_default", "utter_out_of_scope"}


def stored(intake: IntakeSetting) -> list[str]:
    return [
        q.text for q in list_questions(open_database(intake.database_url), cipher=intake.cipher)
    ]


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        ("what's the weather tomorrow", "what's the weather tomorrow"),
        (
            "blorp fizzwang, text me on 07700 900461 or zelda.q@example.org",
            "blorp fizzwang, text me on [phone] or [email]",
        ),
    ],
)
def test_a_message_that_gets_the_unknown_reply_is_kept_scrubbed(intake, message, kept):
    person = intake.bot.new_conversation()
    before = stored(intake)
    turn = person.say(message)
    assert turn.responses and turn.responses[0] in UNKNOWN_REPLIES, turn.responses
    assert "I don't have an answer to that" in turn.text
    assert stored(intake) == [kept, *before]
    database = open_database(intake.database_url)
    dump = raw_dump(database)
    # The phone number whole, as typed and in any format it could be kept in: a fragment such
    # as "07700" also turns up in the stored timestamps (1796426960.0077002).
    for secret in ("07700 900461", "7700900461", "zelda", "weather"):
        assert secret not in dump
    # Only the conversation itself names its sender (its content encrypted): the question not.
    assert person.sender not in raw_dump(database, skip=("conversation_events",))
    # The conversation goes on as before.
    assert person.say("how many sessions are there").responses == ["utter_ask_number_of_sessions"]


@pytest.mark.parametrize(
    "message",
    ["I want to kill myself", "I've been cutting myself again", "I took too many pills"],
)
def test_crisis_replies_are_never_kept(intake, message):
    """(Check-ins are left out by intent too: tests/unit/test_unanswered_action.py.)"""
    person = intake.bot.new_conversation()
    before = stored(intake)
    turn = person.say(message)
    assert turn.is_crisis_reply, turn.responses
    assert stored(intake) == before


def test_answers_to_the_enquiry_form_are_never_kept(intake):
    person = intake.bot.new_conversation()
    before = stored(intake)
    person.say("I'd like to book an assessment")
    person.say("/affirm")
    assert person.say("Blorpina Fizzwang").responses == ["utter_ask_intake_contact_method"]
    assert person.say("cancel").responses[-1] == "utter_intake_cancelled"
    assert stored(intake) == before
