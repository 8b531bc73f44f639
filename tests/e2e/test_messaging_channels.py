"""Telegram, Twilio (SMS and WhatsApp), Messenger and Slack through the real Rasa server.

The server is started the way ``make run`` starts it, with test credentials in the environment
and every platform's API pointed at a local fake that records what the bot sends. Each platform
gets realistic webhook payloads: correctly signed (answered), wrongly signed (403, never reaches
the bot) and malformed (400).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from dit_assistant.serve import (
    _environment,
    runtime_endpoints,
)
from dit_assistant.settings import (
    FacebookSettings,
    SlackSettings,
    TwilioSettings,
    get_settings,
)
from tests.fixtures.platforms import FakePlatforms, fake_platforms
from tests.fixtures.ports import free_port
from tests.fixtures.servers import running_rasa

TELEGRAM_TOKEN = "123456789:TEST-telegram-token"
TELEGRAM_SECRET = "telegram-secret-0123456789"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-auth-token-0123456789"
FACEBOOK_TOKEN = "facebook-page-token"
FACEBOOK_SECRET = "facebook-app-secret"
FACEBOOK_VERIFY = "facebook-verify-token"
SLACK_TOKEN = "xoxb-test-token"
SLACK_SECRET = "slack-signing-secret"
PUBLIC = "https://assistant.example-clinic.org"
SMS_LIMIT = 320  # lowered from Twilio's 1600 so that the crisis reply must be split


@dataclass
class ChannelServer:
    base_url: str
    fake: FakePlatforms

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.base_url}{path}", body, headers, method="POST")
        return _open(request)

    def get(self, path: str) -> tuple[int, str]:
        return _open(urllib.request.Request(f"{self.base_url}{path}"))


def _open(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _channel_environment(fake: FakePlatforms, workdir: Path) -> dict[str, str]:
    env = _environment()
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'store.sqlite'}",
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_WEBHOOK_URL=f"{PUBLIC}/webhooks/telegram/webhook",
        TELEGRAM_API_BASE=fake.url("telegram"),
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_WEBHOOK_URL=f"{PUBLIC}/webhooks/twilio/webhook",
        TWILIO_API_BASE=fake.url("twilio"),
        TWILIO_SMS_MAX_LENGTH=str(SMS_LIMIT),
        FACEBOOK_PAGE_ACCESS_TOKEN=FACEBOOK_TOKEN,
        FACEBOOK_APP_SECRET=FACEBOOK_SECRET,
        FACEBOOK_VERIFY_TOKEN=FACEBOOK_VERIFY,
        FACEBOOK_GRAPH_API_URL=fake.url("facebook") + "/v21.0",
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        SLACK_API_BASE=fake.url("slack") + "/",
    )
    return env


def _endpoints_without_action_server(workdir: Path) -> Path:
    """bot/endpoints.yml with the action server pointed at nothing: answers, crisis replies
    included, must not need it, and no statistics land in another server's database."""
    return runtime_endpoints(free_port(), workdir)


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelServer]:
    workdir = tmp_path_factory.mktemp("channels")
    with fake_platforms() as fake:
        env = _channel_environment(fake, workdir)
        endpoints = _endpoints_without_action_server(workdir)
        with running_rasa(env, endpoints, workdir) as port:
            yield ChannelServer(f"http://127.0.0.1:{port}", fake)


def _crisis_facts() -> list[str]:
    """What every crisis reply must contain for the configured region."""
    settings = get_settings()
    return [
        "Are you safe right now?",
        settings.helplines.emergency,
        *(service.name for service in settings.helplines.helplines),
        *(service.contact for service in settings.helplines.helplines),
    ]


def _unique_int() -> int:
    return int(uuid.uuid4().int % 10**9) + 10**9


# ---------------------------------------------------------------------------------- Telegram
def _telegram(channels: ChannelServer, update: dict | bytes, secret: str | None = TELEGRAM_SECRET):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return channels.post("/webhooks/telegram/webhook", body, headers)


def _telegram_message(chat_id: int, text: str) -> dict:
    return {
        "update_id": _unique_int(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
            "text": text,
        },
    }


def _to_telegram_chat(chat_id: int):
    return lambda s: (
        s.platform == "telegram"
        and s.method == "sendMessage"
        and str(s.body.get("chat_id")) == str(chat_id)
    )


