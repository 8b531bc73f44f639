"""What the messaging channels share: switching off an unconfigured platform, the answers to bad
requests, splitting long answers, and numbered options for platforms without buttons."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from dit_assistant.settings import PlatformSettings

logger = logging.getLogger(__name__)

OPTIONS_PROMPT = "Reply with the number of an option:"

# From the most to the least natural place to cut a message.
_BOUNDARIES = (r"\n\s*\n", r"\n", r"(?<=[.!?…:;])\s+", r"\s+")
_NUMBER_REPLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def disabled_blueprint(platform_name: str, platform: PlatformSettings) -> Blueprint:
    """A blueprint without routes: the platform's webhook answers 404, the server starts anyway.

    Rasa registers every channel listed in ``credentials.yml``; returning an empty blueprint is
    how an unconfigured platform stays off without stopping the others.
    """
    if platform.partly_configured:
        logger.warning("%s channel is off: %s not set", platform_name, ", ".join(platform.missing))
    else:
        logger.info("%s channel is off: not configured", platform_name)
    return Blueprint(f"{platform_name.lower()}_webhook_off")


def forbidden() -> HTTPResponse:
    """Unverified requests: refused before anything reaches the bot."""
    return response.text("request could not be verified", status=403)


def bad_request(reason: str) -> HTTPResponse:
    return response.text(f"bad request: {reason}", status=400)


def json_object(raw: bytes | None) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (the caller answers 400)."""
    try:
        value = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        return None
    return value if isinstance(value, dict) else None


def form_params(request: Request) -> dict[str, str]:
    """Form fields as a flat mapping (first value of each), which is what signatures cover."""
    return {key: values[0] for key, values in request.form.items() if values}


def utf16_length(text: str) -> int:
    """Length as Telegram and most platforms count it: emoji outside the BMP count twice."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Cuts between paragraphs if it can, else between lines, else between sentences, else between
    words, and only as a last resort inside a word; a short text stays one message.
    """
    text = text.strip()
    if not text:
        return []
    return [part for part in _split(text, limit, 0) if part]


def _split(text: str, limit: int, level: int) -> list[str]:
    if utf16_length(text) <= limit:
        return [text.strip()]
    if level == len(_BOUNDARIES):
        return _hard_split(text, limit)
    pieces = re.split(f"({_BOUNDARIES[level]})", text)
    chunks: list[str] = []
    current = ""
    for index in range(0, len(pieces), 2):
        piece = pieces[index]
        candidate = current + pieces[index - 1] + piece if current else piece
        if utf16_length(candidate.strip()) <= limit:
            current = candidate
            continue
        if current.strip():
            chunks.append(current.strip())
        if utf16_length(piece.strip()) <= limit:
            current = piece
        else:
            smaller = _split(piece.strip(), limit, level + 1)
            chunks.extend(smaller[:-1])
            current = smaller[-1] if smaller else ""
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _hard_split(text: str, limit: int) -> list[str]:
    chunks, current = [], ""
    for char in text:
        if utf16_length(current + char) > limit:
            chunks.append(current)
            current = ""
        current += char
    return [*chunks, current] if current else chunks


def numbered_options(buttons: Iterable[dict[str, Any]], first: int = 1) -> str:
    """Buttons as text, for platforms that cannot show them (SMS, WhatsApp via Twilio)."""
    lines = [
        f"{number}. {button.get('title') or button.get('payload')}"
        for number, button in enumerate(buttons, start=first)
    ]
    return "\n".join([OPTIONS_PROMPT, *lines])


def offered_buttons(events: Iterable[Any]) -> list[dict[str, Any]]:
    """The buttons the bot offered since the person last wrote, numbered in the order shown."""
    offered: list[dict[str, Any]] = []
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            offered[:0] = (event.data or {}).get("buttons") or []
    return offered


async def resolve_numbered_reply(agent: Any, sender_id: str, text: str) -> str:
    """Turn a reply of just a number into the payload of the option with that number.

    The options are read back from the conversation tracker rather than remembered by the
    channel: nothing to bound or expire, and it works across restarts and several server
    processes sharing a tracker store. Anything that is not a valid option number is returned
    unchanged, so "16" still reaches the bot as text when no options were offered.
    """
    match = _NUMBER_REPLY.match(text or "")
    tracker_store = getattr(agent, "tracker_store", None)
    if not match or tracker_store is None:
        return text
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return text
    options = offered_buttons(tracker.events)
    number = int(match.group(1))
    if 1 <= number <= len(options) and options[number - 1].get("payload"):
        return str(options[number - 1]["payload"])
    return text
