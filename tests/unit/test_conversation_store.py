"""The conversation store keeps nothing from before a restart: "delete everything I've told
you" (Rasa's restart) is true in memory too, not only in what the assistant uses."""

from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant.serve import BOT_DIR
from dit_assistant.store.conversations import ForgettingTrackerStore


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(BOT_DIR / "domain.yml"))


def saved_and_read_back(domain: Domain, events: list) -> DialogueStateTracker:
    store = ForgettingTrackerStore(domain)
    tracker = DialogueStateTracker.from_events("person-1", events, slots=domain.slots)
    asyncio.run(store.save(tracker))
    found = asyncio.run(store.retrieve_full_tracker("person-1"))
    assert found is not None
    return found


def texts(tracker: DialogueStateTracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


BEFORE = [
    ActionExecuted("action_listen"),
    UserUttered("my name is Sam Jones, call me on 07700 900123"),
    SlotSet("intake_name", "Sam Jones"),
    BotUttered("Thanks, Sam"),
    ActionExecuted("action_listen"),
    UserUttered("please delete everything I've told you"),
    BotUttered("Done: I've cleared this conversation"),
]


def test_nothing_before_the_latest_restart_is_kept(domain):
    after = [ActionExecuted("action_listen"), UserUttered("what is DIT")]
    found = saved_and_read_back(domain, [*BEFORE, Restarted(), *after])
    assert texts(found) == ["what is DIT"]
    assert "Sam" not in str([e.as_dict() for e in found.events])
    assert found.get_slot("intake_name") is None
    assert isinstance(found.events[0], Restarted)


def test_only_the_latest_restart_counts(domain):
    found = saved_and_read_back(
        domain, [*BEFORE, Restarted(), UserUttered("hello"), Restarted(), UserUttered("hi")]
    )
    assert texts(found) == ["hi"]


def test_a_conversation_without_a_restart_is_kept_whole(domain):
    found = saved_and_read_back(domain, BEFORE)
    assert texts(found) == [e.text for e in BEFORE if isinstance(e, (UserUttered, BotUttered))]
    assert found.get_slot("intake_name") == "Sam Jones"


def test_the_rasa_server_is_configured_with_it():
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(BOT_DIR / "endpoints.yml"), "tracker_store")
    store = TrackerStore.create(config, Domain.load(str(BOT_DIR / "domain.yml")))
    assert type(store) is ForgettingTrackerStore
