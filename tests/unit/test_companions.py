"""Which messages read as follow-ups, which previous messages set a context for them, how a
message that says something then asks a question is split, and when a reading with the context
replaces the message's own."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from dit_assistant.nlu.companions import (
    FOLLOW_UP,
    PREVIOUS_TOPIC,
    QUESTION,
    CompanionResolver,
    previous_answered_question,
    reads_as_follow_up,
    split_question,
)


@pytest.mark.parametrize(
    "text",
    [
        "and weekends?",
        "what about by phone?",
        "how long are they?",
        "why that long?",
        "And is that per session",
        "so I don't have to stop them?",
        "meaning?",
        "How so?",
        # a question too short to stand alone, whatever the words
        "for students?",
        "with who?",
        "a woman?",
        # a fragment that finishes the question before
        "even if mine was fine?",
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
        # short, but no question: a request of its own
        "help",
        "speak to someone",
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
    assert previous_answered_question(tracker) == ("how much does it cost?", "ask_cost")


@pytest.mark.parametrize("intent", ["greet", "risk_suicide", "request_appointment", "nlu_fallback"])
def test_other_messages_set_none(intent):
    assert previous_answered_question(_tracker(_said("hello there", intent))) is None


def test_no_context_while_a_form_waits_for_an_answer():
    """Inside the enquiry form, "it's Sam" after a question asked mid-form is the form's answer,
    not a follow-up to that question."""
    tracker = _tracker(ActiveLoop("intake_form"), _said("how much does it cost?", "ask_cost"))
    assert previous_answered_question(tracker) is None


def test_no_context_in_a_new_conversation():
    assert previous_answered_question(_tracker()) is None
    assert previous_answered_question(None) is None


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


def _read(text: str, intent: str, confidence: float) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    return message


@pytest.fixture
def resolver() -> CompanionResolver:
    return CompanionResolver(CompanionResolver.get_default_config())


@pytest.mark.parametrize(
    ("text", "own", "joint", "taken"),
    [
        # opens by continuing: a lead of 0.2 is enough
        ("what about for my insurer?", ("ask_referral_routes", 0.78), ("ask_letters", 1.0), True),
        ("and weekends?", ("ask_frequency", 0.6), ("ask_appointment_times", 0.85), True),
        ("and weekends?", ("ask_frequency", 0.7), ("ask_appointment_times", 0.85), False),
        # all a request to explain the answer before: a continuation too
        ("what does that mean?", ("out_of_scope", 0.46), ("ask_psychodynamic", 0.71), True),
        ("What do you mean?", ("ask_unconscious", 0.6), ("ask_phases", 0.85), True),
        ("what does that mean for me?", ("out_of_scope", 0.46), ("ask_psychodynamic", 0.71), False),
        # leans back only by a pointer word: the full margin of 0.3
        ("how long are they?", ("ask_total_duration", 0.6), ("ask_session_length", 0.85), False),
        ("how long are they?", ("ask_total_duration", 0.5), ("ask_session_length", 0.85), True),
        # a reading of risk is never replaced, however it opens
        ("and what if I'm gone by then", ("risk_suicide", 0.3), ("ask_waiting_time", 1.0), False),
    ],
)
def test_a_follow_up_takes_the_reading_with_its_context_by_a_clear_lead(
    resolver, text, own, joint, taken
):
    whole, companion = _read(text, *own), _read(f"earlier question {text}", *joint)
    assert resolver.takes_reading(whole, companion, FOLLOW_UP) is taken


def test_the_continuation_margin_is_for_follow_ups_only(resolver):
    whole = _read("and I'm anxious, can I come weekly?", "ask_frequency", 0.6)
    question = _read("can I come weekly?", "ask_appointment_times", 0.85)
    assert resolver.takes_reading(whole, question, QUESTION) is False


def _follow_up(text: str, intent: str, confidence: float, previous_topic: str) -> Message:
    companion = _read(f"earlier question {text}", intent, confidence)
    companion.set(PREVIOUS_TOPIC, previous_topic)
    return companion


@pytest.mark.parametrize(
    ("own", "joint", "previous_topic", "taken"),
    [
        # read alone as outside the service, with its question as that question's topic: taken
        (("out_of_scope", 0.91), ("ask_missed_session", 0.99), "ask_missed_session", True),
        # read alone as an everyday remark, which is no reading of a topic either: taken
        (("small_talk", 0.91), ("ask_missed_session", 0.99), "ask_missed_session", True),
        # not confident enough together
        (("out_of_scope", 0.91), ("ask_missed_session", 0.8), "ask_missed_session", False),
        # together it reads as another topic than the question before: the margin decides
        (("out_of_scope", 0.91), ("ask_cost", 0.99), "ask_missed_session", False),
        # an ordinary reading of its own keeps the margin
        (("ask_cost", 0.91), ("ask_missed_session", 0.99), "ask_missed_session", False),
        # risk is never replaced
        (("risk_suicide", 0.5), ("ask_waiting_time", 1.0), "ask_waiting_time", False),
    ],
)
def test_a_follow_up_read_as_out_of_scope_continues_the_question_it_follows(
    resolver, own, joint, previous_topic, taken
):
    """ "does that count as one of the 16?" after "what if I miss a week?" reads alone as outside
    the service (0.91) and with its question as missing a session (0.99)."""
    text = "does that count as one of the 16?"
    whole, companion = _read(text, *own), _follow_up(text, *joint, previous_topic)
    assert resolver.takes_reading(whole, companion, FOLLOW_UP) is taken
