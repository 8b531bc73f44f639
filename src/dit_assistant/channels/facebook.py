"""Facebook Messenger, verified with ``X-Hub-Signature-256``.

Rasa's own Messenger channel checks the older SHA-1 signature with a plain ``==``, which leaks
timing. This one checks the SHA-256 HMAC of the raw body with the app secret using
``hmac.compare_digest`` before reading the body, answers the subscription handshake only for the
configured verify token, and handles every event of a batch (Rasa's handles the first only).

Buttons become quick replies (Messenger shows up to 13, titles of up to 20 characters), and
answers are split at Messenger's 2000-character limit. The Graph API URL is a setting
(``FACEBOOK_GRAPH_API_URL``) so tests can point the bot at a local fake server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any

from fbmessenger import MessengerClient
from rasa.core.channels.facebook import FacebookInput, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.channels.common import forbidden, json_object
from dit_assistant.channels.platform import (
    Incoming,
    PlatformChannel,
    PlatformOutput,
    Unreadable,
    delivered,
)
from dit_assistant.settings import FacebookSettings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_CHARS = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE_CHARS = 20


def signature_valid(app_secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def short_title(title: str) -> str:
    """Messenger cuts quick-reply titles at 20 characters; cut at a word, visibly."""
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,.?")
    return f"{cut}…"


class FacebookOutputChannel(PlatformOutput, MessengerBot):
    """Sends through the Graph API; fbmessenger blocks, so each call runs in a thread."""

    max_chars = MAX_CHARS

    def __init__(self, config: FacebookSettings) -> None:
        client = MessengerClient(config.page_access_token)
        client.graph_url = config.graph_api_url.rstrip("/")
        super().__init__(client)

    async def _post(self, recipient_id: str, message: dict[str, Any]) -> None:
        try:
            result = await asyncio.to_thread(
                self.messenger_client.send, message, recipient_id, "RESPONSE"
            )
        except (OSError, ValueError) as error:  # unreachable, or an answer that is not JSON
            logger.error("Could not reach the Messenger API: %s", error)
            return
        if isinstance(result, dict) and result.get("error"):
            logger.error("Messenger did not accept a message: %s", result["error"].get("message"))

    async def send_part(self, recipient_id: str, text: str) -> None:
        await self._post(recipient_id, {"text": text})

    async def send_part_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        """Buttons as quick replies: Messenger shows at most 13, with short titles."""
        quick_replies = [
            {
                "content_type": "text",
                "title": short_title(b["title"]),
                "payload": b.get("payload") or b["title"],
            }
            for b in buttons[:MAX_QUICK_REPLIES]
        ]
        await self._post(recipient_id, {"text": text, "quick_replies": quick_replies})

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        attachment = {"type": "image", "payload": {"url": image, "is_reusable": True}}
        await self._post(recipient_id, {"attachment": attachment})


def _events(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(sender id, text, message id) of each person's message or button press in a batch.

    The message id (``mid``) is what a redelivered batch repeats.

    Raises :class:`Unreadable` when the body is not shaped like a Messenger webhook.
    """
    entries = body.get("entry")
    if body.get("object") != "page" or not isinstance(entries, list):
        raise Unreadable("expected a page webhook with a list of entries")
    found = []
    for entry in entries:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            raise Unreadable("entry without a messaging list")
        for event in events:
            sender = event.get("sender") if isinstance(event, dict) else None
            sender_id = sender.get("id") if isinstance(sender, dict) else None
            if not isinstance(sender_id, str) or not sender_id:
                raise Unreadable("event without a sender id")
            text = _text_of(event)
            if text is not None:
                found.append((sender_id, text, _mid_of(event)))
    return found


def _mid_of(event: dict[str, Any]) -> str | None:
    for key in ("message", "postback"):
        part = event.get(key)
        if isinstance(part, dict) and isinstance(part.get("mid"), str) and part["mid"]:
            return str(part["mid"])
    return None


def _text_of(event: dict[str, Any]) -> str | None:
    message, postback = event.get("message"), event.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None  # our own replies, echoed back
        quick_reply = message.get("quick_reply")
        if isinstance(quick_reply, dict) and isinstance(quick_reply.get("payload"), str):
            return quick_reply["payload"]
        return message["text"] if isinstance(message.get("text"), str) else None
    if isinstance(postback, dict) and isinstance(postback.get("payload"), str):
        return postback["payload"]
    return None  # deliveries, reads, reactions: nothing to answer


class FacebookChannel(PlatformChannel[FacebookSettings], FacebookInput):
    """Messenger input channel; off unless the page token, app secret and verify token are set."""

    platform_name = "Facebook"
    message_label = "Messenger"
    acknowledged = "EVENT_RECEIVED"

    @classmethod
    def name(cls) -> str:
        return "facebook"

    def __init__(self, config: FacebookSettings) -> None:
        super().__init__(config.verify_token, config.app_secret, config.page_access_token)
        self.config = config

    def get_output_channel(self) -> FacebookOutputChannel | None:
        return FacebookOutputChannel(self.config) if self.config.enabled else None

    def extend_blueprint(self, webhook: Blueprint) -> None:
        @webhook.route("/webhook", methods=["GET"])
        async def subscribe(request: Request) -> HTTPResponse:
            """Meta's one-off handshake when the webhook URL is saved in the app settings."""
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") != "subscribe" or not hmac.compare_digest(
                token.encode(), self.config.verify_token.encode()
            ):
                return forbidden()
            return response.text(request.args.get("hub.challenge") or "")

    def verified(self, request: Request) -> bool:
        """The signature covers the raw body, checked before the body is parsed."""
        header = request.headers.get(SIGNATURE_HEADER, "")
        return signature_valid(self.config.app_secret, request.body or b"", header)

    async def read(self, request: Request) -> list[Incoming] | HTTPResponse:
        """Every message of the batch; each gets its own output (Messenger's answers are sent
        per recipient)."""
        payload = json_object(request.body or b"")
        if payload is None:
            raise Unreadable("expected a JSON object")
        return [
            Incoming(sender_id, text, FacebookOutputChannel(self.config), delivered(mid))
            for sender_id, text, mid in _events(payload)
        ]
