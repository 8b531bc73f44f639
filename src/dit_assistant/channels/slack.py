"""Slack, verified with the app's signing secret and the request's timestamp.

Rasa's Slack channel already checks the signature properly (HMAC-SHA256 with
``hmac.compare_digest``, requests older than five minutes refused); this subclass keeps that
check but answers 403 instead of 400, answers 400 instead of 500 to bodies it cannot read,
splits long answers at Slack's 3000-character limit for a text block, and takes the Web API URL
from a setting (``SLACK_API_BASE``) so tests can point the bot at a local fake server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import ClientError
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from dit_assistant.channels.common import json_object
from dit_assistant.channels.guard import DELIVERY_ID, MessageGate
from dit_assistant.channels.platform import Incoming, PlatformChannel, PlatformOutput, Unreadable
from dit_assistant.settings import SlackSettings

logger = logging.getLogger(__name__)

MAX_BLOCK_CHARS = 3000  # a section block's text; a whole message may have 40000
MAX_BUTTONS = 25  # per actions block
MAX_BUTTON_TITLE = 75


def _event_metadata(body: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """What Rasa's ``get_metadata`` extracts, without trusting the body's shape."""
    users = body.get("authed_users")
    if not isinstance(users, list):
        authorizations = body.get("authorizations")
        first = authorizations[0] if isinstance(authorizations, list) and authorizations else {}
        users = [first.get("user_id")] if isinstance(first, dict) and first.get("user_id") else []
    metadata = {
        "out_channel": event.get("channel"),
        "thread_id": event.get("thread_ts", event.get("ts")),
        "users": [str(user) for user in users],
    }
    if isinstance(body.get("event_id"), str) and body["event_id"]:
        metadata[DELIVERY_ID] = body["event_id"]  # what Slack's retries repeat
    return metadata


class SlackOutputChannel(PlatformOutput, SlackBot):
    """Posts with ``chat.postMessage`` at the configured API base, within Slack's limits."""

    max_chars = MAX_BLOCK_CHARS

    def __init__(
        self, config: SlackSettings, channel: str | None = None, thread_id: str | None = None
    ) -> None:
        super().__init__(config.bot_token, channel, thread_id)
        self.client = AsyncWebClient(token=config.bot_token, base_url=config.api_base)

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        if self.thread_id:
            kwargs["thread_ts"] = self.thread_id
        try:
            await self.client.chat_postMessage(channel=channel, **kwargs)
        except (SlackApiError, ClientError, OSError, asyncio.TimeoutError) as error:
            logger.error("Slack did not accept a message: %s", error)

    async def send_part(self, recipient_id: str, text: str) -> None:
        await self._post_message(channel=self.slack_channel or recipient_id, text=text, mrkdwn=True)

    async def send_part_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        """The text as a section block with an actions block of buttons under it."""
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": b["title"][:MAX_BUTTON_TITLE]},
                        "value": b.get("payload") or b["title"],
                    }
                    for b in buttons[:MAX_BUTTONS]
                ],
            },
        ]
        await self._post_message(
            channel=self.slack_channel or recipient_id, text=text, blocks=blocks
        )


class SlackChannel(PlatformChannel[SlackSettings], SlackInput):
    """Slack input channel; off unless ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` are set."""

    platform_name = "Slack"

    @classmethod
    def name(cls) -> str:
        return "slack"

    def __init__(self, config: SlackSettings) -> None:
        self.config = config
        if config.enabled:  # Rasa's constructor refuses to run without a signing secret
            super().__init__(
                config.bot_token,
                slack_retry_reason_header="x-slack-retry-reason",
                slack_retry_number_header="x-slack-retry-num",
                slack_signing_secret=config.signing_secret,
            )

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> SlackOutputChannel | None:
        if not self.config.enabled:
            return None
        return SlackOutputChannel(self.config, channel, thread_id)

    def verified(self, request: Request) -> bool:
        """Rasa's check: the signing secret's HMAC of the body and a recent timestamp."""
        return bool(self.is_request_from_slack_authentic(request))

    async def read(self, request: Request) -> list[Incoming] | HTTPResponse:
        """Events come as JSON, button presses as a form."""
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json":
                return self._event(request)
            if content_type == "application/x-www-form-urlencoded":
                return self._interaction(request)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Unreadable("body could not be read") from error
        raise Unreadable("unsupported content type")

    def _event(self, request: Request) -> list[Incoming] | HTTPResponse:
        """A JSON body: the URL handshake or an Events API callback."""
        body = json_object(request.body)
        if body is None:
            raise Unreadable("expected a JSON object")
        if body.get("type") == "url_verification":
            return response.json({"challenge": str(body.get("challenge", ""))})
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("text", ""), str):
            raise Unreadable("expected an event object")
        if not self._is_user_message(body):
            return response.text("ignored")  # the bot's own posts, edits, joins...
        metadata = _event_metadata(body, event)
        if not self._is_supported_channel(body, metadata):
            return response.text("channel not supported")
        sender_id = self._get_conversation_id(
            event.get("user", ""), metadata.get("out_channel"), metadata.get("thread_id")
        )
        text = self._sanitize_user_message(event["text"], metadata["users"])
        return [Incoming(sender_id, text, None, metadata)]

    def _interaction(self, request: Request) -> list[Incoming] | HTTPResponse:
        """A form body: a button pressed in one of our messages."""
        raw = request.form.get("payload")
        payload = json_object(raw.encode() if isinstance(raw, str) else None)
        if payload is None:
            raise Unreadable("expected a JSON payload field")
        try:
            if not self._is_interactive_message(payload):
                return response.text("ignored")
            text = self._get_interactive_response(payload["actions"][0])
            sender_id = payload["user"]["id"]
            metadata = self.get_metadata(request)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
            raise Unreadable("not a Slack interaction") from error
        if text is None:
            return response.text("ignored")  # link buttons carry no value
        conversation_id = self._get_conversation_id(
            sender_id, metadata.get("out_channel"), metadata.get("thread_id")
        )
        return [Incoming(conversation_id, str(text), None, metadata)]

    async def dispatch(
        self, request: Request, gate: MessageGate, messages: list[Incoming]
    ) -> HTTPResponse:
        """Rasa's ``process_message``: Slack's retries after a timeout are answered 201 with
        ``X-Slack-No-Retry``, and the message is handled in the background after the 200
        (Slack wants its answer within three seconds)."""
        (incoming,) = messages  # one event or interaction per request
        return await self.process_message(
            request, gate, incoming.text, incoming.sender_id, incoming.metadata
        )
