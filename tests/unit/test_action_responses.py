"""The compiled check of the action server's replies accepts and rejects what Rasa's own did."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from dit_assistant import action_responses

REPLIES: list[Any] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "name", "value": "Sam"}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "active_loop", "name": None}], "responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [{"event": "slot"}], "responses": "text"},
    {"responses": [1, 2]},
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
    assert sum(_rasa_verdict(reply) is not None for reply in REPLIES) >= 3


def test_install_replaces_rasas_check_in_this_process() -> None:
    action_responses.install()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:9"))
    assert action._validate_action_result({"events": [], "responses": []}) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"events": "not a list"})
