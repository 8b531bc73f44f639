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
from typing import Any

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import TelegramAPIError, ValidationError
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.channels.common import json_object
from dit_assistant.channels.platform import (
    Incoming,
    PlatformChannel,
    PlatformOutput,
    Unreadable,
    delivered,
)
from dit_assistant.settings import TelegramSettings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_CHARS = 4096
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class TelegramOutputChannel(PlatformOutput, TelegramOutput):
    """Sends through the Bot API at the configured base URL, within Telegram's limits."""

    max_chars = MAX_CHARS

    def __init__(self, access_token: str, api_base: str) -> None:
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_base))

    async def send_part(self, recipient_id: str, text: str) -> None:
        await self.send_message(recipient_id, text)

    async def send_part_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        keyboard = InlineKeyboardMarkup()
        for button in buttons:  # one per row: long titles stay readable on a phone
            payload = button.get("payload") or button["title"]
            keyboard.row(InlineKeyboardButton(button["title"], callback_data=payload))
        await self.send_message(recipient_id, text, reply_markup=keyboard)


def _incoming(update: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(chat id, text, callback query id) of an update we answer; None for other updates.

    Raises :class:`Unreadable` when the update is not shaped like a Telegram update.
    """
    query = update.get("callback_query")
    if query is not None:
        if not isinstance(query, dict) or not isinstance(query.get("data"), str):
            raise Unreadable("callback_query without data")
        return _chat_id(query.get("message")), query["data"], str(query.get("id") or "")
    message = update.get("message") or update.get("edited_message")
    if message is None:
        return None  # e.g. a member joined: nothing to answer
    if not isinstance(message, dict):
        raise Unreadable("message is not an object")
    text = message.get("text")
    if text is None:
        return None  # stickers, photos, locations: no text to understand
    if not isinstance(text, str):
        raise Unreadable("text is not a string")
    if text.split("@")[0].strip() == "/start":
        text = "/greet"  # Telegram's first message when someone opens the bot
    return _chat_id(message), text, None


def _delivery(update: dict[str, Any]) -> dict[str, Any]:
    """Telegram sends an update again, with the same ``update_id``, until we answer 200."""
    update_id = update.get("update_id")
    valid = isinstance(update_id, int) and not isinstance(update_id, bool)
    return delivered(str(update_id) if valid else None)


def _chat_id(message: Any) -> str:
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat_id, int | str) or isinstance(chat_id, bool) or chat_id == "":
        raise Unreadable("message without a chat id")
    return str(chat_id)


class TelegramChannel(PlatformChannel[TelegramSettings], TelegramInput):
    """Telegram input channel; off unless ``TELEGRAM_BOT_TOKEN`` and the webhook secret are set."""

    platform_name = "Telegram"
    acknowledged = "success"

    @classmethod
    def name(cls) -> str:
        return "telegram"

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

    def usable(self) -> bool:
        """The token must have the form of a bot token for the client to be made."""
        try:
            self.get_output_channel()
        except ValidationError as error:
            logger.error("Telegram channel is off: TELEGRAM_BOT_TOKEN is not valid (%s)", error)
            return False
        return True

    def _client(self) -> TelegramOutputChannel:
        output = self.get_output_channel()
        assert output is not None  # the webhook only exists while the channel is on
        return output

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

    def extend_blueprint(self, webhook: Blueprint) -> None:
        @webhook.listener("after_server_start")
        async def register(_app: Any, _loop: Any) -> None:
            await self.register_webhook()

    def verified(self, request: Request) -> bool:
        """The secret registered with the webhook, compared in constant time."""
        sent = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(sent.encode(), self.config.webhook_secret.encode())

    async def read(self, request: Request) -> list[Incoming] | HTTPResponse:
        update = json_object(request.body)
        if update is None:
            raise Unreadable("expected a JSON object")
        incoming = _incoming(update)
        if incoming is None:
            return response.text("ignored")
        chat_id, text, callback_query_id = incoming
        output = self._client()
        if callback_query_id:
            try:  # stops the button's loading spinner; the answer follows as a message
                await output.answer_callback_query(callback_query_id)
            except (TelegramAPIError, OSError, asyncio.TimeoutError) as error:
                logger.warning("Could not answer a Telegram callback query: %s", error)
        return [Incoming(chat_id, text, output, _delivery(update))]
