"""Dialogue states carried on from one prediction to the next are the states Rasa's full replay
builds, at every prediction of conversations generated from what people send (the enquiry form,
its unhappy paths, fallbacks that revert a message, risk replies), and most predictions of a
turn do carry on instead of replaying the whole conversation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant import dialogue_states

MESSAGES = [
    "hello",
    "what is DIT?",
    "and how long is each one?",
    "I'd like to book an assessment",
    "is DIT right for me?",
    "yes",
    "no",
    "Sam",
    "phone",
    "07700 900123",
    "sam@example.com",
    "cancel",
    "I want to kill myself",
    "I'm safe, thanks",
    "asdkjh qwpoeiru",
    "🙂",
    "can I talk to a person",
    "thanks, bye",
]


class Checked:
    """``past_states`` that also asks Rasa's own and records any difference."""

    def __init__(self) -> None:
        self.calls = 0
        self.differences: list[tuple[list[Any], list[Any]]] = []

    def __call__(self, tracker: DialogueStateTracker, domain: Any, *args: Any, **kwargs: Any):
        ours = dialogue_states.past_states(tracker, domain, *args, **kwargs)
        rasas = dialogue_states.rasa_past_states()(tracker, domain, *args, **kwargs)
        self.calls += 1
        if ours != rasas:
            self.differences.append((ours, rasas))
        return ours


@pytest.fixture()
def checked(bot, monkeypatch) -> Checked:
    check = Checked()

    def past_states(self: DialogueStateTracker, domain: Any, *args: Any, **kwargs: Any):
        return check(self, domain, *args, **kwargs)

    monkeypatch.setattr(DialogueStateTracker, "past_states", past_states)
    return check


def test_the_served_bot_carries_dialogue_states_on(bot):
    assert DialogueStateTracker.past_states is dialogue_states._past_states_method
    assert dialogue_states.rasa_past_states() is not dialogue_states._past_states_method


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=12))
def test_carried_on_states_are_rasas_at_every_prediction(bot, checked, monkeypatch, messages):
    builds = []
    build = dialogue_states._build
    monkeypatch.setattr(dialogue_states, "_build", lambda *a: builds.append(1) or build(*a))
    before = checked.calls
    conversation = bot.new_conversation()
    for text in messages:
        conversation.say(text)
    calls = checked.calls - before
    assert checked.differences == []
    assert calls > len(messages)  # at least one prediction a turn, two readings of the first
    assert len(builds) < calls


def test_events_that_rewrite_history_build_the_states_again(bot):
    """A new session, a reverted message and a form run again each make Rasa's replay drop
    events: the states must then be built afresh, not carried on."""
    domain = bot.agent.domain
    tracker = DialogueStateTracker("rewrites", domain.slots)
    rasas = dialogue_states.rasa_past_states()

    def step(*events: Any) -> None:
        for event in events:
            tracker.update(event)
        assert dialogue_states.past_states(tracker, domain) == rasas(tracker, domain)

    step(ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"))
    step(UserUttered("hi", {"name": "greet", "confidence": 1.0}))
    step(ActionExecuted("utter_greet"), ActionExecuted("action_listen"))
    step(UserUttered("book", {"name": "request_appointment", "confidence": 1.0}))
    step(ActionExecuted("intake_form"), ActiveLoop("intake_form"))
    step(ActionExecuted("action_listen"), UserUttered("yes", {"name": "affirm", "confidence": 1.0}))
    step(ActionExecuted("intake_form"))
    step(ActionExecuted("action_listen"), UserUttered("x", {"name": "nlu_fallback"}))
    step(ActionExecuted("action_default_fallback"), UserUtteranceReverted())
    step(ActionExecuted("action_listen"), UserUttered("no", {"name": "deny", "confidence": 1.0}))
    step(ActionExecuted("utter_intake_cancelled"), ActionReverted())
    step(ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"))


def test_what_a_caller_does_to_the_states_it_got_does_not_reach_the_next_call(bot):
    """Rasa's featurizer removes the intent or the text from the last user state it is given,
    and with rule-only turns hidden a state shares its user part with the one before."""
    domain = bot.agent.domain
    conversation = bot.new_conversation()
    for text in ["hello", "I'd like to book an assessment", "yes", "what is DIT?"]:
        conversation.say(text)
    tracker = bot.run(bot.agent.tracker_store.retrieve(conversation.sender))
    options = {"ignore_rule_only_turns": True, "rule_only_data": {"slots": [], "loops": []}}
    expected = dialogue_states.rasa_past_states()(tracker, domain, **options)
    for _ in range(2):
        states = dialogue_states.past_states(tracker, domain, **options)
        assert states == expected
        for state in states:
            for sub_state in state.values():
                sub_state.clear()
