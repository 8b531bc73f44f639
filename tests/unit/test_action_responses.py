"""The quick check of the action server's replies accepts and rejects what Rasa's own did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.utils.endpoints import EndpointConfig

from dit_assistant import action_responses

RASA_EVENTS = [
    events.UserUttered("hi", {"name": "greet", "confidence": 0.9}, [{"entity": "e", "value": 1}]),
    events.BotUttered("hello", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}),
    events.SlotSet("name", "Sam"),
    events.SlotSet("name", None),
    events.ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0),
    events.ActiveLoop("intake_form"),
    events.ActiveLoop(None),
    events.Restarted(),
    events.SessionStarted(),
    events.AllSlotsReset(),
    events.FollowupAction("action_listen"),
    events.ReminderScheduled("remind", datetime(2030, 1, 1, 9, 0), name="r"),
    events.ReminderCancelled(name="r"),
    events.ActionReverted(),
    events.UserUtteranceReverted(),
    events.StoryExported(),
    events.ConversationPaused(),
    events.ConversationResumed(),
    events.AgentUttered("hi"),
    events.LoopInterrupted(True),
    events.ActionExecutionRejected("intake_form"),
    events.EntitiesAdded([{"entity": "e", "value": "v"}]),
    events.DefinePrevUserUtteredFeaturization(True),
]
"""One of every event an action may return, as Rasa itself writes it."""

REPLIES: list[Any] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "name", "value": "Sam"}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "active_loop", "name": None}], "responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [{"event": "slot"}], "responses": "text"},
    {"responses": [1, 2]},
    {"events": [event.as_dict() for event in RASA_EVENTS], "responses": [{"text": "ok"}]},
    *({"events": [event.as_dict()]} for event in RASA_EVENTS),
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": 7}]},
    {"events": ["slot"]},
    {"events": [None]},
    {"events": [{"event": "slot", "name": "a"}]},
    {"events": [{"event": "slot", "name": 3, "value": 1}]},
    {"events": [{"event": "active_loop", "name": 5}]},
    {"events": [{"event": "user", "parse_data": "not an object"}]},
    {"events": [{"event": "entities"}]},
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "noon"}]},
    {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "bot", "text": 4}]},
    {"events": [{"event": "bot", "text": "hi", "data": {"buttons": "x"}}]},
    [],
    "text",
    None,
]


def _rasa_verdict(reply: Any) -> str | None:
    try:
        jsonschema.validate(reply, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as error:
        return error.message
    return None


@pytest.mark.parametrize("reply", REPLIES)
def test_the_compiled_check_gives_jsonschemas_verdict(reply: Any) -> None:
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:9"))
    expected = _rasa_verdict(reply)
    if expected is None:
        assert action_responses.validate_action_result(action, reply) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action_responses.validate_action_result(action, reply)
        assert raised.value.message.startswith(expected)
        assert "Failed to validate Action server response" in raised.value.message


def test_some_replies_are_rejected() -> None:
    assert sum(_rasa_verdict(reply) is not None for reply in REPLIES) >= 15
    assert sum(_rasa_verdict(reply) is None for reply in REPLIES) >= len(RASA_EVENTS) + 3


def test_every_event_of_rasa_is_checked_against_its_own_alternative() -> None:
    split = action_responses.split_schema()
    assert split is not None, "Rasa's response schema changed shape: every reply is fully checked"
    assert {event.type_name for event in RASA_EVENTS} <= set(split.by_event)


# Generated replies: events named by any of Rasa's names or none, with any of the schema's
# properties, holding values of any JSON type.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "text", "value", "intent", "x"]), children)
    ),
    max_leaves=6,
)
_NAMES = st.sampled_from(sorted({event.type_name for event in RASA_EVENTS} | {"", "topic"}))
_KEYS = st.sampled_from(
    [
        "name",
        "value",
        "text",
        "timestamp",
        "metadata",
        "parse_data",
        "entities",
        "data",
        "policy",
        "confidence",
        "intent",
        "trigger_date_time",
        "is_interrupted",
        "use_text_for_featurization",
    ]
)
_EVENT = st.one_of(
    st.fixed_dictionaries({"event": _NAMES}, optional={"x": _JSON}).flatmap(
        lambda event: st.dictionaries(_KEYS, _JSON, max_size=4).map(lambda more: {**more, **event})
    ),
    st.builds(lambda event: event.as_dict(), st.sampled_from(RASA_EVENTS)),
    _JSON,
)
_REPLY = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"events": st.lists(_EVENT, max_size=4), "responses": _JSON}
    ),
    _JSON,
)


@settings(max_examples=400, deadline=None)
@given(_REPLY)
def test_the_quick_check_agrees_with_jsonschema_on_generated_replies(reply: Any) -> None:
    # The whole schema, compiled: jsonschema.validate's verdict (the test above) without
    # checking the schema itself again for every example.
    full = action_responses.response_validator().is_valid(reply)
    assert action_responses.is_valid_reply(reply) == full


def test_install_replaces_rasas_check_in_this_process() -> None:
    action_responses.install()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:9"))
    assert action._validate_action_result({"events": [], "responses": []}) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"events": "not a list"})
