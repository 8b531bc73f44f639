"""Channel helpers without any server: how answers are split for each platform, buttons as
numbered options read back from the conversation, which platforms are switched on, what every
platform's webhook does the same way (``channels.platform``), and how the fake platforms of the
end-to-end tests read what the bot sent."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from sanic import response
from sanic.response import HTTPResponse

from dit_assistant.channels.common import (
    numbered_options,
    offered_buttons,
    resolve_numbered_reply,
    split_message,
)
from dit_assistant.channels.platform import (
    Incoming,
    PlatformChannel,
    PlatformOutput,
    Unreadable,
    delivered,
)
from dit_assistant.settings import TelegramSettings, get_settings, load_settings
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


# ------------------------------------------------------------- what every platform shares
class _Parts(PlatformOutput):
    """An output that records each part it is asked to send."""

    max_chars = 25

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str] | None]] = []

    async def send_part(self, recipient_id: str, text: str) -> None:
        self.sent.append((text, None))

    async def send_part_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        self.sent.append((text, [button["title"] for button in buttons]))


def test_long_answers_are_split_and_buttons_go_with_the_last_part():
    buttons = [{"title": "Cost", "payload": "/ask_cost"}]
    output = _Parts()
    asyncio.run(output.send_text_with_buttons("r", "The first sentence. The second one.", buttons))
    assert output.sent == [("The first sentence.", None), ("The second one.", ["Cost"])]

    output = _Parts()
    asyncio.run(output.send_text_with_buttons("r", "", buttons))
    assert output.sent == [("Choose an option:", ["Cost"])]  # buttons need a message

    output = _Parts()
    asyncio.run(output.send_text_message("r", "The first sentence. The second one."))
    asyncio.run(output.send_text_message("r", "  "))
    assert output.sent == [("The first sentence.", None), ("The second one.", None)]


class _Platform(PlatformChannel[TelegramSettings]):
    """A platform whose requests say how to answer them: ``verified``, ``unreadable``, ``early``
    or the texts of the messages they carry."""

    platform_name = "Fake"
    acknowledged = "received"

    @classmethod
    def name(cls) -> str:
        return "telegram"  # its settings are Settings.channels.telegram

    def __init__(self, config: TelegramSettings, valid: bool = True) -> None:
        self.config = config
        self.valid = valid

    def usable(self) -> bool:
        return self.valid

    def verified(self, request: Any) -> bool:
        return bool(request.verified)

    async def read(self, request: Any) -> list[Incoming] | HTTPResponse:
        if request.unreadable:
            raise Unreadable("not a fake update")
        if request.early:
            return response.text("ignored")
        return [Incoming("chat-1", text, None, delivered(f"d-{text}")) for text in request.texts]


def _request(verified=True, unreadable=False, early=False, texts=()):
    return SimpleNamespace(verified=verified, unreadable=unreadable, early=early, texts=texts)


class _Gate:
    """Records what reaches the bot; fails on "boom"."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if message.text == "boom":
            raise RuntimeError("the bot failed")


def _receive(request: SimpleNamespace) -> tuple[HTTPResponse, _Gate]:
    gate = _Gate()
    channel = _Platform(TelegramSettings(bot_token="1:a", webhook_secret="s"))
    return asyncio.run(channel.receive(request, gate)), gate  # type: ignore[arg-type]


def test_an_unverified_request_is_refused_before_it_is_read():
    answer, gate = _receive(_request(verified=False, unreadable=True, texts=["hello"]))
    assert (answer.status, answer.body) == (403, b"request could not be verified")
    assert gate.messages == []


def test_an_unreadable_request_is_answered_400_with_the_reason():
    answer, gate = _receive(_request(unreadable=True))
    assert (answer.status, answer.body) == (400, b"bad request: not a fake update")
    assert gate.messages == []


def test_a_request_without_messages_gets_the_platforms_own_answer():
    answer, gate = _receive(_request(early=True))
    assert (answer.status, answer.body) == (200, b"ignored")
    assert gate.messages == []


def test_every_message_is_handed_over_and_a_failure_still_answers_200(caplog):
    with caplog.at_level(logging.ERROR):
        answer, gate = _receive(_request(texts=["hello", "boom", "again"]))
    assert (answer.status, answer.body) == (200, b"received")  # else the platform redelivers
    assert [m.text for m in gate.messages] == ["hello", "boom", "again"]
    assert {m.input_channel for m in gate.messages} == {"telegram"}
    assert gate.messages[1].metadata == {"delivery_id": "d-boom"}
    [failure] = caplog.records
    assert failure.name == __name__  # the platform module's logger
    assert failure.getMessage() == "Could not handle a Fake message"
    assert "boom" not in failure.getMessage()


def test_platform_settings_come_from_the_settings_not_the_credentials():
    channel = _Platform.from_credentials({"token": "from credentials.yml"})
    assert channel.config == get_settings().channels.telegram


def test_an_unconfigured_or_invalid_platform_is_switched_off():
    async def handler(_message: Any) -> None:
        pass

    configured = TelegramSettings(bot_token="1:a", webhook_secret="s")
    for channel in (_Platform(TelegramSettings()), _Platform(configured, valid=False)):
        assert channel.blueprint(handler).name == "fake_webhook_off"
    assert _Platform(configured).blueprint(handler).name == "telegram_webhook"


def test_a_delivery_id_is_metadata_only_when_the_platform_sent_one():
    assert delivered("SM1") == {"delivery_id": "SM1"}
    assert delivered("") == delivered(None) == {}
