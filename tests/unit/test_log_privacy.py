"""Log redaction (``dit_assistant.log_privacy``) and actions that contain their own failures,
without a server: what Rasa's own log lines look like, before and after."""

from __future__ import annotations

import json
import logging

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.contained import contained
from dit_assistant.log_privacy import REDACTED, install, redact, redact_record
from tests.fixtures.trackers import domain, run, tracker

NAME, EMAIL, PHONE = "Zephyrine Quillfeather", "zeph.q@example.net", "07911 123456"


@pytest.mark.parametrize(
    "line",
    [
        json.dumps({"parse_data_text": f"I am {NAME}", "event": "processor.message.parse"}),
        json.dumps({"rasa_events": [f"SlotSet(key: intake_name, value: {NAME})"], "event": "x"}),
        json.dumps({"slot_values": f"\tintake_name: {NAME}\n\tintake_adult: True", "event": "x"}),
        json.dumps({"slot_candidates": {"intake_name": NAME}, "event": "forms.slots.validate"}),
        json.dumps({"user_text": f"/greet{{}} {NAME}", "event": "message.parsing.failed"}),
        f"The execution of 'intake_form' resulted in these events: SlotSet(key: n, value: {NAME})",
        f"[UserUttered(text: {NAME}, intent: greet, entities: []), BotUttered({NAME}, {{}})]",
        f"Current slot values: \n\tintake_name: {NAME}\n\trequested_slot: None",
        f"Failed to parse arguments in line '/greet{{ }} {NAME}'. Continuing without ...",
        f"processor.message.parse  parse_data_text='{NAME}' event=x",
        f"mail {EMAIL} and phone {PHONE} or +447911123456 in any line",
    ],
)
def test_conversation_content_is_redacted(line):
    redacted = redact(line)
    for secret in (NAME, EMAIL, PHONE, "447911123456", "Quillfeather"):
        assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "line",
    [
        "Predicted next action 'utter_greet' with confidence 0.9961179735787411.",
        "purged 3 enquiries closed before 2025-12-03 10:00",
        "Acquiring lock for conversation '67b94fa48ffc4ee7815d9c15df7be8b8'.",
        json.dumps({"event": "processor.actions.policy_prediction", "confidence": 0.93}),
    ],
)
def test_ordinary_log_lines_are_kept(line):
    assert json.loads(redact(line)) == json.loads(line) if line.startswith("{") else True
    if not line.startswith("{"):
        assert redact(line) == line


def test_records_lose_their_arguments_and_tracebacks_are_redacted():
    try:
        raise ValueError(f"not a phone number: {PHONE}")
    except ValueError:
        import sys

        record = logging.LogRecord("rasa", logging.ERROR, __file__, 1, "got %s", (NAME,), None)
        record.exc_info = sys.exc_info()
    redact_record(record)
    formatted = logging.Formatter().format(record)
    assert NAME not in formatted and PHONE not in formatted
    assert "ValueError" in formatted


def test_install_redacts_records_of_every_logger(caplog):
    install()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("rasa.core.processor").debug(
            "Received user message '%s' from %s", NAME, EMAIL
        )
    text = caplog.text
    assert NAME not in text and EMAIL not in text
    assert "Received user message" in text


class _Broken(Action):
    def name(self) -> str:
        return "action_broken"

    def run(self, dispatcher, tracker, domain):
        raise KeyError(NAME)


def test_an_action_that_raises_apologises_and_logs_only_the_error_type(caplog, settings):
    action = contained(_Broken)()
    dispatcher = CollectingDispatcher()
    conversation = tracker(NAME, slots={"requested_slot": "intake_name"})
    with caplog.at_level(logging.DEBUG):
        events = action.run(dispatcher, conversation, domain())
    assert events == [{"event": "slot", "timestamp": None, "name": "intake_name", "value": None}]
    assert settings.clinic.phone in dispatcher.messages[0]["text"]
    assert "action_broken failed: KeyError" in caplog.text
    assert NAME not in caplog.text


class _BrokenForm(Action):
    def name(self) -> str:
        return "validate_broken_form"

    async def run(self, dispatcher, tracker, domain):
        raise TypeError(NAME)


def test_a_form_validation_that_raises_does_not_take_the_answer(settings):
    dispatcher = CollectingDispatcher()
    conversation = tracker(NAME, slots={"requested_slot": "intake_name"})
    events = run(contained(_BrokenForm)().run(dispatcher, conversation, domain()))
    assert events == [{"event": "slot", "timestamp": None, "name": "intake_name", "value": None}]
    assert settings.clinic.email in dispatcher.messages[0]["text"]


def test_every_custom_action_contains_its_failures():
    from rasa_sdk.utils import all_subclasses

    import bot.actions.fit_check
    import bot.actions.intake
    import bot.actions.safety  # noqa: F401

    ours = [cls for cls in all_subclasses(Action) if cls.__module__.startswith("bot.actions.")]
    assert len(ours) >= 8
    assert all(getattr(cls, "contained", False) for cls in ours), ours
