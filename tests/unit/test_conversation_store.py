"""The Rasa server's conversation store on SQLite (``dit_assistant.store.tracker_store``):
encrypted at rest, read back whole, nothing kept from before a restart, an ended enquiry's
details removed, retention, key rotation, and an outage that is never silent.

The same behaviour on PostgreSQL is in ``tests/e2e/test_conversation_store.py``."""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from dit_assistant.serve import BOT_DIR
from dit_assistant.settings import ConfigurationError
from dit_assistant.store import open_database, rotate_keys
from dit_assistant.store import tracker_store as module
from dit_assistant.store.conversations import (
    REMOVED,
    conversation_count,
    expired_conversation_count,
    purge_conversations,
    scrub_enquiry_details,
)
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from dit_assistant.store.database import Database
from dit_assistant.store.tracker_store import EncryptedTrackerStore, conversation_turn
from tests.fixtures.conversations import conversation_store_down, raw_rows, stored_events
from tests.fixtures.domain import load_domain
from tests.fixtures.store import raw_dump, sqlite_down
from tests.fixtures.stored_conversations import (
    CHANGE_NAME,
    DETAILS,
    ENQUIRY_REFERENCE,
    SENDER,
    enquiry_turns,
    greeting,
    saved,
    turn_of,
)


@cache
def domain() -> Domain:
    return load_domain()


@pytest.fixture()
def database(tmp_path: Path) -> Database:
    return open_database(f"sqlite:///{tmp_path / 'db' / 'store.sqlite'}")


@pytest.fixture()
def key() -> str:
    return generate_key()


@pytest.fixture()
def cipher(key: str) -> EnquiryCipher:
    return EnquiryCipher((key,))


@pytest.fixture()
def store(database: Database, cipher: EnquiryCipher) -> EncryptedTrackerStore:
    return EncryptedTrackerStore(domain(), database_url=database.url, cipher=cipher)


def retrieve(store: EncryptedTrackerStore, full: bool = False) -> DialogueStateTracker | None:
    method = store.retrieve_full_tracker if full else store.retrieve
    return asyncio.run(method(SENDER))


# ------------------------------------------------------------------ encryption, round trip
def test_nothing_people_write_is_in_the_database_in_plain_text(store, database):
    saved(store, greeting("my name is Sam Jones, call me on 07700 900123"))
    dump = raw_dump(database)
    # (with a space or punctuation: a base64 token can hold "Sam" by chance, never "Sam Jones")
    for secret in ("Sam Jones", "07700 900123", "my name is", "Hello there"):
        assert secret not in dump
    row = raw_rows(database)[1]
    # only what is needed to find and order events stays readable
    assert (row["sender_id"], row["type_name"], row["intent_name"]) == (SENDER, "user", "greet")
    assert raw_rows(database)[0]["action_name"] == "action_listen"
    assert all(r["data_token"].startswith("gAAAAA") for r in raw_rows(database))


def test_a_conversation_is_read_back_as_it_was_saved(store):
    tracker = saved(store, greeting("hello"), [SlotSet("intake_name", "Sam")])
    found = retrieve(store)
    assert found is not None
    assert [e.as_dict() for e in found.events] == [e.as_dict() for e in tracker.events]
    assert found.get_slot("intake_name") == "Sam"
    assert found.latest_message.intent["name"] == "greet"
    assert retrieve(store) is not None and asyncio.run(store.retrieve("someone else")) is None
    assert list(asyncio.run(store.keys())) == [SENDER]


