"""What the Rasa server accepts, and from whom: the website widget, the REST channel, message
and request limits, rate limits, trusted proxies and the messaging platforms.

These bound what a stranger on the internet can send, so each one is checked at start-up.
"""

from __future__ import annotations

from typing import Any

from dit_assistant.settings.environment import (
    parse_log_level,
    parse_networks,
    parse_origins,
    parse_port,
    parse_positive_int,
    parse_rest_token,
)
from dit_assistant.settings.platforms import channel_settings

DEFAULT_WEB_PORT = 8080
DEFAULT_MAX_MESSAGE_CHARS = 2000
"""Longest message read, in characters; a longer one gets a kind reply and is not processed."""
DEFAULT_MAX_MESSAGES_PER_MINUTE = 30
"""Messages one sender may send in a minute; more get a kind reply (with the crisis lines) and
are not processed. Far above anyone typing, even in distress; a script flooding the server hits
it at once."""
DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS = 120
"""Messages one network address may send in a minute, all its senders together (REST and the
widget; platform webhooks come from the platforms' servers and are not counted). Generous: a
clinic's waiting room or an office may share one address."""
DEFAULT_MAX_REQUEST_BYTES = 256 * 1024
"""Largest request body the Rasa server reads (Sanic, socket.io): far above any message allowed
(2,000 characters as JSON escapes are under 25 KB) and far below Sanic's own 100 MB."""


def server_settings(env: dict[str, str]) -> dict[str, Any]:
    """The widget's page and the Rasa server's limits and channels; the keys of the result are
    fields of :class:`~dit_assistant.settings.Settings`."""
    return {
        "web_port": parse_port(env.get("WEB_PORT") or DEFAULT_WEB_PORT, "WEB_PORT"),
        "widget_origins": parse_origins(env.get("WIDGET_ORIGINS") or ""),
        "rest_token": parse_rest_token(env.get("REST_TOKEN") or ""),
        "max_message_chars": parse_positive_int(
            env.get("MAX_MESSAGE_CHARS") or DEFAULT_MAX_MESSAGE_CHARS, "MAX_MESSAGE_CHARS", 100_000
        ),
        "log_level": parse_log_level(env.get("LOG_LEVEL") or "INFO"),
        "max_messages_per_minute": parse_positive_int(
            env.get("MAX_MESSAGES_PER_MINUTE") or DEFAULT_MAX_MESSAGES_PER_MINUTE,
            "MAX_MESSAGES_PER_MINUTE",
            10_000,
        ),
        "max_messages_per_minute_per_address": parse_positive_int(
            env.get("MAX_MESSAGES_PER_MINUTE_PER_ADDRESS")
            or DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS,
            "MAX_MESSAGES_PER_MINUTE_PER_ADDRESS",
            100_000,
        ),
        "trusted_proxies": parse_networks(env.get("TRUSTED_PROXIES") or ""),
        "max_request_bytes": parse_positive_int(
            env.get("MAX_REQUEST_BYTES") or DEFAULT_MAX_REQUEST_BYTES,
            "MAX_REQUEST_BYTES",
            100_000_000,
        ),
        "channels": channel_settings(env),
    }
