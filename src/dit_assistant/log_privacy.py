"""Keeps what people write out of every log line, at every level.

Rasa logs message texts, slot values, events and tracker states (mostly at DEBUG, through
structlog), Rasa's warnings quote unparsable messages, and an exception's message or traceback
may carry a value. :func:`install` makes every log record of the process pass through
:func:`redact` when it is created:

- structured (JSON) log lines lose the values of the keys that carry conversation content
  (Rasa's own list of anonymisable keys, and a few more);
- Rasa's event and slot dumps (``SlotSet(key: x, value: ...)``, ``UserUttered(text: ...)``,
  ``BotUttered(...)``, ``slot: value`` lines) lose their values;
- email addresses and phone numbers (nine digits or more) are replaced wherever they appear;
- other libraries' ``%s`` arguments are kept only when they are numbers or identifiers;
- tracebacks are formatted once and redacted the same way.

It is a log record factory rather than a filter on handlers because handlers come and go
(Rasa, Sanic and coloredlogs each install their own, some after start-up) and a filter on a
logger does not see records propagated from its children; the factory sees every record the
process creates. Python warnings are routed into logging so that they pass through it too.

Every process we start installs it: the Rasa server and the action server through
``python -m dit_assistant.rasa_cli`` (and again when they import the channels or the actions,
for a server started with plain ``rasa``), the page server and the staff tools at start-up.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"

# Keys of structured log events that carry conversation content: Rasa's anonymisable keys
# (rasa.utils.log_utils._anonymizer) and the others seen in its logs.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "entities",
        "token_text",
        "user_message",
        "json_message",
        "events",
        "tracker",
        "slots",
        "value",
        "metadata",
        "latest_message",
        "utter_action",
        "exception",
        "exc_info",
    }
)

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{7,}\d(?![\w])")
_SLOT_VALUE = re.compile(r"(\bvalue: ).*?(?=\)(?:, |\]|\"|'|$))", re.S)
_EVENT_TEXT = re.compile(
    r"(\b(?:UserUttered|BotUttered)\()(.*?)(?=\)(?:, [A-Z]\w*\(|\]|\"|$))", re.S
)
_TEXT_FIELD = re.compile(r"(\btext: ).*?(?=, (?:intent|entities|data|metadata)\b|\)$)", re.S)
_SLOT_LINE = re.compile(r"^(\s*\t?[a-z_][a-z0-9_]*: ).+$", re.M)
_KEY_VALUE = re.compile(
    r"\b(" + "|".join(sorted(SENSITIVE_KEYS)) + r")=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)"
)
_QUOTED_LINE = re.compile(r"(\bin line )'.*'", re.S)


_NOT_A_PHONE = re.compile(r"\d+\.\d+|\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?")  # decimals, dates


def _phone_like(match: re.Match[str]) -> str:
    found = match.group(0)
    if _NOT_A_PHONE.fullmatch(found.strip()):
        return found
    return REDACTED if sum(char.isdigit() for char in found) >= 9 else found


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SENSITIVE_KEYS else _redact_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(item) for item in value]
    if isinstance(value, str):
        return redact_free_text(value)
    return value


def redact_free_text(text: str) -> str:
    """Dumps of events and slots, email addresses and phone numbers, in any text."""
    text = _EVENT_TEXT.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SLOT_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _TEXT_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _QUOTED_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    if "slot" in text.lower():
        text = _SLOT_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(_phone_like, text)


def redact(text: str) -> str:
    """``text`` with conversation content replaced by ``[redacted]``."""
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            pass
        else:
            if isinstance(parsed, dict):
                return json.dumps(_redact_json(parsed), ensure_ascii=False)
    return redact_free_text(text)


OWN_LOGGERS = ("dit_assistant", "bot.actions", "actions")
"""Our own code, which logs references, counts and error types, never content (tested)."""
_SAFE_ARGUMENT = re.compile(r"[\w.:/-]*[_.:/\d][\w.:/-]*")


def _safe_argument(value: Any) -> Any:
    """An argument of another library's log call: numbers and identifiers (``utter_greet``,
    paths, URLs, hosts) are kept; any other text may be what a person wrote."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= 200 and _SAFE_ARGUMENT.fullmatch(text) else REDACTED


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, arguments and traceback redacted, for every handler."""
    if record.args and not record.name.startswith(OWN_LOGGERS):
        if isinstance(record.args, dict):
            record.args = {key: _safe_argument(value) for key, value in record.args.items()}
        else:
            record.args = tuple(_safe_argument(value) for value in record.args)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not break logging
        message = str(record.msg)
    record.msg = redact(message)
    record.args = ()
    if record.exc_info:
        formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(formatted)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_INSTALLED = False


def install() -> None:
    """Redact every log record this process creates from now on (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    logging.captureWarnings(True)
    _INSTALLED = True
