"""The bad-input matrix through the real servers (issue 13), over REST and over the widget's
socket.io: whatever a person or a script sends gets a kind reply or a 4xx, never a 5xx or
silence; the server answers a normal message afterwards; and template syntax a person types is
shown and stored as typed, never filled in.

``test_hostile_input.py`` has the typed intents, the REST bodies that are not a message, the
timing of oversized messages and the floods; this module adds the kinds of text, the requests
that are not JSON, and socket.io (a python-socketio client, as the widget talks to the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from dit_assistant.settings import DEFAULT_MAX_MESSAGE_CHARS, DEFAULT_MAX_REQUEST_BYTES
from dit_assistant.store import open_database
from dit_assistant.store.crypto import EnquiryCipher
from dit_assistant.store.management import list_enquiries
from tests.fixtures.servers import RunningServer
from tests.fixtures.widget import WidgetClient, texts

CRISIS = "Are you safe right now?"
TOO_LONG = "That message is too long for me to read."
DIT = "Dynamic Interpersonal Therapy"
CLINIC_PHONE = "0161 496 0999"  # tests.fixtures.servers sets it
REFERENCE = re.compile(r"\bDIT-[A-Z0-9]{5}\b")

BAD_TEXTS = [
    pytest.param("", id="empty"),
    pytest.param(" \t\n\u3000 ", id="whitespace-only"),
    pytest.param("x" * 10_000, id="10k-characters"),
    pytest.param("\x00\x01\x07\x1b[31mhello\x7f\x85", id="control-characters"),
    pytest.param("\u200b\u200d\ufeff\u2066hello\u2069", id="format-characters"),
    pytest.param("\ud800 hello \udfff", id="lone-surrogates"),
    pytest.param("😀🙏🏽👩‍👧‍👦", id="emoji-only"),
    pytest.param("שלום, אני רוצה לשמוע על הטיפול", id="right-to-left"),
    pytest.param("\u202eI would like to know about DIT", id="right-to-left-override"),
    pytest.param("我想预约一次咨询", id="chinese"),
    pytest.param("مرحبا، أريد معلومات عن العلاج", id="arabic"),
    pytest.param("Здравствуйте, что такое DIT?", id="cyrillic"),
    pytest.param('<script>alert("x")</script><img src=x onerror=alert(1)>', id="html-js"),
    pytest.param("'; DROP TABLE enquiries; -- 1' OR '1'='1", id="sql"),
    pytest.param("{{clinic_phone}} {{1337*1000}}", id="jinja-template"),
    pytest.param("${clinic_phone} ${1337*1000}", id="dollar-template"),
    pytest.param("{clinic_phone} {0.__class__} %s%n", id="format-template"),
]

# What a reply would show if a person's text were echoed, evaluated or half filled in.
NEVER_IN_A_REPLY = ("<script", "onerror", "DROP TABLE", "1337000", "<class", "{clinic_", "{0[")


def assert_kind_reply(said: str, text: str) -> None:
    assert said.strip(), f"no reply to {text[:40]!r}"
    if len(text) > DEFAULT_MAX_MESSAGE_CHARS:
        assert TOO_LONG in said and CLINIC_PHONE in said
    for leak in NEVER_IN_A_REPLY:
        assert leak not in said, (leak, said[:200])


def post(
    server: RunningServer, body: bytes, content_type: str | None = "application/json"
) -> tuple[int, str]:
    """POST a raw body to the REST webhook; a connection closed early counts as 413 (Sanic
    answers 413 from the Content-Length header and may close before the body is written)."""
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        connection.request("POST", "/webhooks/rest/webhook", body, headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (ConnectionResetError, BrokenPipeError):
        return 413, ""
    finally:
        connection.close()


def message(sender: str, text: str) -> bytes:
    return json.dumps({"sender": sender, "message": text}).encode()


def assert_still_answers(server: RunningServer, sender: str) -> None:
    status, reply = server.send(sender, "what is DIT")
    assert status == 200 and DIT in texts(reply), (status, reply)


# ------------------------------------------------------------------------------------ REST
@pytest.mark.parametrize("text", BAD_TEXTS)
def test_any_text_over_rest_gets_a_kind_reply(running_server, text):
    sender = uuid.uuid4().hex
    status, reply = running_server.send(sender, text)
    assert status == 200, (status, reply)
    assert_kind_reply(texts(reply), text)
    assert_still_answers(running_server, sender)


def test_a_million_characters_over_rest_leave_the_conversation_working(running_server):
    sender = uuid.uuid4().hex
    status, answer = post(running_server, message(sender, "a" * 1_000_000))
    assert status == 413 or (status == 200 and TOO_LONG in answer), (status, answer[:200])
    assert_still_answers(running_server, sender)


JSON_MESSAGE = json.dumps({"sender": "matrix", "message": "hello"})
BAD_REQUESTS = [
    pytest.param(b'{"sender": "x", "mess', "application/json", id="truncated-json"),
    pytest.param(b'{"sender": "x", "message": "\xff\xfe"}', "application/json", id="not-utf8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", id="deeply-nested-json"),
    pytest.param(b'{"sender": "x", "message": NaN}', "application/json", id="nan-message"),
    pytest.param(b'{"sender": "x", "message": null}', "application/json", id="null-message"),
    pytest.param(b'{"sender": "x", "message": ["hi"]}', "application/json", id="list-message"),
    pytest.param(b'{"message": "hello"}', "application/json", id="missing-sender"),
    pytest.param(b'{"sender": "", "message": "hello"}', "application/json", id="empty-sender"),
    pytest.param(b'{"sender": null, "message": "hello"}', "application/json", id="null-sender"),
    pytest.param(
        json.dumps({"sender": "s" * 256, "message": "hi"}).encode(),
        "application/json",
        id="sender-too-long",
    ),
    pytest.param(b"sender=x&message=hello", "application/x-www-form-urlencoded", id="form-body"),
    pytest.param(b"<message>hello</message>", "application/xml", id="xml-body"),
    pytest.param(
        b'--b\r\nContent-Disposition: form-data; name="message"\r\n\r\nhello\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
        id="multipart-body",
    ),
    pytest.param(JSON_MESSAGE.encode(), "text/plain", id="json-labelled-text-plain"),
    pytest.param(JSON_MESSAGE.encode(), None, id="json-without-content-type"),
    pytest.param(
        JSON_MESSAGE.encode("utf-16"), "application/json; charset=utf-16", id="json-in-utf16"
    ),
    pytest.param(b"\xef\xbb\xbf" + JSON_MESSAGE.encode(), "application/json", id="json-with-bom"),
]


@pytest.mark.parametrize(("body", "content_type"), BAD_REQUESTS)
def test_requests_that_are_not_a_plain_json_message_get_a_4xx_or_a_kind_reply(
    running_server, body, content_type
):
    status, answer = post(running_server, body, content_type)
    assert status < 500, (status, answer[:200])
    if status == 200:  # read as the JSON message it is, whatever its label
        assert_kind_reply(texts(json.loads(answer)), "hello")
    else:
        assert 400 <= status < 500
    assert_still_answers(running_server, uuid.uuid4().hex)


def test_template_syntax_in_form_answers_is_shown_and_stored_as_typed(running_server, settings):
    """The enquiry form repeats answers back (the summary) and stores them: a person's
    ``{clinic_phone}`` must come back and be stored as those characters, never as the phone
    number, and markup and SQL fragments are stored as text."""
    sender = uuid.uuid4().hex

    def say(text: str) -> str:
        status, reply = running_server.send(sender, text)
        assert status == 200, (status, reply)
        return texts(reply)

    best_times = "{clinic_phone} or ${clinic_phone} or {{ clinic_phone }}"
    help_with = "{crisis_lines} {0.__class__} <b>x</b> '; DROP TABLE enquiries; --"
    assert "18 or over" in say("I'd like to book an assessment")
    assert "What name" in say("yes")
    refused = say("{clinic_phone}")
    assert "didn't catch a name" in refused and CLINIC_PHONE not in refused
    assert "How would you like the team to contact you" in say("Sam")
    assert "email address" in say("email")
    assert "good time to contact you" in say("sam@example.org")
    assert "what you would like help with" in say(best_times)
    assert "store these details" in say(help_with)
    summary = say("yes")
    assert f"Best times: {best_times}" in summary
    assert f"What you'd like help with: {help_with}" in summary
    assert CLINIC_PHONE not in summary
    assert settings.helplines.helplines[0].name not in summary  # no {crisis_lines} filled in
    reference = REFERENCE.search(say("yes")).group(0)
    cipher = EnquiryCipher((running_server.env["ENQUIRY_KEYS"],))
    enquiries = list_enquiries(open_database(running_server.database_url), cipher=cipher)
    stored = next(e for e in enquiries if e.reference == reference)
    assert (stored.preferred_name, stored.best_times, stored.help_with) == (
        "Sam",
        best_times,
        help_with,
    )


# ------------------------------------------------------------------------------- socket.io
def widget_session(
    server: RunningServer, scenario: Callable[[WidgetClient], Awaitable[None]]
) -> None:
    """Run ``scenario`` with a connected widget client, and close it whatever happens."""

    async def run() -> None:
        widget = await WidgetClient(server.base_url).connect()
        try:
            await scenario(widget)
        finally:
            await widget.close()

    asyncio.run(run())


@pytest.mark.parametrize("text", BAD_TEXTS)
def test_any_text_over_socketio_gets_a_kind_reply(running_server, text):
    async def scenario(widget: WidgetClient) -> None:
        assert_kind_reply(texts(await widget.say(text)), text)
        assert DIT in texts(await widget.say("what is DIT"))

    widget_session(running_server, scenario)


SESSION = object()  # stands for the client's own session id
BAD_EVENTS = [
    pytest.param(None, id="no-data"),
    pytest.param("hello", id="not-an-object"),
    pytest.param(["hello"], id="a-list"),
    pytest.param({"message": 5, "session_id": SESSION}, id="message-a-number"),
    pytest.param({"message": {"text": "hi"}, "session_id": SESSION}, id="message-an-object"),
    pytest.param({"message": "hello"}, id="missing-session-id"),
    pytest.param({"message": "hello", "session_id": "+447700900123"}, id="foreign-session-id"),
    pytest.param({"message": "hello", "session_id": ["x"]}, id="session-id-a-list"),
    pytest.param(
        {"message": "hello", "session_id": SESSION, "customData": "{not json"},
        id="unreadable-metadata",
    ),
]


@pytest.mark.parametrize("event", BAD_EVENTS)
def test_malformed_socketio_messages_are_ignored_or_answered_kindly(running_server, event):
    async def scenario(widget: WidgetClient) -> None:
        data: Any = event
        if isinstance(event, dict):
            data = {k: widget.session_id if v is SESSION else v for k, v in event.items()}
        await widget.emit(data)
        said = texts(await widget.collect(timeout=2))
        if said:
            assert_kind_reply(said, "hello")
        assert DIT in texts(await widget.say("what is DIT"))

    widget_session(running_server, scenario)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize(
    "size", [DEFAULT_MAX_REQUEST_BYTES + 1024, 1_000_000], ids=["just-over", "1M-characters"]
)
def test_a_socketio_packet_over_max_request_bytes_is_refused_and_others_carry_on(
    running_server, transport, size
):
    """socket.io refuses a packet over ``MAX_REQUEST_BYTES`` (a websocket is closed, a polling
    POST gets 413) without reading it; another person's crisis message is answered meanwhile,
    and the sender can connect again and carry on."""

    async def scenario() -> None:
        other = await WidgetClient(running_server.base_url).connect()
        sender = await WidgetClient(running_server.base_url, transport).connect()
        try:
            with contextlib.suppress(Exception):  # the client may notice the refusal itself
                await sender.emit({"message": "x" * size, "session_id": sender.session_id})
            started = time.monotonic()
            crisis = texts(await other.say("I want to kill myself"))
            assert CRISIS in crisis and time.monotonic() - started < 5
            assert await sender.collect(timeout=1) == []  # never read, so never answered
            if transport == "websocket":  # the server closed the websocket
                await asyncio.wait_for(sender.disconnected.wait(), 10)
            else:  # the server answered the POST with 413
                assert any("413" in w for w in sender.transport_warnings), sender.transport_warnings
            again = await WidgetClient(running_server.base_url, transport).connect()
            try:
                assert DIT in texts(await again.say("what is DIT"))
            finally:
                await again.close()
        finally:
            await sender.close()
            await other.close()

    asyncio.run(scenario())
