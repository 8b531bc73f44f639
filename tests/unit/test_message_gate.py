"""The gate in front of the bot (``dit_assistant.channels.guard``), without a server: typed
intents only when offered, entities checked against their slots, long messages answered kindly
without reaching the bot, the REST body read strictly, and a conversation store that is down
told to the person while crisis messages are still answered."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from dit_assistant.channels.guard import (
    MessageGate,
    NamespacedOutput,
    admitted_text,
    as_plain_text,
    conversation_id,
    payload_fits_slots,
    store_unavailable_reply,
)
from dit_assistant.channels.rest import caller_admitted, is_json_request, read_message, readiness
from dit_assistant.settings import Service, Settings
from dit_assistant.store import open_database, tracker_store
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from dit_assistant.store.tracker_store import EncryptedTrackerStore
from tests.fixtures.conversations import conversation_store_down
from tests.fixtures.domain import load_domain

CHANGE_NAME = '/intake_change{"intake_field": "intake_name"}'


@cache
def bot_domain() -> Domain:
    return load_domain()


def slots() -> dict[str, Any]:
    return {slot.name: slot for slot in bot_domain().slots}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/greet{ } I want to kill myself", "greet{ } I want to kill myself"),
        ("/risk_suicide", "risk_suicide"),
        ("  //ask_cost", "ask_cost"),
        ("/ /greet", "greet"),
        ("/", ""),
    ],
)
def test_slashes_are_removed_from_typed_intents(text, expected):
    assert as_plain_text(text) == expected
    assert admitted_text(text, offered=[], slots=slots()) == expected


def test_greet_is_always_allowed_and_offered_payloads_pass_unchanged():
    assert admitted_text("/greet", [], slots()) == "/greet"
    assert admitted_text(" /greet ", [], slots()) == "/greet"
    assert admitted_text("/ask_cost", ["/ask_cost"], slots()) == "/ask_cost"
    assert admitted_text(CHANGE_NAME, [CHANGE_NAME], slots()) == CHANGE_NAME
    # ordinary text is never touched
    assert admitted_text("what does it cost?", ["/ask_cost"], slots()) == "what does it cost?"


def test_payloads_that_were_not_offered_become_words():
    assert admitted_text("/ask_cost", ["/ask_what_is_dit"], slots()) == "ask_cost"
    assert admitted_text("/greet@0.1", [], slots()) == "greet@0.1"
    assert admitted_text("/greet I want to die", [], slots()) == "greet I want to die"
    assert admitted_text("/ask_cost hello", ["/ask_cost"], slots()) == "ask_cost hello"


@pytest.mark.parametrize(
    ("payload", "fits"),
    [
        ("/greet", True),
        (CHANGE_NAME, True),
        ('/intake_change{"intake_field": {"a": 1}}', False),
        ('/intake_change{"intake_field": 3}', False),
        ('/intake_change{"intake_field": ["intake_name"]}', False),
        ('/intake_change{"intake_failures": "many"}', False),
        ('/intake_change{"intake_failures": 1}', True),
        ('/intake_change{"intake_field": "x"} and more', False),
        ("/intake_change{not json}", False),
        ('/intake_change{"unknown_entity": {"nested": true}}', False),
        ("/greet@0.9", False),
    ],
)
def test_payload_entities_are_checked_against_their_slots(payload, fits):
    assert payload_fits_slots(payload, slots()) is fits


def test_an_offered_payload_with_entities_of_the_wrong_type_is_read_as_words():
    forged = '/intake_change{"intake_field": {"a": 1}}'
    assert admitted_text(forged, [forged], slots()) == forged[1:]


class _Recorder:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.senders: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message.text or "")
        self.senders.append(message.sender_id)
        # what Rasa does with every reply: send it to the tracker's sender id
        await message.output_channel.send_response(message.sender_id, {"text": "reply"})


def _gate(
    settings: Settings, events: list[Any] | None = None, conversation: str = "rest:someone"
) -> tuple[MessageGate, _Recorder]:
    recorder = _Recorder()
    gate = MessageGate(recorder, settings)
    store = InMemoryTrackerStore(bot_domain())
    if events is not None:
        tracker = store.init_tracker(conversation)
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    agent = SimpleNamespace(tracker_store=store, domain=bot_domain())
    gate._app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))  # what Rasa's app holds
    return gate, recorder


def _send(
    gate: MessageGate,
    text: str,
    sender: str = "someone",
    channel: str = "rest",
    address: str | None = None,
) -> list[dict[str, Any]]:
    """What the gate and the bot behind it sent back, other than the bot's own "reply"."""
    collector = CollectingOutputChannel()
    message = UserMessage(text, collector, sender, input_channel=channel)
    asyncio.run(gate(message, address=address))
    for message in collector.messages:
        assert message["recipient_id"] == sender  # the platform's own id, never the namespaced one
    return [message for message in collector.messages if message.get("text") != "reply"]


