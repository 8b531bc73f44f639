"""The Rasa server with every messaging platform switched on, shared by this folder's tests,
and a fake of the platforms' APIs for the tests that only send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dit_assistant.serve import (
    _environment,
    runtime_endpoints,
)
from tests.fixtures.platforms import (
    FACEBOOK_SECRET,
    FACEBOOK_TOKEN,
    FACEBOOK_VERIFY,
    PUBLIC,
    SLACK_SECRET,
    SLACK_TOKEN,
    SMS_LIMIT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    ChannelServer,
    FakePlatforms,
    fake_platforms,
)
from tests.fixtures.ports import free_port
from tests.fixtures.servers import running_rasa


def _channel_environment(fake: FakePlatforms, workdir: Path) -> dict[str, str]:
    env = _environment()
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'store.sqlite'}",
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_WEBHOOK_URL=f"{PUBLIC}/webhooks/telegram/webhook",
        TELEGRAM_API_BASE=fake.url("telegram"),
        TWILIO_ACCOUNT_SID=TWILIO_SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_WEBHOOK_URL=f"{PUBLIC}/webhooks/twilio/webhook",
        TWILIO_API_BASE=fake.url("twilio"),
        TWILIO_SMS_MAX_LENGTH=str(SMS_LIMIT),
        FACEBOOK_PAGE_ACCESS_TOKEN=FACEBOOK_TOKEN,
        FACEBOOK_APP_SECRET=FACEBOOK_SECRET,
        FACEBOOK_VERIFY_TOKEN=FACEBOOK_VERIFY,
        FACEBOOK_GRAPH_API_URL=fake.url("facebook") + "/v21.0",
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        SLACK_API_BASE=fake.url("slack") + "/",
    )
    return env


def _endpoints_without_action_server(workdir: Path) -> Path:
    """bot/endpoints.yml with the action server pointed at nothing: answers, crisis replies
    included, must not need it, and no statistics land in another server's database."""
    return runtime_endpoints(free_port(), workdir)


@pytest.fixture(scope="package")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelServer]:
    """One Rasa server for every platform's tests: starting it (loading the model) is what
    takes the time."""
    workdir = tmp_path_factory.mktemp("channels")
    with fake_platforms() as fake:
        env = _channel_environment(fake, workdir)
        endpoints = _endpoints_without_action_server(workdir)
        with running_rasa(env, endpoints, workdir) as port:
            yield ChannelServer(f"http://127.0.0.1:{port}", fake)


@pytest.fixture()
def fake() -> Iterator[FakePlatforms]:
    """The platforms' APIs alone, for output channels tested without a server."""
    with fake_platforms() as platforms:
        yield platforms
