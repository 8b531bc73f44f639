"""Slack through the real Rasa server: the URL handshake, direct messages and buttons, crisis
replies, forged, replayed and malformed requests refused, long answers split at Slack's limit,
and a retried event answered once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

import pytest

from dit_assistant.settings import SlackSettings, get_settings
from tests.fixtures.platforms import (
    LONG_ANSWER,
    SLACK_SECRET,
    ChannelServer,
    assert_split,
    crisis_facts,
    sent_texts,
)


def _slack(
    channels: ChannelServer,
    body: bytes,
    content_type: str = "application/json",
    timestamp: int | None = None,
    secret: str = SLACK_SECRET,
    signature: str | None = None,
):
    timestamp = int(time.time()) if timestamp is None else timestamp
    if signature is None:
        base = f"v0:{timestamp}:".encode() + body
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
    }
    return channels.post("/webhooks/slack/webhook", body, headers)


def _slack_event(user: str, text: str, channel: str) -> bytes:
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10],
            "event_time": int(time.time()),
            "authorizations": [{"user_id": "UBOT"}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": user,
                "channel": channel,
                "text": text,
                "ts": f"{time.time():.6f}",
            },
        }
    ).encode()


def _to_slack(channel: str):
    return lambda s: s.platform == "slack" and s.body.get("channel") == channel


def _slack_ids() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8].upper()
    return f"U{suffix}", f"D{suffix}"


def test_slack_url_verification(channels):
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595"})
    status, answer = _slack(channels, body.encode())
    assert status == 200 and json.loads(answer) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595"}


def test_slack_answers_a_direct_message_and_a_button(channels):
    user, dm = _slack_ids()
    assert _slack(channels, _slack_event(user, "hello", dm))[0] == 200
    [greeting] = channels.fake.wait_for(_to_slack(dm))
    actions = next(b for b in greeting.body["blocks"] if b["type"] == "actions")
    duration = next(e for e in actions["elements"] if "long" in e["text"]["text"].lower())

    interaction = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": dm},
        "message": {"ts": "1.1"},
        "actions": [{"type": "button", "value": duration["value"], "action_id": "a"}],
    }
    form = urllib.parse.urlencode({"payload": json.dumps(interaction)}).encode()
    assert _slack(channels, form, "application/x-www-form-urlencoded")[0] == 200
    replies = channels.fake.wait_for(_to_slack(dm), count=2)
    assert "16 weekly sessions" in " ".join(r.text for r in replies[1:])


def test_slack_crisis_reply(channels):
    user, dm = _slack_ids()
    assert _slack(channels, _slack_event(user, "I want to kill myself", dm))[0] == 200
    text = " ".join(r.text for r in channels.fake.wait_for(_to_slack(dm)))
    for fact in crisis_facts():
        assert fact in text


@pytest.mark.parametrize("how", ["stale", "wrong secret", "missing", "tampered"])
def test_slack_refuses_unverified_requests(channels, how):
    (user, forged_dm), (genuine_user, genuine_dm) = _slack_ids(), _slack_ids()
    body = _slack_event(user, "hello", forged_dm)
    if how == "stale":  # correctly signed, but ten minutes old: a replay
        status, _ = _slack(channels, body, timestamp=int(time.time()) - 600)
    elif how == "wrong secret":
        status, _ = _slack(channels, body, secret="guess")
    elif how == "missing":
        status, _ = _slack(channels, body, signature="")
    else:
        timestamp = int(time.time())
        base = f"v0:{timestamp}:".encode() + body
        signature = "v0=" + hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
        tampered = body.replace(b"hello", b"hullo")
        status, _ = _slack(channels, tampered, timestamp=timestamp, signature=signature)
    assert status == 403
    assert _slack(channels, _slack_event(genuine_user, "hello", genuine_dm))[0] == 200
    channels.fake.wait_for(_to_slack(genuine_dm))
    assert channels.fake.matching(_to_slack(forged_dm)) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (json.dumps({"type": "event_callback", "event": "x"}).encode(), "application/json"),
        (b"nothing=here", "application/x-www-form-urlencoded"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (
            b"payload=%7B%22actions%22%3A%5B%7B%22type%22%3A%22button%22%7D%5D%7D",
            "application/x-www-form-urlencoded",
        ),
        (b"hello", "text/plain"),
    ],
)
def test_slack_refuses_malformed_requests(channels, body, content_type):
    assert _slack(channels, body, content_type)[0] == 400


def test_slack_splits_long_answers(fake):
    from dit_assistant.channels.slack import SlackOutputChannel

    config = SlackSettings(bot_token="xoxb-1", signing_secret="s", api_base=fake.url("slack"))
    asyncio.run(SlackOutputChannel(config).send_text_message("D1", LONG_ANSWER))
    assert_split(sent_texts(fake, "slack", 0), 3000)


def test_a_retried_slack_event_is_answered_once(channels):
    """Slack's events are handled in the background after the 200, one conversation's turns in
    order: the reply to a later event comes right after the first handling's replies."""
    user, dm = _slack_ids()
    event = _slack_event(user, "how many sessions are there?", dm)
    assert _slack(channels, event)[0] == 200
    first = len(channels.fake.wait_for(_to_slack(dm)))
    assert _slack(channels, event)[0] == 200
    assert _slack(channels, _slack_event(user, "what does it cost?", dm))[0] == 200
    cost = get_settings().clinic.cost.split(".")[0]
    channels.fake.wait_for(lambda s: _to_slack(dm)(s) and cost in s.text)
    replies = channels.fake.matching(_to_slack(dm))
    assert len(replies) > first and cost in replies[first].text, [r.text[:40] for r in replies]