def test_gate_passes_only_the_buttons_of_the_last_bot_message(settings):
    offered = [{"title": "Cost", "payload": "/ask_cost"}]
    events = [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        BotUttered("Hello", {"buttons": [{"title": "Old", "payload": "/ask_ending"}]}),
        ActionExecuted("action_listen"),
        UserUttered("and?", {"name": "greet", "confidence": 1.0}),
        BotUttered("Ask me", {"buttons": offered}),
    ]
    gate, recorder = _gate(settings, events)
    for text in ("/ask_cost", "/ask_ending", "/greet", "/greet{ } I want to kill myself"):
        assert _send(gate, text) == []
    assert recorder.received == [
        "/ask_cost",
        "ask_ending",
        "/greet",
        "greet{ } I want to kill myself",
    ]


def test_gate_without_a_conversation_allows_only_greet(settings):
    gate, recorder = _gate(settings)
    _send(gate, "/greet")
    _send(gate, "/request_appointment")
    assert recorder.received == ["/greet", "request_appointment"]


def _with_a_local_service(settings: Settings) -> Settings:
    cafe = Service("Example Borough crisis cafe", "open 6pm to 11pm daily, call 020 7946 0999")
    return replace(settings, clinic=replace(settings.clinic, local_services=(cafe,)))


def test_long_messages_get_a_kind_reply_and_never_reach_the_bot(settings):
    settings = _with_a_local_service(settings)
    limited = replace(settings, max_message_chars=50)
    gate, recorder = _gate(limited)
    assert _send(gate, "x" * 50) == []
    replies = _send(gate, "I want to tell you everything " * 10)
    assert recorder.received == ["x" * 50]
    assert len(replies) == 1
    text = replies[0]["text"]
    assert text.startswith("That message is too long for me to read.")
    assert settings.clinic.phone in text and settings.clinic.email in text
    _says_where_to_get_help_now(settings, text)


def _says_where_to_get_help_now(settings, text):
    # A long message the gate will not read may be someone in crisis: the emergency route, every
    # crisis line of the region and the clinic's own local services, as the crisis replies say.
    assert settings.helplines.emergency in text
    services = [*settings.helplines.helplines, *settings.clinic.local_services]
    assert services and settings.clinic.local_services
    for service in services:
        assert service.as_line() in text


def test_lone_surrogates_reach_the_bot_as_replacement_characters(settings):
    # JSON can carry "\\ud800"; spaCy's tokenizer raised on it and the person got no reply.
    gate, recorder = _gate(settings)
    assert _send(gate, "\ud800 hello \udfff") == []
    assert recorder.received == ["\ufffd hello \ufffd"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "JSON object"),
        (b"[]", "JSON object"),
        (b'{"sender": "x"}', "message"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "", "message": "hi"}', "sender"),
        (b'{"sender": 5, "message": "hi"}', "sender"),
        (b'{"sender": "x", "message": {"text": "hi"}}', "message"),
        (b'{"sender": "' + b"s" * 256 + b'", "message": "hi"}', "sender"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON object"),  # raised RecursionError: a 500
    ],
)
def test_rest_bodies_that_cannot_be_read(body, reason):
    result = read_message(body)
    assert isinstance(result, str) and reason in result


def test_rest_callers_cannot_choose_the_input_channel():
    result = read_message(b'{"sender": "a", "message": "hi", "input_channel": "twilio"}')
    assert result == ("a", "hi", None)
    result = read_message(b'{"sender": "a", "message": "hi", "metadata": {"k": 1}}')
    assert result == ("a", "hi", {"k": 1})


