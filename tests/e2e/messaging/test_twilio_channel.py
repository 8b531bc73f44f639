"""SMS and WhatsApp through Twilio and the real Rasa server: buttons as numbered options and a
number picking one, crisis replies (split at the SMS limit, whole on WhatsApp), forged and
malformed requests refused, long answers split at Twilio's limit, and a redelivered SMS
answered once."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
import uuid

import pytest
from twilio.request_validator import RequestValidator

from dit_assistant.settings import TwilioSettings, get_settings
from tests.fixtures.platforms import (
    LONG_ANSWER,
    PUBLIC,
    SMS_LIMIT,
    TWILIO_SID,
    TWILIO_TOKEN,
    ChannelServer,
    answered_once,
    assert_split,
    crisis_facts,
    sent_texts,
    unique_int,
)


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
    return f"+447700{unique_int() % 10**6:06d}"


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
    for fact in crisis_facts():
        assert fact in text


def test_whatsapp_crisis_reply_arrives_whole_and_buttons_become_options(channels):
    sender, business = f"whatsapp:{_new_phone()}", "whatsapp:+14155238886"
    assert _twilio(channels, _sms(sender, "I want to kill myself", to=business))[0] == 200
    replies = channels.fake.matching(_to_phone(sender))
    assert replies and all(reply.body["From"] == business for reply in replies)
    assert any(all(fact in reply.text for fact in crisis_facts()) for reply in replies)
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


def test_twilio_splits_long_answers(fake):
    from dit_assistant.channels.twilio import MAX_BODY_CHARS, TwilioOutputChannel

    config = TwilioSettings(account_sid=TWILIO_SID, auth_token="t", api_base=fake.url("twilio"))
    output = TwilioOutputChannel(config, "+447700900000", MAX_BODY_CHARS)
    asyncio.run(output.send_text_message("+447700900001", LONG_ANSWER))
    assert_split(sent_texts(fake, "twilio", 0), 1600)


def test_a_redelivered_sms_is_answered_once(channels):
    phone = _new_phone()
    sms = _sms(phone, "how many sessions are there?")
    answered_once(channels, lambda: _twilio(channels, sms), _to_phone(phone))
