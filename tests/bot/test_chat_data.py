"""Data questions in the chat, through the trained bot: what the assistant keeps, and clearing
the conversation on request (at any point, mid-enquiry too) so that nothing of it is held: not
in what the assistant reads back, and not in the database of the Rasa server's store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.events import UserUttered

from dit_assistant.settings import get_settings
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from tests.fixtures.actions import IntakeSetting
from tests.fixtures.bot import Bot, Conversation
from tests.fixtures.conversations import configured_store, stored_events

# Held out: none of these is a training phrasing (checked below).
WHAT_IS_KEPT = [
    "What do you keep about me?",
    "is this chat private",
    "do you save the stuff i type in here",
    "who gets to see what I've been telling you",
]
CLEAR_REQUESTS = [
    "could you delete all the things I told you earlier",
    "can you wipe this chat please",
    "i dont want any of this saved, delete it all",
]


@contextmanager
def rasa_servers_store(bot: Bot, folder: Path) -> Iterator[Any]:
    """``bot`` with the Rasa server's conversation store (bot/endpoints.yml) while in use, on a
    database of its own in ``folder``."""
    previous = bot.tracker_store
    cipher = EnquiryCipher((generate_key(),))
    store = configured_store(bot.agent.domain, f"sqlite:///{folder / 'store.sqlite'}", cipher)
    bot.tracker_store = store
    try:
        yield store
    finally:
        bot.tracker_store = previous


@pytest.fixture()
def forgetting(bot: Bot, tmp_path: Path) -> Iterator[Bot]:
    with rasa_servers_store(bot, tmp_path):
        yield bot


def held_texts(bot: Bot, person: Conversation) -> list[str]:
    tracker = bot.run(bot.tracker_store.retrieve_full_tracker(person.sender))
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def everything_stored(bot: Bot, person: Conversation) -> str:
    """Every event the store's database holds for ``person``, decrypted."""
    store = bot.tracker_store
    return str(stored_events(store.database, store.cipher, person.sender))


def test_the_held_out_wordings_are_not_training_phrasings():
    from pathlib import Path

    training = Path("bot/data/nlu/privacy.yml").read_text().lower()
    for text in WHAT_IS_KEPT + CLEAR_REQUESTS:
        assert f"- {text.lower()}\n" not in training


@pytest.mark.parametrize("text", WHAT_IS_KEPT)
def test_what_the_assistant_keeps_is_answered_with_this_clinics_terms(bot, text):
    settings = get_settings()
    turn = bot.new_conversation().say(text)
    assert turn.responses == ["utter_ask_chat_data"], (text, turn.responses)
    assert f"{settings.retention_days} days" in turn.text
    assert f"{settings.unanswered_retention_days} days" in turn.text
    assert f"{settings.conversation_retention_days} days" in turn.text
    assert settings.clinic.privacy_notice_url in turn.text
    assert "reference" in turn.text and "delete this chat" in turn.text


@pytest.mark.parametrize("text", CLEAR_REQUESTS)
def test_clearing_the_conversation_leaves_nothing_of_it(forgetting, text):
    person = forgetting.new_conversation()
    person.say("my name is Robin and I've been feeling low since my divorce")
    assert "Robin" in everything_stored(forgetting, person)
    turn = person.say(text)
    assert "I've cleared this conversation" in turn.text, (text, turn.text)
    assert get_settings().helplines.emergency not in turn.text
    assert held_texts(forgetting, person) == []
    assert "Robin" not in everything_stored(forgetting, person)  # deleted, not only hidden
    # The person can carry on as if new.
    assert person.say("what is DIT").responses == ["utter_ask_what_is_dit"]
    assert held_texts(forgetting, person) == ["what is DIT"]


def test_clearing_mid_enquiry_drops_the_enquiry_in_progress(intake: IntakeSetting, tmp_path):
    bot = intake.bot
    with rasa_servers_store(bot, tmp_path) as store:
        person = bot.new_conversation()
        assert person.say("I'd like to book an assessment").responses[-1] == (
            "utter_ask_intake_adult"
        )
        assert person.say("/affirm").responses == ["utter_ask_intake_name"]
        assert person.say("Robin Ashworth").responses == ["utter_ask_intake_contact_method"]
        turn = person.say("actually please delete everything I've told you")
        assert "I've cleared this conversation" in turn.text, turn.text
        tracker = bot.run(store.retrieve_full_tracker(person.sender))
        assert tracker.active_loop_name is None
        assert tracker.get_slot("intake_name") is None
        assert "Robin" not in str([e.as_dict() for e in tracker.events])
        assert "Robin" not in everything_stored(bot, person)
