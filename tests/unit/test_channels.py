"""Channel helpers without any server: how answers are split for each platform, buttons as
numbered options read back from the conversation, which platforms are switched on, and how the
fake platforms of the end-to-end tests read what the bot sent."""

from __future__ import annotations

import asyncio

import pytest

from dit_assistant.channels.common import (
    numbered_options,
    offered_buttons,
    resolve_numbered_reply,
    split_message,
)
from dit_assistant.settings import load_settings
from tests.fixtures.platforms import Sent


def test_split_message_prefers_paragraphs_then_sentences_then_words():
    text = "First paragraph.\n\nSecond one. It has two sentences."
    assert split_message(text, 1000) == [text]
    assert split_message(text, 40) == ["First paragraph.", "Second one. It has two sentences."]
    assert split_message(text, 22) == ["First paragraph.", "Second one.", "It has two sentences."]
    assert split_message(text, 20)[-2:] == ["It has two", "sentences."]
    assert split_message("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_message("   ", 10) == []


def test_split_message_counts_emoji_as_telegram_does():
    parts = split_message("🙂" * 10, 10)  # each is two UTF-16 units
    assert parts == ["🙂" * 5, "🙂" * 5]


def test_numbered_options_and_reading_them_back():
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    first = [{"title": "What is DIT?", "payload": "/ask_what_is_dit"}]
    second = [{"title": "Cost", "payload": "/ask_cost"}, {"title": "Start", "payload": "/x"}]
    events = [
        UserUttered("hi"),
        BotUttered("old", {"buttons": [{"title": "Old", "payload": "/old"}]}),
        UserUttered("hello"),
        BotUttered("one", {"buttons": first}),
        BotUttered("two", {"buttons": second}),
        ActionExecuted("action_listen"),
    ]
    assert offered_buttons(events) == first + second
    assert numbered_options(second, first=2).splitlines()[1:] == ["2. Cost", "3. Start"]


def test_only_fully_configured_platforms_are_enabled():
    channels = load_settings(
        {"TELEGRAM_BOT_TOKEN": "1:a", "SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y"}
    ).channels
    assert not channels.telegram.enabled
    assert channels.telegram.missing == ("TELEGRAM_WEBHOOK_SECRET",)
    assert channels.telegram.partly_configured
    assert channels.slack.enabled
    assert not channels.twilio.enabled and not channels.twilio.partly_configured
    assert "1:a" not in repr(channels)  # secrets stay out of logs


def test_recorded_text_of_each_platform():
    """The fake's notion of "the text" covers each platform's request shape."""
    assert Sent("telegram", "sendMessage", {}, {"text": "a"}).text == "a"
    assert Sent("twilio", "Messages.json", {}, {"Body": "b"}).text == "b"
    assert Sent("facebook", "messages", {}, {"message": {"text": "c"}}).text == "c"


class _Agent:
    """What ``resolve_numbered_reply`` needs of Rasa's agent: its tracker store."""

    def __init__(self, tracker_store: object) -> None:
        self.tracker_store = tracker_store


@pytest.mark.parametrize(
    ("reply", "resolved"),
    [
        ("1", "/ask_what_is_dit"),
        ("2", "/ask_cost"),
        (" 3 ", "/x"),
        ("2.", "/ask_cost"),
        ("2)", "/ask_cost"),
        ("0", "0"),  # not an option: reaches the bot as typed
        ("4", "4"),
        ("16", "16"),
        ("two", "two"),
        ("2 please", "2 please"),
    ],
)
def test_a_number_reply_picks_the_option_with_that_number(reply, resolved):
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    first = [{"title": "What is DIT?", "payload": "/ask_what_is_dit"}]
    second = [{"title": "Cost", "payload": "/ask_cost"}, {"title": "Start", "payload": "/x"}]
    events = [
        UserUttered("hello"),
        BotUttered("one", {"buttons": first}),
        BotUttered("two", {"buttons": second}),
        ActionExecuted("action_listen"),
    ]
    store = InMemoryTrackerStore(Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events("sms-1", events)))
    assert asyncio.run(resolve_numbered_reply(_Agent(store), "sms-1", reply)) == resolved


def test_a_number_without_a_conversation_is_left_as_typed():
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain

    store = InMemoryTrackerStore(Domain.empty())
    assert asyncio.run(resolve_numbered_reply(_Agent(store), "nobody", "1")) == "1"
    assert asyncio.run(resolve_numbered_reply(object(), "nobody", "1")) == "1"
