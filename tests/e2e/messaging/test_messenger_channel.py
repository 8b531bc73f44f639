"""Facebook Messenger through the real Rasa server: the subscription handshake, answers and quick
replies, crisis replies, echoes of our own messages ignored, forged and malformed requests
refused, long answers split at Messenger's limit, and a redelivered batch answered once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.parse
import uuid

import pytest

from dit_assistant.settings import FacebookSettings
from tests.fixtures.platforms import (
    FACEBOOK_SECRET,
    FACEBOOK_TOKEN,
    FACEBOOK_VERIFY,
    LONG_ANSWER,
    ChannelServer,
    answered_once,
    assert_split,
    crisis_facts,
    sent_texts,
)


def _facebook(channels: ChannelServer, body: dict | bytes, signature: str | None = "sign"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        digest = hmac.new(FACEBOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        signature = f"sha256={digest}"
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return channels.post("/webhooks/facebook/webhook", raw, headers)


def _messenger(sender: str, message: dict | None = None, postback: dict | None = None) -> dict:
    event = {"sender": {"id": sender}, "recipient": {"id": "PAGE-1"}, "timestamp": 1}
    if message is not None:
        event["message"] = {"mid": "m-" + uuid.uuid4().hex, **message}
    if postback is not None:
        event["postback"] = postback
    return {"object": "page", "entry": [{"id": "PAGE-1", "time": 1, "messaging": [event]}]}


def _to_messenger(sender: str):
    return lambda s: (
        s.platform == "facebook" and (s.body.get("recipient") or {}).get("id") == sender
    )


def test_facebook_subscription_handshake(channels):
    query = urllib.parse.urlencode(
        {"hub.mode": "subscribe", "hub.verify_token": FACEBOOK_VERIFY, "hub.challenge": "11582"}
    )
    assert channels.get(f"/webhooks/facebook/webhook?{query}") == (200, "11582")
    wrong = query.replace(FACEBOOK_VERIFY, "guess")
    assert channels.get(f"/webhooks/facebook/webhook?{wrong}")[0] == 403


def test_facebook_answers_and_quick_replies_work(channels):
    sender = f"psid-{uuid.uuid4().hex}"
    assert _facebook(channels, _messenger(sender, {"text": "hello"}))[0] == 200
    [greeting] = channels.fake.wait_for(_to_messenger(sender))
    assert greeting.query["access_token"] == FACEBOOK_TOKEN
    quick_replies = greeting.body["message"]["quick_replies"]
    assert len(quick_replies) >= 3
    assert all(len(q["title"]) <= 20 for q in quick_replies)
    duration = next(q for q in quick_replies if "long" in q["title"].lower())

    pressed = {"text": duration["title"], "quick_reply": {"payload": duration["payload"]}}
    assert _facebook(channels, _messenger(sender, pressed))[0] == 200
    replies = channels.fake.wait_for(_to_messenger(sender), count=2)
    assert "16 weekly sessions" in " ".join(r.text for r in replies[1:])


def test_facebook_crisis_reply(channels):
    sender = f"psid-{uuid.uuid4().hex}"
    assert _facebook(channels, _messenger(sender, {"text": "I want to kill myself"}))[0] == 200
    text = " ".join(r.text for r in channels.fake.wait_for(_to_messenger(sender)))
    for fact in crisis_facts():
        assert fact in text


def test_facebook_ignores_echoes_of_its_own_messages(channels):
    sender = f"psid-{uuid.uuid4().hex}"
    echo = _messenger(sender, {"text": "an answer we sent", "is_echo": True})
    assert _facebook(channels, echo)[0] == 200
    assert _facebook(channels, _messenger(sender, {"text": "what is DIT?"}))[0] == 200
    first_reply = channels.fake.wait_for(_to_messenger(sender))[0]
    assert "Dynamic Interpersonal Therapy" in first_reply.text  # not a reply to the echo


@pytest.mark.parametrize("how", ["missing", "sha1 only", "wrong secret", "tampered"])
def test_facebook_refuses_unverified_requests(channels, how):
    forged, genuine = f"psid-{uuid.uuid4().hex}", f"psid-{uuid.uuid4().hex}"
    body = json.dumps(_messenger(forged, {"text": "hello"})).encode()
    signature: str | None
    if how == "missing":
        signature = None
    elif how == "sha1 only":
        signature = "sha1=" + hmac.new(FACEBOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
    elif how == "wrong secret":
        signature = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    else:
        signature = "sha256=" + hmac.new(FACEBOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        body = body.replace(b"hello", b"hullo")
    assert _facebook(channels, body, signature=signature)[0] == 403
    assert _facebook(channels, _messenger(genuine, {"text": "hello"}))[0] == 200
    channels.fake.wait_for(_to_messenger(genuine))
    assert channels.fake.matching(_to_messenger(forged)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"object": "page"}).encode(),
        json.dumps({"object": "page", "entry": [{"messaging": "x"}]}).encode(),
        json.dumps({"object": "page", "entry": [{"messaging": [{"message": {}}]}]}).encode(),
    ],
)
def test_facebook_refuses_malformed_requests(channels, body):
    assert _facebook(channels, body)[0] == 400


def test_messenger_splits_long_answers(fake):
    from dit_assistant.channels.facebook import FacebookOutputChannel

    config = FacebookSettings(
        page_access_token="t",
        app_secret="s",
        verify_token="v",
        graph_api_url=fake.url("facebook") + "/v21.0",
    )
    asyncio.run(FacebookOutputChannel(config).send_text_message("psid", LONG_ANSWER))
    assert_split(sent_texts(fake, "facebook", 0), 2000)


def test_a_redelivered_messenger_batch_is_answered_once(channels):
    sender = f"psid-{uuid.uuid4().hex}"
    batch = _messenger(sender, {"text": "how many sessions are there?"})
    answered_once(channels, lambda: _facebook(channels, batch), _to_messenger(sender))
