"""Twilio SMS and WhatsApp, verified with ``X-Twilio-Signature``.

Rasa's own Twilio channel accepts any POST. This one checks the signature with the ``twilio``
library's ``RequestValidator``. Twilio signs the URL it posted to, which behind a proxy or load
balancer is not the URL this server sees, so the public URL is a setting (``TWILIO_WEBHOOK_URL``).

SMS and WhatsApp through Twilio cannot show buttons: they become numbered options, and a reply
of just the number picks the option (read back from the conversation, see
:func:`dit_assistant.channels.common.resolve_numbered_reply`). Replies are sent from the number
the person wrote to, so one webhook serves any number of SMS and WhatsApp senders. Long answers
are split at Twilio's 1600-character limit for a message body (which also applies to WhatsApp).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioException
from twilio.request_validator import RequestValidator

from dit_assistant.channels.common import (
    form_params,
    numbered_options,
    resolve_numbered_reply,
)
from dit_assistant.channels.guard import conversation_id
from dit_assistant.channels.platform import (
    Incoming,
    PlatformChannel,
    PlatformOutput,
    Unreadable,
    delivered,
)
from dit_assistant.settings import TwilioSettings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_API = "https://api.twilio.com"
MAX_BODY_CHARS = 1600  # Twilio's limit for Body, SMS and WhatsApp alike (error 21658)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioOutputChannel(PlatformOutput, TwilioOutput):
    """Sends through Twilio's REST API (at a configurable base URL), options as numbered text.

    One instance answers one incoming message, so option numbers run on across the messages of
    that answer, in the same order :func:`offered_buttons` reads them back.
    """

    def __init__(self, config: TwilioSettings, from_number: str, max_chars: int) -> None:
        super().__init__(config.account_sid, config.auth_token, from_number)
        self._api_base = config.api_base.rstrip("/")
        self.max_chars = max_chars
        self._next_option = 1

    def get_hostname(self, uri: str) -> str:
        """Point the client at ``TWILIO_API_BASE`` (a local fake in tests)."""
        uri = super().get_hostname(uri)
        if uri.startswith(TWILIO_API):
            return self._api_base + uri[len(TWILIO_API) :]
        return uri

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        """The twilio client blocks: run it in a thread so the server keeps serving."""
        try:
            return await asyncio.to_thread(self.messages.create, **message_data)
        except (TwilioException, OSError) as error:  # refused, or Twilio unreachable
            logger.error("Twilio did not accept a message: %s", error)
            return None

    async def send_part(self, recipient_id: str, text: str) -> None:
        await self._send_message({"to": recipient_id, "from_": self.twilio_number, "body": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """No buttons: the options are numbered under the text, which is then split as usual."""
        options = numbered_options(buttons, first=self._next_option)
        self._next_option += len(buttons)
        await self.send_text_message(recipient_id, f"{text}\n\n{options}".strip())


def public_url(request: Request, configured: str) -> str:
    """The URL Twilio signed: the configured one, else this request's as the client saw it."""
    if configured:
        return configured
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    query = f"?{request.query_string}" if request.query_string else ""
    return f"{scheme}://{host}{request.path}{query}"


def _params(request: Request) -> dict[str, str]:
    """The form's fields; read before the signature, which covers them."""
    try:
        return form_params(request)
    except (ValueError, UnicodeDecodeError) as error:
        raise Unreadable("expected a form-encoded body") from error


class TwilioChannel(PlatformChannel[TwilioSettings], TwilioInput):
    """Twilio input channel; off unless ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` are set."""

    platform_name = "Twilio"

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, config: TwilioSettings) -> None:
        super().__init__(config.account_sid, config.auth_token, None, debug_mode=False)
        self.config = config

    def get_output_channel(self) -> None:
        """No output without an incoming message: the reply goes from the number written to."""
        return None

    def output_for(self, sender: str, receiver: str) -> TwilioOutputChannel:
        whatsapp = sender.startswith("whatsapp:")
        limit = MAX_BODY_CHARS if whatsapp else min(self.config.sms_max_length, MAX_BODY_CHARS)
        return TwilioOutputChannel(self.config, receiver, limit)

    def verified(self, request: Request) -> bool:
        """Twilio's signature of its public URL (``TWILIO_WEBHOOK_URL``) and the form's fields."""
        params = _params(request)
        signature = request.headers.get(SIGNATURE_HEADER, "")
        url = public_url(request, self.config.webhook_url)
        validator = RequestValidator(self.config.auth_token)
        return bool(signature) and bool(validator.validate(url, params, signature))

    async def read(self, request: Request) -> list[Incoming] | HTTPResponse:
        params = _params(request)
        sender, receiver, text = params.get("From"), params.get("To"), params.get("Body")
        if not sender or not receiver or text is None:
            raise Unreadable("expected From, To and Body")
        text = text.replace("¡", "@")  # some carriers turn @ into ¡
        agent = getattr(request.app.ctx, "agent", None)
        text = await resolve_numbered_reply(agent, conversation_id(self.name(), sender), text)
        output = self.output_for(sender, receiver)
        return [Incoming(sender, text, output, delivered(params.get("MessageSid")))]

    def acknowledgement(self) -> HTTPResponse:
        """An empty TwiML document: the replies go through the API, not in the answer."""
        return response.text(EMPTY_TWIML, content_type="text/xml")
