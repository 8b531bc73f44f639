"""What every messaging platform's channel does the same way, so that each platform module holds
only what is particular to that platform.

Each platform channel subclasses Rasa's own channel for that platform (for its constructor and
helpers), so the shared part is a base placed before Rasa's class in the MRO:
``class TelegramChannel(PlatformChannel[TelegramSettings], TelegramInput)``. Its ``blueprint``
replaces Rasa's. :class:`PlatformChannel` owns:

- the settings: ``Settings.channels.<name>``, never ``credentials.yml`` (see
  :mod:`dit_assistant.channels`);
- switching off a platform that is not configured (its webhook answers 404);
- the webhook's flow: ``GET /`` answers a health check; ``POST /webhook`` is verified first
  (403, and nothing reaches the bot), then read (400 with the reason), and each message read is
  handed to the :class:`~dit_assistant.channels.guard.MessageGate`;
- the answer to a message the bot failed on: still 200 with the platform's usual body, because
  a platform that sees an error delivers the same update again and again. The failure is logged
  by the platform module's own logger, without the message.

A platform supplies how to verify a request, how to read it into :class:`Incoming` messages
(raising :class:`Unreadable` for a body that is not what the platform sends), and the body it
expects back. :class:`PlatformOutput` likewise owns splitting answers at the platform's limit,
with buttons on the last part; a platform supplies how to send one part.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.channels.common import (
    bad_request,
    disabled_blueprint,
    forbidden,
    split_message,
)
from dit_assistant.channels.guard import DELIVERY_ID, MessageGate, guarded
from dit_assistant.settings import PlatformSettings, get_settings

BUTTONS_ONLY_TEXT = "Choose an option:"
"""Buttons need a message to sit under; this one is used when an answer has buttons only."""

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


class Unreadable(ValueError):
    """A request that is not what the platform sends: answered 400 with this reason.

    Only this exception is answered 400, so an unexpected error elsewhere still shows as one.
    """


@dataclass(frozen=True)
class Incoming:
    """One person's message in a webhook request, as the platform addresses it."""

    sender_id: str
    """The platform's own id of the person or chat (the gate adds the channel's name)."""
    text: str
    output: OutputChannel | None
    """Where the replies go; None when the platform's ``dispatch`` makes it."""
    metadata: dict[str, Any] = field(default_factory=dict)


def delivered(delivery_id: str | None) -> dict[str, Any]:
    """Metadata carrying the platform's id of this delivery, by which the gate recognises the
    same update delivered again; none when the platform sent no id."""
    return {DELIVERY_ID: delivery_id} if delivery_id else {}


class PlatformChannel(InputChannel, Generic[SettingsT]):
    """A platform's webhook: switched off unless configured, verified, read, then answered."""

    platform_name: ClassVar[str]
    """How the logs name the platform when its channel is switched off ("Facebook")."""
    message_label: ClassVar[str] = ""
    """How the logs name one of its messages ("Messenger"); the platform's name if empty."""
    acknowledged: ClassVar[str] = ""
    """The body of the 200 that tells the platform a request was received."""

    config: SettingsT

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The platform's settings (``Settings.channels.<name>``); ``credentials.yml`` only
        lists the channel, so an unset variable leaves this platform off, not the server."""
        return cls(getattr(get_settings().channels, cls.name()))

    @property
    def logger(self) -> logging.Logger:
        """The platform module's logger: a platform's log lines keep its module's name."""
        return logging.getLogger(type(self).__module__)

    def usable(self) -> bool:
        """Whether settings that are all set are also valid; if not, log why (and the channel
        is switched off)."""
        return True

    def extend_blueprint(self, webhook: Blueprint) -> None:
        """Routes or listeners the platform needs besides the health check and the webhook."""

    def verified(self, request: Request) -> bool:
        """Whether the request comes from the platform (checked before anything else)."""
        raise NotImplementedError

    async def read(self, request: Request) -> list[Incoming] | HTTPResponse:
        """The messages of a verified request, or the answer to one without any to handle.

        Raises :class:`Unreadable` when the body is not what the platform sends.
        """
        raise NotImplementedError

    def acknowledgement(self) -> HTTPResponse:
        """The 200 after the messages were handed over (a new response each time: middleware
        may add headers to it)."""
        return response.text(self.acknowledged)

    async def dispatch(
        self, request: Request, gate: MessageGate, messages: list[Incoming]
    ) -> HTTPResponse:
        """Hand each message to the gate in turn, then acknowledge.

        A message the bot fails on is logged, and the request is acknowledged all the same: the
        platform would otherwise deliver it again, and the other messages of a batch would
        still be answered.
        """
        for incoming in messages:
            message = UserMessage(
                incoming.text,
                incoming.output,
                incoming.sender_id,
                input_channel=self.name(),
                metadata=incoming.metadata,
            )
            try:
                await gate(message)
            except Exception:  # logged; the platform would otherwise deliver it again
                label = self.message_label or self.platform_name  # a constant, not user data
                self.logger.exception(f"Could not handle a {label} message")
        return self.acknowledgement()

    async def receive(self, request: Request, gate: MessageGate) -> HTTPResponse:
        """``POST /webhook``: verify, read, dispatch."""
        try:
            if not self.verified(request):
                return forbidden()
            found = await self.read(request)
        except Unreadable as error:
            return bad_request(str(error))
        if isinstance(found, HTTPResponse):
            return found
        return await self.dispatch(request, gate, found)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.config.enabled or not self.usable():
            return disabled_blueprint(self.platform_name, self.config)
        # Sanic reads the second argument as a URL prefix; Rasa replaces it when it registers
        # the blueprint under /webhooks/<name>.
        webhook = Blueprint(f"{self.name()}_webhook", type(self).__module__)
        gate = guarded(on_new_message, webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.extend_blueprint(webhook)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, gate)

        return webhook


class PlatformOutput(OutputChannel):
    """Sends answers split at the platform's limit (``max_chars``), buttons with the last part.

    Placed before Rasa's output class for the platform, like :class:`PlatformChannel`.
    """

    max_chars: int

    async def send_part(self, recipient_id: str, text: str) -> None:
        """Send one message that fits the platform's limit."""
        raise NotImplementedError

    async def send_part_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        """Send one message that fits the limit, with the buttons as the platform shows them."""
        raise NotImplementedError

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_message(text, self.max_chars):
            await self.send_part(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = split_message(text, self.max_chars) or [BUTTONS_ONLY_TEXT]
        for part in parts[:-1]:
            await self.send_part(recipient_id, part)
        await self.send_part_with_buttons(recipient_id, parts[-1], buttons)
