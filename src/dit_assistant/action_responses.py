"""Rasa's check of the action server's replies, with the schema compiled once.

Rasa checks every reply of the action server against its response schema with
``jsonschema.validate``, which first checks that schema against the JSON Schema metaschema: on
every custom action call, for a schema that never changes. With py-spy on one conversation (one
sender, bench's script) that was about a quarter of the Rasa server's active CPU per turn. The
check installed here compiles the same schema once and rejects exactly what
``jsonschema.validate`` rejected, with Rasa's own message.
"""

from __future__ import annotations

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


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with a compiled validator: True, or the error
    ``jsonschema.validate`` would raise (its best match), with Rasa's explanation added."""
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
    """Use the compiled check in this process (idempotent). The Rasa server calls it when its
    response generator (``dit_assistant.nlg``) is created."""
    RemoteAction._validate_action_result = validate_action_result


__all__ = ["ValidationError", "install", "response_validator", "validate_action_result"]