def test_telegram_webhook_is_registered_with_its_secret(channels):
    [registration] = channels.fake.wait_for(
        lambda s: s.platform == "telegram" and s.method == "setWebhook"
    )
    assert registration.body["secret_token"] == TELEGRAM_SECRET
    assert registration.body["url"] == f"{PUBLIC}/webhooks/telegram/webhook"


def test_telegram_answers_a_question(channels):
    chat = _unique_int()
    status, _ = _telegram(channels, _telegram_message(chat, "how many sessions are there?"))
    assert status == 200
    replies = channels.fake.wait_for(_to_telegram_chat(chat))
    assert "16" in " ".join(r.text for r in replies)


def test_telegram_start_greets_with_buttons_and_a_button_press_is_answered(channels):
    chat = _unique_int()
    assert _telegram(channels, _telegram_message(chat, "/start"))[0] == 200
    [greeting] = channels.fake.wait_for(_to_telegram_chat(chat))
    keyboard = json.loads(greeting.body["reply_markup"])["inline_keyboard"]
    buttons = [button for row in keyboard for button in row]
    assert len(buttons) >= 3
    duration = next(b for b in buttons if "long" in b["text"].lower())

    press = {
        "update_id": _unique_int(),
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": chat, "is_bot": False, "first_name": "Test"},
            "message": {"message_id": 2, "date": 0, "chat": {"id": chat, "type": "private"}},
            "chat_instance": "1",
            "data": duration["callback_data"],
        },
    }
    assert _telegram(channels, press)[0] == 200
    assert channels.fake.matching(
        lambda s: s.method == "answerCallbackQuery" and s.body.get("callback_query_id") == "cbq-1"
    )
    replies = channels.fake.wait_for(_to_telegram_chat(chat), count=2)
    assert "16 weekly sessions" in " ".join(r.text for r in replies[1:])


def test_telegram_crisis_reply_has_the_regions_helplines(channels):
    chat = _unique_int()
    assert _telegram(channels, _telegram_message(chat, "I want to kill myself"))[0] == 200
    text = " ".join(r.text for r in channels.fake.wait_for(_to_telegram_chat(chat)))
    for fact in _crisis_facts():
        assert fact in text


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TELEGRAM_SECRET + "x"])
def test_telegram_refuses_unverified_updates(channels, secret):
    forged_chat, real_chat = _unique_int(), _unique_int()
    status, _ = _telegram(channels, _telegram_message(forged_chat, "hello"), secret=secret)
    assert status == 403
    # Updates are handled in order: once a later, genuine update is answered, the forged one
    # would have been answered too if it had reached the bot.
    assert _telegram(channels, _telegram_message(real_chat, "hello"))[0] == 200
    channels.fake.wait_for(_to_telegram_chat(real_chat))
    assert channels.fake.matching(_to_telegram_chat(forged_chat)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b'"a string"',
        json.dumps({"update_id": 1, "message": "not an object"}).encode(),
        json.dumps({"update_id": 1, "message": {"text": "hi", "chat": {}}}).encode(),
        json.dumps({"update_id": 1, "message": {"text": 5, "chat": {"id": 1}}}).encode(),
        json.dumps({"update_id": 1, "callback_query": {"id": "1"}}).encode(),
    ],
)
def test_telegram_refuses_malformed_updates(channels, body):
    assert _telegram(channels, body)[0] == 400


# ------------------------------------------------------------------------------------ Twilio
def _twilio(channels: ChannelServer, params: dict[str, str], signature: str | None = "sign"):
    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        url = f"{PUBLIC}/webhooks/twilio/webhook"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return channels.post("/webhooks/twilio/webhook", body, headers)


def _sms(sender: str, text: str, to: str = "+447700900000") -> dict[str, str]:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
    }


def _new_phone() -> str:
    return f"+447700{_unique_int() % 10**6:06d}"


def _to_phone(number: str):
    return lambda s: s.platform == "twilio" and s.body.get("To") == number