def test_a_sender_over_the_rate_limit_gets_the_crisis_lines_and_is_not_processed(settings):
    settings = _with_a_local_service(settings)
    limited = replace(settings, max_messages_per_minute=3)
    gate, recorder = _gate(limited)
    time.sleep(0.1)  # the storage's own timer thread no longer holds it...
    gc.collect()  # ...and it must outlive a collection (the limiter keeps a weak reference)
    for number in range(3):
        assert _send(gate, f"question {number}") == []
    replies = _send(gate, "I want to kill myself")
    assert recorder.received == ["question 0", "question 1", "question 2"]
    assert len(replies) == 1
    text = replies[0]["text"]
    assert text.startswith("You're sending messages faster than I can read them")
    assert settings.helplines.emergency in text
    _says_where_to_get_help_now(settings, text)
    assert settings.clinic.phone in text


def test_one_sender_over_the_limit_does_not_hold_up_another(settings):
    gate, recorder = _gate(replace(settings, max_messages_per_minute=2))
    for _ in range(5):
        _send(gate, "flood", sender="flooder")
    assert _send(gate, "what is DIT", sender="someone else") == []
    assert recorder.received == ["flood", "flood", "what is DIT"]


def test_an_address_over_its_limit_gets_the_crisis_lines_whichever_sender_it_uses(settings):
    """A script that takes a new widget session or REST sender for every message is refused by
    its address, with the same kind reply as the per-sender limit; other addresses carry on."""
    gate, recorder = _gate(replace(settings, max_messages_per_minute_per_address=3))
    for number in range(3):
        assert _send(gate, f"question {number}", sender=f"s{number}", address="198.51.100.7") == []
    replies = _send(gate, "I want to kill myself", sender="fresh", address="198.51.100.7")
    assert len(replies) == 1
    text = replies[0]["text"]
    assert text.startswith("You're sending messages faster than I can read them")
    assert settings.helplines.emergency in text
    for service in settings.helplines.helplines:
        assert service.name in text
    assert _send(gate, "what is DIT", sender="neighbour", address="198.51.100.8") == []
    assert recorder.received == ["question 0", "question 1", "question 2", "what is DIT"]


def test_messages_refused_by_one_limit_count_against_neither(settings):
    limited = replace(settings, max_messages_per_minute=2, max_messages_per_minute_per_address=4)
    gate, recorder = _gate(limited)
    for _ in range(5):  # one sender floods: only 2 pass, and only those use the address's 4
        _send(gate, "flood", sender="flooder", address="198.51.100.7")
    for name in ("a", "b"):
        assert _send(gate, "hello", sender=name, address="198.51.100.7") == []
    assert len(_send(gate, "hello", sender="c", address="198.51.100.7")) == 1
    assert recorder.received == ["flood", "flood", "hello", "hello"]


@pytest.mark.parametrize(
    ("address", "counted"),
    [
        (None, False),  # platform webhooks: the platform's servers carry everyone's messages
        ("127.0.0.1", False),  # this machine: the terminal chat, a proxy not named as trusted
        ("::1", False),
        ("192.0.2.10", True),
        ("2001:db8:1:2::10", True),
    ],
)
def test_which_messages_are_counted_by_address(settings, address, counted):
    gate, recorder = _gate(replace(settings, max_messages_per_minute_per_address=2))
    for number in range(4):
        _send(gate, "hello", sender=f"person {number}", address=address)
    assert len(recorder.received) == (2 if counted else 4)


def test_one_ipv6_client_is_counted_by_its_64_network(settings):
    gate, recorder = _gate(replace(settings, max_messages_per_minute_per_address=2))
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::9"):
        _send(gate, "hello", sender=host, address=host)
    _send(gate, "hello", sender="elsewhere", address="2001:db8:1:3::1")
    assert len(recorder.received) == 3


def test_conversations_are_named_by_channel_and_replies_reach_the_platforms_id(settings):
    gate, recorder = _gate(settings)
    _send(gate, "hello", sender="+447700900123", channel="twilio")
    _send(gate, "hello", sender="+447700900123", channel="rest")
    assert recorder.senders == ["twilio:+447700900123", "rest:+447700900123"]


