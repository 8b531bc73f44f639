"""Chat with the assistant in a terminal (``make chat``).

Talks to the running Rasa server over its REST channel when ``make run`` is up; otherwise loads
the trained model in this process. Quick-reply buttons are shown as numbered options, and typing
the number chooses one, as on channels without buttons.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from dit_assistant.paths import BOT_DIR, MODEL

Reply = list[dict[str, Any]]


def format_reply(messages: Reply) -> tuple[str, list[str]]:
    """Render bot messages as text with numbered options; return the options' payloads too."""
    lines: list[str] = []
    payloads: list[str] = []
    for message in messages:
        if message.get("text"):
            lines.append(message["text"])
        for button in message.get("buttons") or []:
            payloads.append(button["payload"])
            lines.append(f"  {len(payloads)}. {button['title']}")
    return "\n".join(lines), payloads


def _rest_sender(base_url: str, sender: str) -> Callable[[str], Reply] | None:
    url = f"{base_url}/webhooks/rest/webhook"
    try:
        urllib.request.urlopen(base_url, timeout=2).close()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None

    def send(text: str) -> Reply:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    return send


def _in_process_sender(sender: str) -> Callable[[str], Reply]:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

    loop = asyncio.new_event_loop()
    agent = Agent.load(
        str(MODEL),
        generator=read_endpoint_config(str(BOT_DIR / "endpoints.yml"), "nlg"),
        action_endpoint=read_endpoint_config(str(BOT_DIR / "endpoints.yml"), "action_endpoint")
        or EndpointConfig(),
    )

    def send(text: str) -> Reply:
        return loop.run_until_complete(agent.handle_text(text, sender_id=sender)) or []

    return send


def run_terminal_chat(base_url: str) -> int:
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    send = _rest_sender(base_url, sender)
    if send is None:
        print("Loading the assistant (no server running at", base_url, ")...")
        send = _in_process_sender(sender)
    print("Type a message and press Enter. Type /stop to quit.\n")
    payloads: list[str] = []
    text = "/greet"
    while True:
        reply, payloads = format_reply(send(text))
        print(f"\nAssistant: {reply}\n" if reply else "")
        try:
            text = input("You: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text == "/stop":
            return 0
        if text.isdigit() and 1 <= int(text) <= len(payloads):
            text = payloads[int(text) - 1]
