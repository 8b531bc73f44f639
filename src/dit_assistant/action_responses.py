"""Rasa's check of the action server's replies: the same verdicts, at a fraction of the cost.

Rasa checks every reply of the action server against its response schema with
``jsonschema.validate``, which first checks that schema against the JSON Schema metaschema: on
every custom action call, for a schema that never changes. With py-spy on one conversation (one
sender, bench's script) that was about a quarter of the Rasa server's active CPU per turn. The
check installed here compiles the schema once.

Even compiled, the schema is slow on the replies our actions send: each event must match exactly
one of 23 alternatives (``oneOf``), so every event was tried against all 23, 3.5 ms for a reply
that resets a dozen slots (the enquiry form's cancel). But each alternative fixes the event's
``event`` name to a different constant, and the event's own part of the schema requires that
name as a string. So an event is valid exactly when it passes the shared part and the one
alternative named by its ``event``, and no other alternative can match it. The check here tries
that one alternative only (:func:`is_valid_reply`), and gives the full ``jsonschema`` verdict,
with its message, whenever the quick check rejects a reply.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator of Rasa's action response schema, its schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@dataclass(frozen=True)
class SplitSchema:
    """Rasa's response schema without the events' ``oneOf``, and each alternative by name."""

    shared: Any
    by_event: dict[str, Any]


@lru_cache(maxsize=1)
def split_schema() -> SplitSchema | None:
    """The schema split by event name, or None if its shape no longer allows it (every
    alternative must fix ``event`` to its own constant, and events must require ``event`` as a
    string): then every reply gets the full check."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    cls = validators.validator_for(schema)
    try:
        items = schema["properties"]["events"]["items"]
        alternatives = items.pop("oneOf")
        names = [alternative["properties"]["event"]["const"] for alternative in alternatives]
        requires_name = "event" in items["required"]
        name_is_string = items["properties"]["event"] == {"type": "string"}
    except (KeyError, TypeError):
        return None
    distinct = len(set(names)) == len(names) and all(isinstance(name, str) for name in names)
    if not (distinct and requires_name and name_is_string and items.get("type") == "object"):
        return None
    return SplitSchema(
        cls(schema), {name: cls(alt) for name, alt in zip(names, alternatives, strict=True)}
    )


def is_valid_reply(result: Any) -> bool:
    """Whether ``jsonschema.validate`` accepts this reply, trying each event against its own
    alternative only."""
    split = split_schema()
    if split is None:
        return bool(response_validator().is_valid(result))
    if not split.shared.is_valid(result):
        return False
    for event in result.get("events") or []:
        # The shared part made each event an object with a string "event".
        alternative = split.by_event.get(event["event"])
        if alternative is None or not alternative.is_valid(event):
            return False
    return True


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result``: True, or the error ``jsonschema.validate``
    would raise (its best match), with Rasa's explanation added."""
    if is_valid_reply(result):
        return True
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Use the quick check in this process (idempotent). The Rasa server calls it when its
    response generator (``dit_assistant.nlg``) is created."""
    RemoteAction._validate_action_result = validate_action_result


__all__ = [
    "ValidationError",
    "install",
    "is_valid_reply",
    "response_validator",
    "split_schema",
    "validate_action_result",
]