# The Twilio webhook answers only after the bot's whole turn has been sent, so everything the
# bot said is recorded by the time the POST returns.
def test_sms_buttons_become_numbered_options_and_a_number_picks_one(channels):
    phone = _new_phone()
    assert _twilio(channels, _sms(phone, "hello"))[0] == 200
    greeting = channels.fake.matching(_to_phone(phone))
    assert greeting and all(part.body["From"] == "+447700900000" for part in greeting)
    text = "\n".join(part.text for part in greeting)
    options = {title.strip(): number for number, title in re.findall(r"^(\d+)\. (.+)$", text, re.M)}
    assert len(options) >= 3, text
    cost_option = next(number for title, number in options.items() if "cost" in title.lower())

    assert _twilio(channels, _sms(phone, cost_option))[0] == 200
    answer = channels.fake.matching(_to_phone(phone))[len(greeting) :]
    clinic_cost = get_settings().clinic.cost.split(".")[0]
    assert clinic_cost in " ".join(part.text for part in answer)


def test_sms_crisis_reply_is_split_at_the_sms_limit(channels):
    phone = _new_phone()
    assert _twilio(channels, _sms(phone, "I want to kill myself"))[0] == 200
    parts = channels.fake.matching(_to_phone(phone))
    assert len(parts) >= 2
    assert all(len(part.text) <= SMS_LIMIT for part in parts)
    text = " ".join(part.text for part in parts)
    for fact in _crisis_facts():
        assert fact in text


def test_whatsapp_crisis_reply_arrives_whole_and_buttons_become_options(channels):
    sender, business = f"whatsapp:{_new_phone()}", "whatsapp:+14155238886"
    assert _twilio(channels, _sms(sender, "I want to kill myself", to=business))[0] == 200
    replies = channels.fake.matching(_to_phone(sender))
    assert replies and all(reply.body["From"] == business for reply in replies)
    assert any(all(fact in reply.text for fact in _crisis_facts()) for reply in replies)
    assert _twilio(channels, _sms(sender, "hi", to=business))[0] == 200
    greeting = channels.fake.matching(_to_phone(sender))[len(replies) :]
    assert re.search(r"^1\. ", "\n".join(part.text for part in greeting), re.MULTILINE)


@pytest.mark.parametrize("how", ["missing", "wrong token", "local url", "tampered"])
def test_twilio_refuses_unverified_requests(channels, how):
    forged, genuine = _new_phone(), _new_phone()
    params = _sms(forged, "hello")
    if how == "missing":
        signature = None
    elif how == "wrong token":
        url = f"{PUBLIC}/webhooks/twilio/webhook"
        signature = RequestValidator("not-the-token").compute_signature(url, params)
    elif how == "local url":  # signed for the URL the server sees, not the public one
        url = f"{channels.base_url}/webhooks/twilio/webhook"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    else:
        url = f"{PUBLIC}/webhooks/twilio/webhook"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        params = {**params, "Body": "something else"}
    assert _twilio(channels, params, signature=signature)[0] == 403
    assert _twilio(channels, _sms(genuine, "hello"))[0] == 200
    channels.fake.wait_for(_to_phone(genuine))
    assert channels.fake.matching(_to_phone(forged)) == []


@pytest.mark.parametrize("missing", ["From", "To", "Body"])
def test_twilio_refuses_malformed_requests(channels, missing):
    params = {k: v for k, v in _sms(_new_phone(), "hello").items() if k != missing}
    assert _twilio(channels, params)[0] == 400


# ---------------------------------------------------------------------------------- Facebook
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
    for fact in _crisis_facts():
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


# ------------------------------------------------------------------------------------- Slack
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
    for fact in _crisis_facts():
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


# ------------------------------------------------ long answers, split at each platform's limit
LONG_ANSWER = "\n\n".join(
    " ".join(f"Paragraph {p}, sentence {s} says something about DIT." for s in range(8))
    for p in range(40)
)


def _assert_split(parts: list[str], limit: int) -> None:
    assert len(parts) >= 2
    assert all(0 < len(part) <= limit for part in parts)
    assert all(part.endswith(".") for part in parts), "cut inside a sentence"
    assert " ".join(" ".join(parts).split()) == " ".join(LONG_ANSWER.split())


def _sent_texts(fake: FakePlatforms, platform: str, since: int) -> list[str]:
    with fake.lock:
        return [s.text for s in fake.sent[since:] if s.platform == platform]


@pytest.fixture()
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as platforms:
        yield platforms


