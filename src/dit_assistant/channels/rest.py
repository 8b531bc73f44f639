"""The REST channel (``POST /webhooks/rest/webhook``), strict about what it accepts.

Rasa's own REST channel lets the caller choose ``input_channel`` (which feeds the safety
statistics and the enquiry's channel), answers 500 to bodies it cannot read, and logs the
message text at ERROR when handling fails or times out. This one:

- admits only callers it can trust: with ``REST_TOKEN`` set, requests carrying
  ``Authorization: Bearer <REST_TOKEN>`` (401 otherwise); without it, only callers on this
  machine in development (403 otherwise), and in production the channel is off (404). A caller
  who could reach it from outside could otherwise write into any REST conversation;
- reads only bodies sent as ``application/json`` (415 otherwise);
- takes ``sender`` (a non-empty string of at most 200 characters: with the channel's name in
  front it fits the tracker store's 255) and ``message`` (a string) from a JSON object and
  answers 400 to anything else;
- always sets ``input_channel`` to ``rest`` itself;
- passes every message through the :class:`~dit_assistant.channels.guard.MessageGate`
  (length limit, rate limits per sender and per address, typed intents), with the caller's
  address: the connection's peer, or for a trusted proxy (``TRUSTED_PROXIES``) the address it
  forwards;
- never logs the text, only what went wrong.

Streaming (``?stream=true``) is not offered: nothing here uses it.

``GET /webhooks/rest/ready`` is the readiness check: 200 when the model is loaded and the
conversation store can keep conversations, 503 otherwise, with which of the two is missing (for
a load balancer or a service manager; the store's state is also logged when it changes).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.channels.addresses import client_address
from dit_assistant.channels.common import bad_request, forbidden, json_object
from dit_assistant.channels.guard import guarded
from dit_assistant.settings import Settings, get_settings
from dit_assistant.store.tracker_store import conversation_store

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 200


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_json_request(content_type: str | None) -> bool:
    """Only ``application/json`` bodies: a browser cannot send one to another site without a
    CORS preflight, which the server grants only to the widget's origins, so a page elsewhere
    cannot post into a REST conversation from a visitor's browser."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def caller_admitted(settings: Settings, authorization: str | None, address: str) -> int | None:
    """None when the caller may use the REST channel, else the HTTP status to refuse it with."""
    if settings.rest_token:
        scheme, _, token = (authorization or "").partition(" ")
        given = token.strip().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given, settings.rest_token.encode()):
            return None
        return 401
    return None if is_loopback(address) else 403


def readiness(agent: Any) -> tuple[dict[str, Any], int]:
    """What the readiness check answers, and its status code."""
    loaded = agent is not None and agent.is_ready()
    state: dict[str, Any] = {"model": "loaded" if loaded else "loading"}
    store = conversation_store(agent)
    if store is not None:
        state.update(store.status())
    elif loaded:
        state["conversation_store"] = "not persistent"
    ready = loaded and state.get("conversation_store") != "unavailable"
    return {"status": "ready" if ready else "not ready", **state}, 200 if ready else 503


def read_message(body: bytes | None) -> tuple[str, str, dict[str, Any] | None] | str:
    """(sender, text, metadata) of a REST request body, or the reason it cannot be read."""
    payload = json_object(body)
    if payload is None:
        return "expected a JSON object"
    sender, text = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return f"expected sender: a string of 1 to {MAX_SENDER_CHARS} characters"
    if not isinstance(text, str):
        return "expected message: a string"
    metadata = payload.get("metadata")
    return sender, text, metadata if isinstance(metadata, dict) else None


class RestChannel(RestInput):
    """Rasa's REST channel with its input read strictly and the message text kept out of logs."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        if settings.production and not settings.rest_token:
            logger.info("REST channel is off: REST_TOKEN not set (DIT_ENV=production)")
            return Blueprint("rest_webhook_off")
        webhook = Blueprint("rest_webhook", __name__)
        gate = guarded(on_new_message, webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/ready", methods=["GET"])
        async def ready(_: Request) -> HTTPResponse:
            body, status = readiness(gate.agent)
            return response.json(body, status=status)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # The socket's peer, never a forwarded header a caller could write.
            refused = caller_admitted(settings, request.headers.get("authorization"), request.ip)
            if refused == 401:
                return response.text(
                    "a valid bearer token is needed",
                    status=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if refused is not None:
                return forbidden()
            if not is_json_request(request.headers.get("content-type")):
                return response.text("expected Content-Type: application/json", status=415)
            read = read_message(request.body)
            if isinstance(read, str):
                return bad_request(read)
            sender, text, metadata = read
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender, input_channel=self.name(), metadata=metadata
            )
            forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
            address = client_address(request.ip, forwarded, settings.trusted_proxies)
            try:
                await gate(message, address=address)
            except asyncio.CancelledError:
                logger.error("A REST message was cancelled before it was answered")
            except Exception as error:  # noqa: BLE001 - logged by type only: no message text
                logger.error("Could not handle a REST message: %s", type(error).__name__)
            return response.json(collector.messages)

        return webhook