def test_each_save_appends_only_what_is_new(store, database):
    tracker = saved(store, greeting("hello"))
    before = len(raw_rows(database))
    tracker.update(UserUttered("what is DIT", {"name": "ask_what_is_dit", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # nothing new: nothing written
    assert len(raw_rows(database)) == before + 1


def test_the_latest_session_is_retrieved_and_every_session_on_request(store):
    tracker = saved(store, greeting("hello"))
    for event in (ActionExecuted("action_session_start"), SessionStarted(), *greeting("again")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    latest, full = retrieve(store), retrieve(store, full=True)
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["again"]
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["hello", "again"]


# ---------------------------------------------------------------------------- restart
def test_a_restart_deletes_everything_before_it_from_the_database(store, database, cipher):
    tracker = saved(store, greeting("my name is Sam Jones"), [SlotSet("intake_name", "Sam")])
    for event in (UserUttered("delete everything"), Restarted(), *greeting("what is DIT")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    stored = stored_events(database, cipher, SENDER)
    assert stored[0]["event"] == "restart"
    assert "Sam" not in str(stored) and "delete everything" not in str(stored)
    found = retrieve(store, full=True)
    assert [e.text for e in found.events if isinstance(e, UserUttered)] == ["what is DIT"]
    assert found.get_slot("intake_name") is None


def test_what_a_restart_deletes_is_overwritten_in_the_sqlite_file(store, database):
    tracker = saved(store, greeting("my name is Sam Jones"))
    tokens = [row["data_token"] for row in raw_rows(database)]
    for event in (Restarted(), *greeting("what is DIT")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = Path(database.url.removeprefix("sqlite:///")).parent
    files = b"".join(path.read_bytes() for path in folder.iterdir())
    assert not any(token.encode() in files for token in tokens)


def test_only_the_latest_restart_counts_and_other_conversations_are_untouched(store, database):
    saved(store, greeting("another person"), sender="other")
    tracker = saved(store, greeting("hello"))
    for event in (Restarted(), UserUttered("hi"), Restarted(), UserUttered("hey")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    assert [e.text for e in retrieve(store, full=True).events if isinstance(e, UserUttered)] == [
        "hey"
    ]
    assert len(raw_rows(database, "other")) == 3


# ------------------------------------------------------------------ an enquiry's details
@pytest.mark.parametrize("ending", ["saved", "cancelled", "refused"])
def test_an_ended_enquiry_leaves_none_of_its_details_in_the_stored_events(
    store, database, cipher, ending
):
    tracker = saved(store, greeting("hi, I'm Sam Jones"))
    turns = enquiry_turns(ending)
    for events in turns[:-1]:  # answered over several turns: earlier rows are rewritten too
        tracker = turn_of(store, tracker, events)
    assert "sam.jones@example.org" in str(stored_events(database, cipher, SENDER))
    turn_of(store, tracker, turns[-1])

    stored = str(stored_events(database, cipher, SENDER))
    for detail in DETAILS:
        assert detail.lower() not in stored.lower(), detail
    assert REMOVED in stored  # the summary and the thank-you are still there, without them
    if ending == "saved":
        assert ENQUIRY_REFERENCE in stored
    found = retrieve(store)
    assert found.active_loop_name is None and found.get_slot("intake_name") is None
    assert [e.intent_name for e in found.events if isinstance(e, UserUttered)][:2] == [
        "greet",
        "request_appointment",
    ]


def test_a_failed_submission_keeps_the_details_for_another_try(store, database, cipher):
    tracker = saved(store, greeting("hello"))
    turns = enquiry_turns("failed")
    for events in turns:
        tracker = turn_of(store, tracker, events)
    assert "sam.jones@example.org" in str(stored_events(database, cipher, SENDER))
    assert retrieve(store).get_slot("intake_contact_detail") == "sam.jones@example.org"


def test_a_scrub_that_fails_still_saves_the_turn_and_says_so(store, monkeypatch, caplog):
    def broken(events):
        raise ValueError("a fault in the scrubbing")

    monkeypatch.setattr(module, "scrub_enquiry_details", broken)
    tracker = saved(store, greeting("hello"))
    for events in enquiry_turns("cancelled"):
        tracker = turn_of(store, tracker, events)
    assert "could not be removed from its conversation (ValueError)" in caplog.text
    found = retrieve(store)
    assert found.latest_message.intent["name"] == "stop_form"  # the last turn was saved
    assert store.health.available


def test_scrubbing_keeps_button_payloads_and_changes_nothing_the_second_time():
    events = [e.as_dict() for turn in enquiry_turns("saved") for e in turn]
    original = copy.deepcopy(events)
    once = scrub_enquiry_details(events)
    assert events == original  # a new list: what was passed in is unchanged
    assert not any(new is old for new, old in zip(once, events, strict=True))  # new dicts
    assert scrub_enquiry_details(once) == once != original
    payloads = [
        b["payload"] for e in once if e["event"] == "bot" for b in e["data"].get("buttons") or []
    ]
    assert "/affirm" in payloads and CHANGE_NAME in payloads


# -------------------------------------------------------------------------- retention
def test_conversations_are_deleted_a_retention_period_after_their_latest_event(store, database):
    now = datetime.now(timezone.utc)
    old = (now - timedelta(days=31)).timestamp()
    saved(store, greeting("long ago", at=old), sender="old")
    tracker = saved(store, greeting("long ago too", at=old), sender="active")
    tracker.update(UserUttered("and today", timestamp=now.timestamp()))
    asyncio.run(store.save(tracker))
    saved(store, greeting("today"), sender="recent")

    assert expired_conversation_count(database, 30) == 1
    assert purge_conversations(database, 30, "tester") == 1
    assert sorted(asyncio.run(store.keys())) == ["active", "recent"]
    assert len(raw_rows(database, "active")) == 4  # a conversation goes whole or not at all
    assert purge_conversations(database, 30) == 0
    assert conversation_count(database) == 2
    audit = raw_dump(database)
    assert "conversations_purged" in audit and "1 conversations; retention 30 days" in audit
    assert "old" not in [line.strip() for line in audit.splitlines()]


# ----------------------------------------------------------------------- key rotation
def test_rotate_keys_re_encrypts_conversations_with_the_newest_key(store, database, key):
    saved(store, greeting("hello"))
    new_key = generate_key()
    assert rotate_keys(database, EnquiryCipher((new_key, key))) == 3
    only_new = EncryptedTrackerStore(
        domain(), database_url=database.url, cipher=EnquiryCipher((new_key,))
    )
    assert [e.text for e in retrieve(only_new).events if isinstance(e, UserUttered)] == ["hello"]


def test_a_conversation_no_configured_key_can_read_starts_afresh(database, cipher, caplog):
    saved(EncryptedTrackerStore(domain(), database_url=database.url, cipher=cipher), greeting("hi"))
    other = EncryptedTrackerStore(
        domain(), database_url=database.url, cipher=EnquiryCipher((generate_key(),))
    )
    with caplog.at_level(logging.ERROR):
        assert retrieve(other) is None
    assert raw_rows(database) == []
    assert "cannot be decrypted" in caplog.text


# ----------------------------------------------------------------------------- outage
def test_an_outage_keeps_nothing_says_so_and_recovers(store, database, monkeypatch, caplog):
    monkeypatch.setattr(module, "RETRY_AFTER_S", 0.0)
    monkeypatch.setattr(module, "FRESH_FOR_S", 0.0)
    tracker = saved(store, greeting("before the outage"))
    caplog.set_level(logging.DEBUG)
    with conversation_store_down(store):
        assert store.check_available() is False
        assert store.status() == {"conversation_store": "unavailable", "error": "OperationalError"}
        with conversation_turn() as turn:
            assert retrieve(store) is None  # a fresh conversation for this turn
            tracker.update(UserUttered("my secret during the outage"))
            asyncio.run(store.save(tracker))  # never raises: Rasa's wrapper would hide it
        assert turn.failed and turn.ephemeral
    assert "conversation store is unavailable (OperationalError" in caplog.text
    assert "my secret" not in caplog.text and "before the outage" not in caplog.text
    assert store.check_available() is True
    assert "available again" in caplog.text
    texts = [e.text for e in retrieve(store).events if isinstance(e, UserUttered)]
    assert texts == ["before the outage"]


def test_an_ephemeral_turn_reads_and_writes_nothing(store, database):
    saved(store, greeting("kept"))
    with conversation_turn(ephemeral=True) as turn:
        assert retrieve(store) is None
        asyncio.run(store.save(DialogueStateTracker.from_events(SENDER, greeting("not kept"))))
    assert not turn.failed
    assert len(raw_rows(database)) == 3


def test_a_store_whose_database_is_down_at_start_starts_and_reports_it(
    tmp_path, cipher, monkeypatch
):
    monkeypatch.setattr(module, "RETRY_AFTER_S", 0.0)
    database = open_database(f"sqlite:///{tmp_path / 'db' / 'store.sqlite'}", migrate=False)
    with sqlite_down(database.url):
        store = EncryptedTrackerStore(domain(), database_url=database.url, cipher=cipher)
        assert store.check_available() is False
    assert store.check_available() is True  # migrated now
    saved(store, greeting("hello"))
    assert retrieve(store) is not None


# ---------------------------------------------------------------------- configuration
def test_the_rasa_server_is_configured_with_it(store_env):
    config = read_endpoint_config(str(BOT_DIR / "endpoints.yml"), "tracker_store")
    created = TrackerStore.create(config, domain())
    assert type(created) is EncryptedTrackerStore
    assert created.database.url == store_env.database_url


def test_settings_in_the_endpoints_file_are_refused(database, cipher):
    with pytest.raises(ConfigurationError, match="url not understood"):
        EncryptedTrackerStore(
            domain(), host="sqlite:///x.db", database_url=database.url, cipher=cipher
        )
    with pytest.raises(ConfigurationError, match="db not understood"):
        EncryptedTrackerStore(domain(), database_url=database.url, cipher=cipher, db="x")
