"""The optional "Is DIT right for me?" check, through the trained bot and the action server.

It must end in a suggestion of who to talk to, never in a verdict, and keep nothing."""

from __future__ import annotations

import pytest

from tests.fixtures.bot import Conversation

QUESTIONS = ["utter_ask_fit_focus", "utter_ask_fit_weekly", "utter_ask_fit_specialist"]


@pytest.fixture()
def person(intake) -> Conversation:
    return intake.bot.new_conversation()


def start(person: Conversation) -> None:
    buttons = person.say("who is DIT for?").buttons
    check = [b for b in buttons if b["payload"] == "/start_fit_check"]
    assert check, "the who-it-suits answer offers the check"
    turn = person.say(check[0]["payload"])
    assert turn.responses == ["utter_fit_check_start", QUESTIONS[0]]
    assert "won't decide" in turn.text


@pytest.mark.parametrize(
    ("answers", "ending"),
    [
        (["yes", "yes", "no"], "utter_fit_check_worth_talking"),
        (["yeah", "/affirm", "nope"], "utter_fit_check_worth_talking"),
        (["yes", "yes", "yes"], "utter_fit_check_talk_first"),
        (["no", "yes", "no"], "utter_fit_check_talk_first"),
        (["not sure", "yes", "no"], "utter_fit_check_talk_first"),
        (["yes", "no", "skip"], "utter_fit_check_talk_first"),
    ],
)
def test_the_check_ends_in_who_to_talk_to(person, settings, answers, ending):
    start(person)
    for question, answer in zip(QUESTIONS[1:], answers[:-1], strict=True):
        assert person.say(answer).responses == [question]
    last = person.say(answers[-1])
    assert last.responses == [ending]
    assert "This isn't a decision" in last.text
    if ending == "utter_fit_check_talk_first":
        assert "GP" in last.text and settings.clinic.phone in last.text
    assert any(b["payload"] == "/request_appointment" for b in last.buttons)
    # The check is over: the next message is an ordinary question.
    assert person.say("how long is each session").responses == ["utter_ask_session_length"]


def test_a_question_in_the_middle_is_answered_then_the_check_goes_on(person):
    start(person)
    turn = person.say("how much does it cost?")
    assert turn.responses == ["utter_ask_cost", QUESTIONS[0]]
    assert person.say("yes").responses == [QUESTIONS[1]]


def test_an_unclear_answer_is_asked_again_kindly(person):
    start(person)
    assert person.say("purple").responses == ["utter_fit_check_unclear", QUESTIONS[0]]


def test_the_check_can_be_stopped(person):
    start(person)
    person.say("yes")
    assert person.say("stop").responses == ["utter_fit_check_stopped"]
    assert person.say("what is DIT?").responses == ["utter_ask_what_is_dit"]


def test_crisis_during_the_check_gets_the_crisis_reply_and_ends_it(person):
    start(person)
    turn = person.say("honestly i just want to die")
    assert turn.is_crisis_reply
    assert not any(r.startswith("utter_ask_fit") for r in turn.responses)
    assert person.say("what is DIT?").responses == ["utter_ask_what_is_dit"]
