"""Telegram through the real Rasa server: the webhook registered with its secret, answers,
``/start`` and buttons as an inline keyboard, crisis replies, forged and malformed updates
refused, long answers split at Telegram's limit, and a redelivered update answered once."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.fixtures.platforms import (
    LONG_ANSWER,
    PUBLIC,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    ChannelServer,
    answered_once,
    assert_split,
    crisis_facts,
    sent_texts,
    unique_int,
)


def _telegram(channels: ChannelServer, update: dict | bytes, secret: str | None = TELEGRAM_SECRET):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return channels.post("/webhooks/telegram/webhook", body, headers)


def _telegram_message(chat_id: int, text: str) -> dict:
    return {
        "update_id": unique_int(),
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
    chat = unique_int()
    status, _ = _telegram(channels, _telegram_message(chat, "how many sessions are there?"))
    assert status == 200
    replies = channels.fake.wait_for(_to_telegram_chat(chat))
    assert "16" in " ".join(r.text for r in replies)


def test_telegram_start_greets_with_buttons_and_a_button_press_is_answered(channels):
    chat = unique_int()
    assert _telegram(channels, _telegram_message(chat, "/start"))[0] == 200
    [greeting] = channels.fake.wait_for(_to_telegram_chat(chat))
    keyboard = json.loads(greeting.body["reply_markup"])["inline_keyboard"]
    buttons = [button for row in keyboard for button in row]
    assert len(buttons) >= 3
    duration = next(b for b in buttons if "long" in b["text"].lower())

    press = {
        "update_id": unique_int(),
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
    chat = unique_int()
    assert _telegram(channels, _telegram_message(chat, "I want to kill myself"))[0] == 200
    text = " ".join(r.text for r in channels.fake.wait_for(_to_telegram_chat(chat)))
    for fact in crisis_facts():
        assert fact in text


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TELEGRAM_SECRET + "x"])
def test_telegram_refuses_unverified_updates(channels, secret):
    forged_chat, real_chat = unique_int(), unique_int()
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


def test_telegram_splits_long_answers(fake):
    from dit_assistant.channels.telegram import TelegramOutputChannel

    async def send() -> None:
        output = TelegramOutputChannel(TELEGRAM_TOKEN, fake.url("telegram"))
        try:
            await output.send_text_message("42", LONG_ANSWER)
        finally:
            await output.session.close()

    asyncio.run(send())
    assert_split(sent_texts(fake, "telegram", 0), 4096)


def test_a_redelivered_telegram_update_is_answered_once(channels):
    chat = unique_int()
    update = _telegram_message(chat, "how many sessions are there?")
    first = answered_once(channels, lambda: _telegram(channels, update), _to_telegram_chat(chat))
    # a new update from the same chat is answered as usual
    assert _telegram(channels, _telegram_message(chat, "how long is each session?"))[0] == 200
    assert len(channels.fake.matching(_to_telegram_chat(chat))) > first
