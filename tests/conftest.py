"""Shared fixtures: the trained bot in-process, and the real servers started by ``make run``.

The model is trained by ``make test`` before pytest starts (the Makefile's model target), so the
tests exercise exactly what ``make run`` serves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dit_assistant.serve import MODEL, PROJECT_ROOT, wait_until_up
from dit_assistant.settings import Settings, get_settings, load_region_presets
from dit_assistant.store.crypto import generate_key

TESTS = Path(__file__).parent

# The reply each kind of risk gets (bot/data/rules/): worded for the person at risk, for someone
# worried about another person, or for a medical emergency.
CRISIS_REPLY_BY_RISK = {
    "risk_suicide": "utter_crisis",
    "risk_self_harm": "utter_crisis",
    "risk_overdose": "utter_crisis_overdose",
    "risk_abuse": "utter_crisis_abuse",
    "risk_other_person": "utter_crisis_other_person",
}
CRISIS_RESPONSES = {*CRISIS_REPLY_BY_RISK.values(), "utter_under_18"}


@dataclass
class Turn:
    """What the person reads after one message, and which responses produced it."""

    messages: list[dict[str, Any]]
    responses: list[str]

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons") or []]

    @property
    def is_crisis_reply(self) -> bool:
        return bool(self.responses) and self.responses[0] in CRISIS_RESPONSES


class Bot:
    """The trained assistant, loaded once, driven like a person would drive it."""

    def __init__(self, action_endpoint: str = "http://127.0.0.1:9") -> None:
        """``action_endpoint``: the default reaches nothing, proving that answers and crisis
        replies never depend on the action server."""
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # Rasa logs every turn at debug level otherwise
        if not MODEL.exists():
            pytest.exit(f"no trained model at {MODEL}: run the tests with `make test`", 2)
        self._loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(action_endpoint))
        self.use_settings(get_settings())

    def use_settings(self, settings: Settings) -> None:
        """Answer with another clinic configuration (e.g. another region), without reloading."""
        from dit_assistant.nlg import ClinicResponseGenerator

        nlg = ClinicResponseGenerator(domain=self.agent.domain, settings=settings)
        self.agent.nlg = nlg
        self.agent.processor.nlg = nlg

    def new_conversation(self) -> Conversation:
        return Conversation(self, f"test-{uuid.uuid4().hex}")

    def say(self, sender: str, text: str) -> Turn:
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        tracker_before = self._loop.run_until_complete(
            self.agent.tracker_store.get_or_create_tracker(sender)
        )
        seen = len(tracker_before.events)
        output = CollectingOutputChannel()
        message = UserMessage(text, output, sender)
        self._loop.run_until_complete(self.agent.handle_message(message))
        tracker = self._loop.run_until_complete(self.agent.tracker_store.retrieve(sender))
        responses = [
            e.metadata.get("utter_action")
            for e in list(tracker.events)[seen:]
            if e.type_name == "bot" and e.metadata.get("utter_action")
        ]
        return Turn(messages=list(output.messages), responses=responses)

    def parse(self, text: str) -> dict[str, Any]:
        return self._loop.run_until_complete(self.agent.parse_message(text))


class Conversation:
    """One person's conversation with the bot."""

    def __init__(self, bot: Bot, sender: str) -> None:
        self.bot = bot
        self.sender = sender

    def say(self, text: str) -> Turn:
        return self.bot.say(self.sender, text)


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    instance = Bot()
    yield instance
    instance.use_settings(get_settings())


@pytest.fixture()
def conversation(bot: Bot) -> Conversation:
    return bot.new_conversation()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def region_presets():
    return load_region_presets()


def load_yaml(relative: str) -> Any:
    return yaml.safe_load((TESTS / relative).read_text("utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    base_url: str
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def web_url(self) -> str:
        """The demo clinic page with the chat widget."""
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def send(self, sender: str, message: Any) -> tuple[int, Any]:
        body = message if isinstance(message, bytes) else json.dumps(
            {"sender": sender, "message": message}
        ).encode()
        request = urllib.request.Request(
            f"{self.base_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


@pytest.fixture(scope="session")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``make run``'s servers, started the same way, with a clinic phone overridden from the
    environment to prove that answers read the configuration."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("server")
    env = dict(os.environ)
    env.update(
        CLINIC_PHONE="0161 496 0999",
        CLINIC_NAME="Testwood Therapy Centre",
        DATABASE_URL=f"sqlite:///{workdir / 'store.sqlite'}",
        WEB_PORT=str(free_port()),
        DASHBOARD_PORT=str(free_port()),
        ACTION_PORT=str(free_port()),
        DIT_VAR_DIR=str(workdir / "var"),
        ENQUIRY_KEYS=generate_key(),
    )
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dit_assistant.serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", [process], timeout=240)
        yield RunningServer(base_url=f"http://127.0.0.1:{port}", env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# ------------------------------------------------------- real PostgreSQL for the store tests
@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the whole session, on 127.0.0.1 and a free port.

    Skips when PostgreSQL is not installed (fails instead under CI=true). Tests get a fresh
    database each with ``postgres.create_database()``.
    """
    from tests.fixtures.services import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture()
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The enquiry store configured for one test: fresh keys, spool, var/ and SQLite file."""
    from tests.fixtures.store import make_store_environment

    yield make_store_environment(monkeypatch, tmp_path)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The trained bot wired to a real action server with its own database (forms work)."""
    from tests.fixtures.actions import intake_setting

    yield from intake_setting(tmp_path_factory)
