"""The trained bot in process: no server, no action server (answers must not need one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dit_assistant.settings import get_settings
from tests.fixtures.actions import IntakeSetting, intake_setting
from tests.fixtures.bot import Bot, Conversation


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    instance = Bot()
    yield instance
    instance.use_settings(get_settings())


@pytest.fixture()
def conversation(bot: Bot) -> Conversation:
    return bot.new_conversation()


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntakeSetting]:
    """The bot with the real action server, so the enquiry form can run (one per module)."""
    yield from intake_setting(tmp_path_factory)
