"""The website widget's channel: Rasa's socket.io channel with session persistence that works.

In Rasa 3.6.21 the ``session_request`` handler calls ``sio.enter_room(...)`` without awaiting
it; with python-socketio 5 that is a coroutine, so the browser never joins its session room and
never receives a bot reply (RasaHQ/rasa#13027). This subclass registers handlers that await it.

It also:

- refuses a connection whose ``Origin`` is not one of the widget's pages
  (``Settings.allowed_widget_origins``): browsers do not apply CORS to WebSockets, so without
  this any web site could open a conversation in a visitor's browser. Clients that send no
  Origin (not browsers) are let in, as python-engineio does;
- accepts only session ids of the form the server itself hands out (32 hex digits), and a
  message only for the session its own socket confirmed: one socket cannot write into another
  socket's conversation even if it learns its id (the gate also names every conversation by its
  channel, so no session id can name an SMS conversation);
- passes every message through the :class:`~dit_assistant.channels.guard.MessageGate`, with
  the address the socket connected from (the connection's peer, or for a trusted proxy,
  ``TRUSTED_PROXIES``, the address it forwards) for the per-address rate limit, and
  refuses packets larger than ``MAX_REQUEST_BYTES`` (python-engineio's
  ``max_http_buffer_size``, 1 MB by default).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from dit_assistant.channels.addresses import client_address
from dit_assistant.channels.guard import guarded
from dit_assistant.settings import IPNetwork, get_settings

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
_BARE_URL = re.compile(r"(?<![(\[<])\bhttps?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'\"]")


def widget_markdown(text: str) -> str:
    """The widget renders Markdown: keep the answer's line breaks and make bare URLs links.

    Answers in ``bot/domain/`` are plain text with single line breaks (lists of helplines,
    for example), which Markdown would join into one paragraph, and URLs that Markdown would
    leave unclickable.
    """
    linked = _BARE_URL.sub(lambda m: f"[{m.group(0)}]({m.group(0)})", text)
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", linked)


class WidgetOutput(SocketIOOutput):
    """Rasa's socket.io output, with texts prepared for the widget's Markdown renderer."""

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if isinstance(response, dict) and isinstance(response.get("text"), str):
            response = {**response, "text": widget_markdown(response["text"])}
        await super()._send_message(socket_id, response)


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def socket_address(environ: dict[str, Any], proxies: Sequence[IPNetwork]) -> str | None:
    """The address a socket connected from: the peer of the HTTP request that opened it
    (python-engineio's ``REMOTE_ADDR`` is a fixed placeholder under Sanic), or for a trusted
    proxy the address it forwards."""
    request = environ.get("sanic.request")
    peer = getattr(request, "ip", None) if request is not None else environ.get("REMOTE_ADDR")
    return client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), proxies)


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel, with the session room joined before replies are sent."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()
        settings = get_settings()
        sio.eio.max_http_buffer_size = settings.max_request_bytes
        allowed_origins = frozenset(settings.allowed_widget_origins)
        gate = guarded(on_new_message, webhook)
        confirmed: dict[str, str] = {}  # socket id -> the session it was confirmed
        addresses: dict[str, str | None] = {}  # socket id -> the address it connected from

        # Registering a handler again for the same event replaces the parent's one.
        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if origin and origin.rstrip("/") not in allowed_origins:
                logger.info("refused a socket.io connection from a page that is not the widget's")
                return False
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not (token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)):
                    return False
            addresses[sid] = socket_address(environ, settings.trusted_proxies)
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            confirmed.pop(sid, None)
            addresses.pop(sid, None)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            requested = (data or {}).get("session_id") if isinstance(data, dict) else None
            session_id = str(requested) if valid_session_id(requested) else uuid.uuid4().hex
            confirmed[sid] = session_id
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.debug("ignoring a malformed socket.io message")
                return
            if self.session_persistence:
                if data.get("session_id") != confirmed.get(sid):
                    logger.debug("ignoring a socket.io message for a session not confirmed to it")
                    return
                sender_id = data["session_id"]
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = UserMessage(
                data.get("message", ""),
                WidgetOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await gate(message, address=addresses.get(sid))

        return webhook

    def get_output_channel(self) -> WidgetOutput | None:
        """Used by Rasa's HTTP API to send to a conversation (e.g. a reminder)."""
        return WidgetOutput(self.sio, self.bot_message_evt) if self.sio else None
