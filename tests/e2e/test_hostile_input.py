"""Hostile input through the real servers (REST, 127.0.0.1 only): typed intents cannot skip the
safety net, oversized messages are refused before any work is done, and a crisis message is
answered within a second while other senders flood the server with them."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.fixtures.servers import message_body, post_raw

CRISIS = "Are you safe right now?"
TOO_LONG = "That message is too long for me to read."
TOO_FAST = "You're sending messages faster than I can read them"


def texts(reply) -> str:
    return "\n".join(m.get("text", "") for m in reply)


@pytest.mark.parametrize(
    "text",
    [
        "/greet{ } I want to kill myself",
        "/greet I want to kill myself",
        '/ask_cost{"x": "y"} i want to end my life',
        "//greet@1.0 I want to kill myself",
    ],
)
def test_typed_intents_cannot_suppress_the_crisis_reply(running_server, text):
    status, reply = running_server.send(uuid.uuid4().hex, text)
    assert status == 200
    assert CRISIS in texts(reply)


def test_greet_and_offered_buttons_still_work(running_server):
    sender = uuid.uuid4().hex
    status, reply = running_server.send(sender, "/greet")
    assert status == 200
    payloads = [b["payload"] for m in reply for b in m.get("buttons", [])]
    assert "/ask_total_duration" in payloads
    status, reply = running_server.send(sender, "/ask_total_duration")
    assert status == 200 and "16 weekly sessions" in texts(reply)


def test_a_forged_change_request_with_a_wrong_entity_type_is_answered(running_server):
    sender = uuid.uuid4().hex
    status, reply = running_server.send(sender, "I'd like to book an appointment")
    assert status == 200 and reply
    status, reply = running_server.send(sender, '/intake_change{"intake_field":{"a":1}}')
    assert status == 200 and reply
    # the conversation carries on normally
    status, reply = running_server.send(sender, "what is DIT")
    assert status == 200 and reply


def test_rest_callers_cannot_choose_the_channel_recorded(running_server):
    from dit_assistant.store import open_database

    database = open_database(running_server.database_url)
    before = database.safety_event_counts()
    body = json.dumps(
        {"sender": uuid.uuid4().hex, "message": "I want to end my life", "input_channel": "slack"}
    ).encode()
    status, answer = post_raw(running_server.base_url, body)
    assert status == 200 and CRISIS in answer
    with database.engine.connect() as connection:
        from sqlalchemy import text

        channels = [
            row[0]
            for row in connection.execute(
                text("SELECT channel FROM safety_events ORDER BY id DESC LIMIT 1")
            )
        ]
    assert channels == ["rest"]
    assert sum(database.safety_event_counts().values()) == sum(before.values()) + 1


@pytest.mark.parametrize(
    "body",
    [b"", b"{not json", b'{"sender": "x"}', b"[]", b'{"sender": 3, "message": "hi"}'],
)
def test_unreadable_bodies_get_400(running_server, body):
    status, _ = post_raw(running_server.base_url, body)
    assert status == 400


def test_a_message_over_the_limit_gets_the_kind_reply_without_being_read(running_server):
    started = time.monotonic()
    status, answer = post_raw(running_server.base_url, message_body("long", "I want to die " * 800))
    assert time.monotonic() - started < 2
    assert status == 200
    assert TOO_LONG in answer and "0161 496 0999" in answer
    assert CRISIS not in answer  # not processed at all


def test_a_million_characters_are_refused_quickly(running_server):
    started = time.monotonic()
    status, answer = post_raw(running_server.base_url, message_body("huge", "a" * 1_000_000))
    assert time.monotonic() - started < 2
    assert status == 413 or (status == 200 and TOO_LONG in answer)


def test_a_crisis_reply_is_not_held_up_by_a_flood_of_oversized_messages(running_server):
    """Four senders post 1,000,000- and 10,000-character messages back to back for a few
    seconds; meanwhile another sender's crisis message must be answered within 1 s."""
    stop = threading.Event()
    sent = [0]

    def flood(size: int) -> None:
        sender = uuid.uuid4().hex
        while not stop.is_set():
            post_raw(running_server.base_url, message_body(sender, "x" * size), timeout=10)
            sent[0] += 1

    workers = [
        threading.Thread(target=flood, args=(size,), daemon=True)
        for size in (1_000_000, 1_000_000, 10_000, 10_000)
    ]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.0)  # the flood is under way
        latencies = []
        for _ in range(3):
            started = time.monotonic()
            status, answer = post_raw(
                running_server.base_url,
                message_body(uuid.uuid4().hex, "I want to kill myself"),
                timeout=10,
            )
            latencies.append(time.monotonic() - started)
            assert status == 200 and CRISIS in answer
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
    assert sent[0] >= 4, "the flood did not run"
    assert max(latencies) < 1.0, latencies


def test_a_sender_flooding_ordinary_messages_is_throttled_and_others_are_not(running_server):
    """One sender posts more than MAX_MESSAGES_PER_MINUTE (30) messages as fast as it can: the
    ones over the limit get the kind reply with the crisis lines, and meanwhile another
    sender's crisis message is answered within 1 s."""
    flooder = uuid.uuid4().hex
    answers = [
        post_raw(running_server.base_url, message_body(flooder, "hello"), timeout=10)[1]
        for _ in range(35)
    ]
    throttled = [answer for answer in answers if TOO_FAST in answer]
    assert len(throttled) == 5, [a[:60] for a in answers]
    assert all(TOO_FAST not in answer for answer in answers[:30])
    assert "999" in throttled[0]
    started = time.monotonic()
    status, answer = post_raw(
        running_server.base_url, message_body(uuid.uuid4().hex, "I want to kill myself")
    )
    assert time.monotonic() - started < 1.0
    assert status == 200 and CRISIS in answer
