"""Telegram, verified: every update must carry the webhook's secret token.

Rasa's own Telegram channel accepts any POST and asks Telegram's API who the bot is on every
message. This one compares ``X-Telegram-Bot-Api-Secret-Token`` (set when the webhook is
registered) in constant time, reads updates without trusting their shape, shows buttons as an
inline keyboard, and splits answers at Telegram's 4096-character limit. The API base URL is a
setting (``TELEGRAM_API_BASE``) so tests can point the bot at a local fake server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import TelegramAPIError, ValidationError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.channels.common import (
    bad_request,
    disabled_blueprint,
    forbidden,
    json_object,
    split_message,
)
from dit_assistant.channels.guard import DELIVERY_ID, guarded
from dit_assistant.settings import TelegramSettings, get_settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CHARS = 4096
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class TelegramOutputChannel(TelegramOutput):
    """Sends through the Bot API at the configured base URL, within Telegram's limits."""

    def __init__(self, access_token: str, api_base: str) -> None:
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_base))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_message(text, MAX_CHARS):
            await self.send_message(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = split_message(text, MAX_CHARS) or ["Choose an option:"]
        for part in parts[:-1]:
            await self.send_message(recipient_id, part)
        keyboard = InlineKeyboardMarkup()
        for button in buttons:  # one per row: long titles stay readable on a phone
            payload = button.get("payload") or button["title"]
            keyboard.row(InlineKeyboardButton(button["title"], callback_data=payload))
        await self.send_message(recipient_id, parts[-1], reply_markup=keyboard)


def _incoming(update: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(chat id, text, callback query id) of an update we answer; None for other updates.

    Raises ``ValueError`` when the update is not shaped like a Telegram update.
    """
    query = update.get("callback_query")
    if query is not None:
        if not isinstance(query, dict) or not isinstance(query.get("data"), str):
            raise ValueError("callback_query without data")
        return _chat_id(query.get("message")), query["data"], str(query.get("id") or "")
    message = update.get("message") or update.get("edited_message")
    if message is None:
        return None  # e.g. a member joined: nothing to answer
    if not isinstance(message, dict):
        raise ValueError("message is not an object")
    text = message.get("text")
    if text is None:
        return None  # stickers, photos, locations: no text to understand
    if not isinstance(text, str):
        raise ValueError("text is not a string")
    if text.split("@")[0].strip() == "/start":
        text = "/greet"  # Telegram's first message when someone opens the bot
    return _chat_id(message), text, None


def _delivery(update: dict[str, Any]) -> dict[str, Any]:
    """Telegram sends an update again, with the same ``update_id``, until we answer 200."""
    update_id = update.get("update_id")
    valid = isinstance(update_id, int) and not isinstance(update_id, bool)
    return {DELIVERY_ID: str(update_id)} if valid else {}


def _chat_id(message: Any) -> str:
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat_id, int | str) or isinstance(chat_id, bool) or chat_id == "":
        raise ValueError("message without a chat id")
    return str(chat_id)


class TelegramChannel(TelegramInput):
    """Telegram input channel; off unless ``TELEGRAM_BOT_TOKEN`` and the webhook secret are set."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(get_settings().channels.telegram)

    def __init__(self, config: TelegramSettings) -> None:
        super().__init__(config.bot_token, None, config.webhook_url or None, debug_mode=False)
        self.config = config
        self._output: TelegramOutputChannel | None = None

    def get_output_channel(self) -> TelegramOutputChannel | None:
        """One client for the server's lifetime (Rasa's version also re-registers the webhook)."""
        if not self.config.enabled:
            return None
        if self._output is None:
            self._output = TelegramOutputChannel(self.config.bot_token, self.config.api_base)
        return self._output

    def _verified(self, request: Request) -> bool:
        sent = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(sent.encode(), self.config.webhook_secret.encode())

    async def register_webhook(self) -> None:
        """Tell Telegram where to post updates, with the secret it must send back."""
        output = self.get_output_channel()
        if output is None or not self.config.webhook_url:
            return
        try:
            await output.request(
                "setWebhook",
                {
                    "url": self.config.webhook_url,
                    "secret_token": self.config.webhook_secret,
                    "allowed_updates": json.dumps(ALLOWED_UPDATES),
                },
            )
            logger.info("Telegram webhook registered")
        except (TelegramAPIError, OSError, asyncio.TimeoutError) as error:
            logger.error("Could not register the Telegram webhook: %s", error)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.config.enabled:
            return disabled_blueprint("Telegram", self.config)
        try:
            output = self.get_output_channel()
        except ValidationError as error:
            logger.error("Telegram channel is off: TELEGRAM_BOT_TOKEN is not valid (%s)", error)
            return disabled_blueprint("Telegram", self.config)
        assert output is not None
        webhook = Blueprint("telegram_webhook", __name__)
        on_new_message = guarded(on_new_message, webhook)

        @webhook.listener("after_server_start")
        async def register(_app: Any, _loop: Any) -> None:
            await self.register_webhook()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._verified(request):
                return forbidden()
            update = json_object(request.body)
            if update is None:
                return bad_request("expected a JSON object")
            try:
                incoming = _incoming(update)
            except ValueError as error:
                return bad_request(str(error))
            if incoming is None:
                return response.text("ignored")
            chat_id, text, callback_query_id = incoming
            if callback_query_id:
                try:  # stops the button's loading spinner; the answer follows as a message
                    await output.answer_callback_query(callback_query_id)
                except (TelegramAPIError, OSError, asyncio.TimeoutError) as error:
                    logger.warning("Could not answer a Telegram callback query: %s", error)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        output,
                        chat_id,
                        input_channel=self.name(),
                        metadata=_delivery(update),
                    )
                )
            except Exception:  # logged; Telegram would otherwise redeliver the same update
                logger.exception("Could not handle a Telegram message")
            return response.text("success")

        return webhook