def test_telegram_splits_long_answers(fake):
    from dit_assistant.channels.telegram import TelegramOutputChannel

    async def send() -> None:
        output = TelegramOutputChannel(TELEGRAM_TOKEN, fake.url("telegram"))
        try:
            await output.send_text_message("42", LONG_ANSWER)
        finally:
            await output.session.close()

    asyncio.run(send())
    _assert_split(_sent_texts(fake, "telegram", 0), 4096)


def test_twilio_splits_long_answers(fake):
    from dit_assistant.channels.twilio import MAX_BODY_CHARS, TwilioOutputChannel

    config = TwilioSettings(account_sid=TWILIO_SID, auth_token="t", api_base=fake.url("twilio"))
    output = TwilioOutputChannel(config, "+447700900000", MAX_BODY_CHARS)
    asyncio.run(output.send_text_message("+447700900001", LONG_ANSWER))
    _assert_split(_sent_texts(fake, "twilio", 0), 1600)


def test_messenger_splits_long_answers(fake):
    from dit_assistant.channels.facebook import FacebookOutputChannel

    config = FacebookSettings(
        page_access_token="t",
        app_secret="s",
        verify_token="v",
        graph_api_url=fake.url("facebook") + "/v21.0",
    )
    asyncio.run(FacebookOutputChannel(config).send_text_message("psid", LONG_ANSWER))
    _assert_split(_sent_texts(fake, "facebook", 0), 2000)


def test_slack_splits_long_answers(fake):
    from dit_assistant.channels.slack import SlackOutputChannel

    config = SlackSettings(bot_token="xoxb-1", signing_secret="s", api_base=fake.url("slack"))
    asyncio.run(SlackOutputChannel(config).send_text_message("D1", LONG_ANSWER))
    _assert_split(_sent_texts(fake, "slack", 0), 3000)


# ------------------------------------------------------------------- the servers of make run
def test_unconfigured_platforms_are_off_and_the_rest_works(running_server):
    """``make run`` without platform variables: their webhooks do not exist, REST answers."""
    configured = get_settings().channels
    unconfigured = [
        name
        for name in ("telegram", "twilio", "facebook", "slack")
        if not getattr(configured, name).enabled  # a developer's .env may switch some on
    ]
    for platform in unconfigured:
        request = urllib.request.Request(
            f"{running_server.base_url}/webhooks/{platform}/webhook", b"{}", method="POST"
        )
        assert _open(request)[0] == 404, platform
    status, reply = running_server.send(uuid.uuid4().hex, "how many sessions are there?")
    assert status == 200 and "16" in " ".join(m.get("text", "") for m in reply)


# ------------------------------------------------------------------------------ redeliveries
# A platform that timed out waiting for our 200 sends the same update again: it is answered once.
# Every webhook answers after the bot's whole turn was sent, so a count taken when the second
# POST returns includes anything a second handling would have sent.
def _answered_once(channels, deliver, to_the_sender) -> int:
    """Deliver an update twice: the second delivery adds no reply. Returns the reply count."""
    assert deliver()[0] == 200
    first = len(channels.fake.matching(to_the_sender))
    assert first >= 1
    assert deliver()[0] == 200
    assert len(channels.fake.matching(to_the_sender)) == first
    return first


def test_a_redelivered_telegram_update_is_answered_once(channels):
    chat = _unique_int()
    update = _telegram_message(chat, "how many sessions are there?")
    first = _answered_once(channels, lambda: _telegram(channels, update), _to_telegram_chat(chat))
    # a new update from the same chat is answered as usual
    assert _telegram(channels, _telegram_message(chat, "how long is each session?"))[0] == 200
    assert len(channels.fake.matching(_to_telegram_chat(chat))) > first


def test_a_redelivered_sms_is_answered_once(channels):
    phone = _new_phone()
    sms = _sms(phone, "how many sessions are there?")
    _answered_once(channels, lambda: _twilio(channels, sms), _to_phone(phone))


def test_a_redelivered_messenger_batch_is_answered_once(channels):
    sender = f"psid-{uuid.uuid4().hex}"
    batch = _messenger(sender, {"text": "how many sessions are there?"})
    _answered_once(channels, lambda: _facebook(channels, batch), _to_messenger(sender))


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
