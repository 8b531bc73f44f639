"""Which messages read as follow-ups, which previous messages set a context for them, and how a
message that says something then asks a question is split."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant.nlu.companions import previous_question, reads_as_follow_up, split_question


@pytest.mark.parametrize(
    "text",
    [
        "and weekends?",
        "what about by phone?",
        "how long are they?",
        "why that long?",
        "And is that per session",
        "so I don't have to stop them?",
    ],
)
def test_short_messages_that_lean_on_what_came_before_read_as_follow_ups(text):
    assert reads_as_follow_up(text)


@pytest.mark.parametrize(
    "text",
    [
        "how much does DIT cost?",
        "do you have evening appointments",
        "",
        "???",
        # long enough to stand on its own, though it opens with "and"
        "and I was wondering whether you offer sessions in the evening after work",
    ],
)
def test_questions_that_stand_alone_do_not(text):
    assert not reads_as_follow_up(text)


def _tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", list(events))


def _said(text: str, intent: str) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9})


def test_an_answered_question_sets_the_context():
    tracker = _tracker(_said("how much does it cost?", "ask_cost"))
    assert previous_question(tracker) == "how much does it cost?"


@pytest.mark.parametrize("intent", ["greet", "risk_suicide", "request_appointment", "nlu_fallback"])
def test_other_messages_set_none(intent):
    assert previous_question(_tracker(_said("hello there", intent))) is None


def test_no_context_while_a_form_waits_for_an_answer():
    """Inside the enquiry form, "it's Sam" after a question asked mid-form is the form's answer,
    not a follow-up to that question."""
    tracker = _tracker(ActiveLoop("intake_form"), _said("how much does it cost?", "ask_cost"))
    assert previous_question(tracker) is None


def test_no_context_in_a_new_conversation():
    assert previous_question(_tracker()) is None
    assert previous_question(None) is None


@pytest.mark.parametrize(
    ("text", "statement", "question"),
    [
        (
            "I've been feeling really low since my divorce, how long is the waiting list?",
            "I've been feeling really low since my divorce",
            "how long is the waiting list?",
        ),
        (
            "I've been lonely since I moved here, I don't know anyone. is it weekly",
            "I've been lonely since I moved here, I don't know anyone.",
            "is it weekly",
        ),
        (
            "work is awful and I argue with everyone. what is DIT, can it help?",
            "work is awful and I argue with everyone.",
            "what is DIT, can it help?",
        ),
    ],
)
def test_a_message_that_says_something_then_asks_is_split(text, statement, question):
    assert split_question(text) == (statement, question)


@pytest.mark.parametrize(
    "text",
    [
        "how long is the waiting list?",
        "hi, how much is it?",  # too little said before the question to read on its own
        "I've been feeling really low since my divorce",
        "how long is it, and is it weekly?",
        # a question whose second clause opens like one is still one question
        "what support is there, if I have an emergency?",
        "is there parking nearby, how far is the station?",
        # a question first, then another: not a statement then a question
        "I'm blind, will a therapist still take me on? how would forms and stuff work?",
    ],
)
def test_other_messages_are_not_split(text):
    assert split_question(text) is None
