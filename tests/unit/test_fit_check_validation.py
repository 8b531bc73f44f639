"""The "Is DIT right for me?" check (bot/actions/fit_check.py), called the way the action server
calls it: how each reply is read, which suggestion the answers lead to, and that the answers are
forgotten when the check ends. No server, model or database."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.fit_check import (
    FIT_SLOTS,
    NO,
    UNSURE,
    YES,
    ActionCancelFitCheck,
    ActionFitCheckResult,
    ValidateFitCheckForm,
    read_answer,
    suggestion,
)
from tests.fixtures.trackers import domain, responses, run, tracker

FORM = ValidateFitCheckForm()
FORGOTTEN = [SlotSet(slot, None) for slot in FIT_SLOTS] + [SlotSet("requested_slot", None)]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", YES),
        ("Yes!", YES),
        ("yeah", YES),
        ("mostly", YES),
        ("i think so", YES),
        ("no", NO),
        ("nope", NO),
        ("not really", NO),
        ("not sure", UNSURE),
        ("maybe", UNSURE),
        ("I don't know", UNSURE),
        ("idk", UNSURE),
        ("skip", UNSURE),  # skipping a question is not a "no"
        ("I'd rather not", UNSURE),
        ("purple", None),
        ("how much does it cost?", None),
        ("", None),
    ],
)
def test_replies_in_peoples_words(text, answer):
    assert read_answer(text, None) == answer


@pytest.mark.parametrize(("intent", "answer"), [("affirm", YES), ("deny", NO)])
def test_the_classifier_can_read_a_reply_the_word_lists_do_not(intent, answer):
    assert read_answer("absolutely, that sounds like me", intent) == answer


@pytest.mark.parametrize(
    ("focus", "weekly", "specialist", "closing"),
    [
        (YES, YES, NO, "utter_fit_check_worth_talking"),
        (YES, YES, YES, "utter_fit_check_talk_first"),
        (NO, YES, NO, "utter_fit_check_talk_first"),
        (YES, NO, NO, "utter_fit_check_talk_first"),
        (UNSURE, YES, NO, "utter_fit_check_talk_first"),
        (YES, YES, UNSURE, "utter_fit_check_talk_first"),
    ],
)
def test_only_a_clear_match_suggests_talking_to_the_clinic(focus, weekly, specialist, closing):
    assert suggestion(focus, weekly, specialist) == closing


@pytest.mark.parametrize("slot", FIT_SLOTS)
def test_each_question_takes_a_reply(slot):
    dispatcher = CollectingDispatcher()
    validator = getattr(FORM, f"validate_{slot}")
    conversation = tracker("yeah", active_loop="fit_check_form")
    assert run(validator("yeah", dispatcher, conversation, domain())) == {slot: YES}
    assert dispatcher.messages == []


def test_a_weak_classifier_verdict_does_not_count_as_a_reply():
    dispatcher = CollectingDispatcher()
    conversation = tracker("hmm", intent="affirm", confidence=0.3, active_loop="fit_check_form")
    result = run(FORM.validate_fit_focus("hmm", dispatcher, conversation, domain()))
    assert result == {"fit_focus": None}
    assert responses(dispatcher) == ["utter_fit_check_unclear"]


def test_a_question_instead_of_a_reply_is_answered_and_the_question_stays():
    dispatcher = CollectingDispatcher()
    text = "how much does it cost?"
    conversation = tracker(text, intent="ask_cost", active_loop="fit_check_form")
    result = run(FORM.validate_fit_weekly(text, dispatcher, conversation, domain()))
    assert result == {"fit_weekly": None}
    assert responses(dispatcher) == ["utter_ask_cost"]


def test_the_result_is_a_suggestion_and_the_answers_are_forgotten():
    slots = {"fit_focus": YES, "fit_weekly": YES, "fit_specialist": NO}
    dispatcher = CollectingDispatcher()
    events = ActionFitCheckResult().run(dispatcher, tracker(slots=slots), domain())
    assert responses(dispatcher) == ["utter_fit_check_worth_talking"]
    assert events == FORGOTTEN


def test_no_suggestion_without_all_three_answers():
    slots = {"fit_focus": YES, "fit_weekly": None, "fit_specialist": NO}
    dispatcher = CollectingDispatcher()
    events = ActionFitCheckResult().run(dispatcher, tracker(slots=slots), domain())
    assert dispatcher.messages == []
    assert events == FORGOTTEN


def test_stopping_the_check_forgets_the_answers():
    events = ActionCancelFitCheck().run(CollectingDispatcher(), tracker(), domain())
    assert events == [ActiveLoop(None), *FORGOTTEN]