def test_a_button_offered_on_one_channel_cannot_be_pressed_from_another(settings):
    offered = [{"title": "Change name", "payload": CHANGE_NAME}]
    events = [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        BotUttered("Here is what I'll send", {"buttons": offered}),
    ]
    gate, recorder = _gate(settings, events, conversation=conversation_id("twilio", "+4477"))
    _send(gate, CHANGE_NAME, sender="+4477", channel="rest")
    _send(gate, CHANGE_NAME, sender="+4477", channel="twilio")
    assert recorder.received == [CHANGE_NAME[1:], CHANGE_NAME]


def test_the_namespaced_output_keeps_the_wrapped_channels_name():
    collector = CollectingOutputChannel()
    output = NamespacedOutput(collector, "socketio")
    assert output.name() == "collector"
    asyncio.run(output.send_text_message("socketio:abc", "hi"))
    asyncio.run(output.send_response("socketio:abc", {"text": "there"}))
    assert [m["recipient_id"] for m in collector.messages] == ["abc", "abc"]


TOKEN = "t" * 40


@pytest.mark.parametrize(
    ("token", "authorization", "address", "expected"),
    [
        ("", None, "127.0.0.1", None),
        ("", None, "::1", None),
        ("", None, "10.0.0.7", 403),
        ("", None, "", 403),
        ("", "Bearer anything", "203.0.113.9", 403),
        (TOKEN, f"Bearer {TOKEN}", "203.0.113.9", None),
        (TOKEN, f"bearer {TOKEN}", "127.0.0.1", None),
        (TOKEN, None, "127.0.0.1", 401),
        (TOKEN, f"Bearer {TOKEN[:-1]}", "127.0.0.1", 401),
        (TOKEN, f"Basic {TOKEN}", "127.0.0.1", 401),
        (TOKEN, TOKEN, "127.0.0.1", 401),
    ],
)
def test_who_may_call_the_rest_channel(settings, token, authorization, address, expected):
    configured = replace(settings, rest_token=token)
    assert caller_admitted(configured, authorization, address) == expected


def _deliver(gate: MessageGate, text: str, channel: str, delivery: str | None) -> None:
    metadata = {"delivery_id": delivery} if delivery else {}
    message = UserMessage(
        text, CollectingOutputChannel(), "someone", input_channel=channel, metadata=metadata
    )
    asyncio.run(gate(message))


def test_an_update_delivered_again_is_handled_once(settings):
    gate, recorder = _gate(settings)
    _deliver(gate, "first", "telegram", "1001")
    _deliver(gate, "first", "telegram", "1001")  # the platform retried
    _deliver(gate, "second", "telegram", "1002")
    _deliver(gate, "other platform", "twilio", "1001")  # ids are per platform
    _deliver(gate, "no id", "rest", None)
    _deliver(gate, "no id", "rest", None)
    assert recorder.received == ["first", "second", "other platform", "no id", "no id"]


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("text/plain", False),
        ("text/plain; charset=utf-8", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=b", False),
        ("", False),
        (None, False),
    ],
)
def test_the_rest_channel_reads_only_json_bodies(content_type, accepted):
    assert is_json_request(content_type) is accepted


# ------------------------------------------------------------- the conversation store down
class _StoreUsingBot:
    """Stands in for Rasa's handling of a message: reads the conversation, keeps the turn."""

    def __init__(self, store: EncryptedTrackerStore, during: Any = None) -> None:
        self.store = store
        self.during = during
        self.received: list[str] = []
        self.found: list[Any] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message.text or "")
        tracker = await self.store.retrieve(message.sender_id)
        self.found.append(tracker)
        tracker = tracker or self.store.init_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, {"name": "greet", "confidence": 1.0}))
        await message.output_channel.send_text_message(message.sender_id, "a reply")
        if self.during is not None:
            with self.during():
                await self.store.save(tracker)
        else:
            await self.store.save(tracker)


INTENTS = {"what is DIT": "ask_what_is_dit", "I want to kill myself": "risk_suicide"}


