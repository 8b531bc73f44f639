"""Greeting, small talk, fallback and bad input: every message gets a clear, kind answer."""

from __future__ import annotations

import pytest


def test_greeting_says_it_is_automated_and_offers_topics(conversation, settings):
    turn = conversation.say("hi")
    assert turn.responses == ["utter_greet"]
    assert "automated assistant" in turn.text
    assert settings.clinic.name in turn.text
    assert settings.helplines.emergency in turn.text
    payloads = [b["payload"] for b in turn.buttons]
    assert "/ask_what_is_dit" in payloads and "/ask_cost" in payloads


def test_quick_reply_buttons_lead_to_their_answers(conversation):
    buttons = conversation.say("hello").buttons
    for button in buttons:
        topic = button["payload"].lstrip("/")
        assert conversation.say(button["payload"]).responses == [f"utter_{topic}"]


@pytest.mark.parametrize(
    ("message", "response"),
    [
        ("are you a real person?", "utter_iamabot"),
        ("am i talking to a bot", "utter_iamabot"),
        ("thanks so much", "utter_thank"),
        ("bye", "utter_goodbye"),
        ("can I speak to a human please", "utter_human_handoff"),
        ("what's the weather tomorrow", "utter_out_of_scope"),
        ("can you write me a python script", "utter_out_of_scope"),
        ("Bonjour, qu'est-ce que la thérapie DIT ?", "utter_non_english"),
        ("¿Cuánto cuesta la terapia?", "utter_non_english"),
    ],
)
def test_conversation_intents(conversation, message, response):
    assert conversation.say(message).responses == [response]


def test_human_handoff_gives_contact_details(conversation, settings):
    turn = conversation.say("I want to talk to someone at the clinic")
    assert settings.clinic.phone in turn.text
    assert settings.clinic.hours in turn.text
    assert settings.clinic.email in turn.text


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "asdkjh qwpoeiru zxmcnv",
        "<script>alert(1)</script>",
        "x" * 5000,
        '{"malformed": ',
    ],
    ids=["empty", "blank", "gibberish", "markup", "huge", "json"],
)
def test_bad_input_gets_a_kind_answer(conversation, message):
    turn = conversation.say(message)
    assert turn.messages, f"no reply to {message!r}"
    assert turn.responses[0] in {"utter_default", "utter_out_of_scope", "utter_non_english"}
    assert "Sorry" in turn.text


@pytest.mark.parametrize("message", ["🙂🙂🙂", "👍", "😢", "?!...", "\x00\x01\x02"])
def test_messages_without_words_are_asked_to_rephrase(conversation, message):
    assert conversation.say(message).responses == ["utter_default"]


def test_someone_describing_their_difficulties_is_acknowledged(conversation, settings):
    turn = conversation.say("I've been feeling really low and lonely since my divorce")
    assert turn.responses == ["utter_share_difficulty"]
    assert "Thank you for telling me" in turn.text
    assert settings.helplines.emergency in turn.text


def test_fallback_says_honestly_it_has_no_answer_and_offers_the_team(conversation, settings):
    turn = conversation.say("blorp fizzwang")
    assert turn.responses == ["utter_default"]
    assert "I don't have an answer to that" in turn.text
    assert "another way" not in turn.text, "no loop of 'please rephrase'"
    assert settings.clinic.phone in turn.text and settings.clinic.email in turn.text
    assert len(turn.buttons) >= 4
    assert "/request_appointment" in {b["payload"] for b in turn.buttons}


@pytest.mark.parametrize(
    "message",
    [
        "what's the best way to learn the guitar",
        "can you recommend a good hairdresser",
        "who will win the election",
    ],
)
def test_questions_it_cannot_answer_get_the_honest_unknown(conversation, settings, message):
    turn = conversation.say(message)
    assert turn.responses[0] in {"utter_out_of_scope", "utter_default"}, turn.responses
    assert "I don't have an answer to that" in turn.text
    assert settings.clinic.phone in turn.text


@pytest.mark.parametrize(
    "remark",
    [
        "my kettle finally gave up the ghost this morning",
        "the dog pinched my sandwich off the counter again",
        "we got absolutely thrashed at the pub quiz last night",
        "my nan's lasagne is to die for",
    ],
)
def test_an_everyday_remark_gets_the_honest_reply_and_no_alarm(conversation, settings, remark):
    """A remark that asks nothing, with or without a word of death or violence, is neither risk
    nor a question: the honest reply with the team's contacts (docs/risk-precision.md,
    "Everyday remarks, landed")."""
    turn = conversation.say(remark)
    assert not turn.is_alarm, turn.responses
    assert turn.responses[0] in {"utter_out_of_scope", "utter_default"}, turn.responses
    assert settings.clinic.phone in turn.text


def test_conversation_continues_after_fallback(conversation):
    conversation.say("qwerty uiop")
    assert conversation.say("how many sessions are there").responses == [
        "utter_ask_number_of_sessions"
    ]
