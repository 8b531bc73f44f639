"""The trained bot in process: no server, no action server (answers must not need one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dit_assistant.settings import get_settings
from tests.fixtures.bot import Bot, Conversation


@pytest.fixture(scope="session")
def bot() -> Iterator[Bot]:
    instance = Bot()
    yield instance
    instance.use_settings(get_settings())


@pytest.fixture()
def conversation(bot: Bot) -> Conversation:
    return bot.new_conversation()
