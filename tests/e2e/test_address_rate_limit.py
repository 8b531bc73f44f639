"""The per-address rate limit through the real Rasa server, behind a proxy the server trusts
(``TRUSTED_PROXIES=127.0.0.1``: the tests stand in for the clinic's proxy on this machine and
send ``X-Forwarded-For``, as it would). An address that takes a new widget session or REST
sender for every message is throttled with the kind reply that carries the crisis lines, and
people at other addresses behind the same proxy are answered as usual.

No action server: the answers checked here never need one. The addresses are documentation
addresses (RFC 5737) written into a header; no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from dit_assistant.settings import get_settings
from tests.fixtures.ports import free_port
from tests.fixtures.servers import RunningServer, rasa_server
from tests.fixtures.widget import WidgetClient, texts

LIMIT = 4
DIT = "Dynamic Interpersonal Therapy"
THROTTLED = "You're sending messages faster than I can read them"


@pytest.fixture(scope="module")
def behind_a_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("address-limit")
    env = dict(
        os.environ,
        TRUSTED_PROXIES="127.0.0.1",
        MAX_MESSAGES_PER_MINUTE_PER_ADDRESS=str(LIMIT),
        DIT_VAR_DIR=str(workdir / "var"),
        RASA_TELEMETRY_ENABLED="false",
    )
    with rasa_server(workdir, env, action_port=free_port()) as server:
        yield server


def assert_throttled_with_the_crisis_lines(text: str) -> None:
    settings = get_settings()
    assert text.startswith(THROTTLED), text
    assert settings.helplines.emergency in text
    for service in settings.helplines.helplines:
        assert service.name in text


def test_an_address_is_throttled_across_its_sessions_and_senders_and_no_other(behind_a_proxy):
    server = behind_a_proxy

    async def one_message(address: str, text: str) -> str:
        """A new widget session, as a script would open for every message, from ``address``."""
        widget = await WidgetClient(server.base_url).connect({"X-Forwarded-For": address})
        try:
            return texts(await widget.say(text))
        finally:
            await widget.close()

    async def widget_scenario() -> None:
        for _ in range(LIMIT):
            assert DIT in await one_message("203.0.113.7", "what is DIT?")
        # A crisis message over the limit still gets the emergency route and the crisis lines.
        assert_throttled_with_the_crisis_lines(
            await one_message("203.0.113.7", "I want to kill myself")
        )
        # Someone else behind the same proxy is answered as usual.
        assert DIT in await one_message("203.0.113.8", "what is DIT?")

    asyncio.run(widget_scenario())

    def rest(sender: str, text: str, address: str) -> str:
        status, reply = server.send(sender, text, headers={"X-Forwarded-For": address})
        assert status == 200, reply
        return "\n".join(message.get("text", "") for message in reply)

    for _ in range(LIMIT):
        assert DIT in rest(uuid.uuid4().hex, "what is DIT?", "198.51.100.7")
    assert_throttled_with_the_crisis_lines(rest(uuid.uuid4().hex, "what is DIT?", "198.51.100.7"))
    assert DIT in rest(uuid.uuid4().hex, "what is DIT?", "198.51.100.8")
    # The proxy's own address, without a forwarded one, is this machine: not limited.
    for _ in range(LIMIT + 1):
        assert DIT in rest(uuid.uuid4().hex, "what is DIT?", "")