def _store_gate(settings: Settings, tmp_path: Path, during: Any = None) -> Any:
    database = open_database(f"sqlite:///{tmp_path / 'db' / 'store.sqlite'}")
    store = EncryptedTrackerStore(
        bot_domain(), database_url=database.url, cipher=EnquiryCipher((generate_key(),))
    )
    bot = _StoreUsingBot(store, during)
    gate = MessageGate(bot, settings)

    async def parse_message(text: str) -> dict[str, Any]:
        return {"text": text, "intent": {"name": INTENTS.get(text, "greet"), "confidence": 1.0}}

    agent = SimpleNamespace(
        tracker_store=FailSafeTrackerStore(store),  # as Rasa's agent wraps every store
        domain=bot_domain(),
        is_ready=lambda: True,
        parse_message=parse_message,
    )
    gate._app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
    return gate, bot, store


def test_while_the_store_is_down_people_get_the_clinics_contacts(settings, tmp_path, caplog):
    gate, bot, store = _store_gate(settings, tmp_path)
    caplog.set_level(logging.INFO)
    with conversation_store_down(store):
        replies = _send(gate, "what is DIT")
    assert bot.received == []
    assert [r["text"] for r in replies] == [store_unavailable_reply(settings)]
    text = replies[0]["text"]
    assert settings.clinic.phone in text and settings.clinic.email in text
    assert "answered with the clinic's contacts" in caplog.text
    assert "what is DIT" not in caplog.text


def test_while_the_store_is_down_a_crisis_message_still_reaches_the_bot(
    settings, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(tracker_store, "FRESH_FOR_S", 0.0)  # probed at once, not a second later
    monkeypatch.setattr(tracker_store, "RETRY_AFTER_S", 0.0)
    gate, bot, store = _store_gate(settings, tmp_path)
    _send(gate, "hello")  # a conversation the crisis turn must not build on, nor change
    caplog.set_level(logging.INFO)
    with conversation_store_down(store):
        replies = _send(gate, "I want to kill myself")
    assert bot.received == ["hello", "I want to kill myself"]
    assert bot.found[-1] is None  # answered from a fresh conversation
    assert [r["text"] for r in replies] == ["a reply", store_unavailable_reply(settings)]
    assert "a safety message is answered from a fresh conversation" in caplog.text
    assert "kill" not in caplog.text
    texts = [e.text for e in asyncio.run(bot.store.retrieve("rest:someone")).events]
    assert texts == ["hello"]  # the crisis turn was kept nowhere


def test_a_store_failing_during_a_turn_gets_the_note_after_the_replies(settings, tmp_path):
    gate, bot, store = _store_gate(settings, tmp_path)
    bot.during = lambda: conversation_store_down(store)
    replies = _send(gate, "what is DIT")
    assert bot.received == ["what is DIT"]
    assert [r["text"] for r in replies] == ["a reply", store_unavailable_reply(settings)]


def test_with_the_store_up_messages_are_answered_and_kept(settings, tmp_path):
    gate, bot, _ = _store_gate(settings, tmp_path)
    assert [r["text"] for r in _send(gate, "what is DIT")] == ["a reply"]
    assert [r["text"] for r in _send(gate, "hello")] == ["a reply"]
    texts = [e.text for e in asyncio.run(bot.store.retrieve("rest:someone")).events]
    assert texts == ["what is DIT", "hello"]


def test_readiness_reports_the_model_and_the_store(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(tracker_store, "RETRY_AFTER_S", 0.0)
    monkeypatch.setattr(tracker_store, "FRESH_FOR_S", 0.0)
    gate, _, store = _store_gate(settings, tmp_path)
    agent = gate.agent
    assert readiness(agent) == (
        {"status": "ready", "model": "loaded", "conversation_store": "ok"},
        200,
    )
    with conversation_store_down(store):
        body, status = readiness(agent)
    assert status == 503 and body["conversation_store"] == "unavailable"
    assert body["status"] == "not ready" and body["error"] == "OperationalError"
    assert readiness(None) == ({"status": "not ready", "model": "loading"}, 503)
    in_memory = SimpleNamespace(
        tracker_store=InMemoryTrackerStore(bot_domain()), is_ready=lambda: True
    )
    assert readiness(in_memory)[0]["conversation_store"] == "not persistent"
