"""The Rasa server's conversation store on real SQLite and real PostgreSQL: the same schema
from the same migrations, encryption at rest, read back whole, nothing kept from before a
restart, an ended enquiry's details removed, retention, key rotation, and an outage of the
database itself (PostgreSQL stopped) that is reported and recovered from.

``tests/unit/test_conversation_store.py`` covers the same on SQLite alone, with more cases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

import pytest
from alembic.script import ScriptDirectory
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Restarted, UserUttered
from sqlalchemy import inspect, text

from dit_assistant.store import open_database, rotate_keys
from dit_assistant.store import tracker_store as module
from dit_assistant.store.conversations import REMOVED, purge_conversations
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from dit_assistant.store.database import alembic_config
from dit_assistant.store.tracker_store import EncryptedTrackerStore, conversation_turn
from tests.fixtures.conversations import conversation_store_down, raw_rows, stored_events
from tests.fixtures.domain import load_domain
from tests.fixtures.services import PostgresServer, postgres_server
from tests.fixtures.store import raw_dump
from tests.fixtures.stored_conversations import (
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'store.sqlite'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture()
def key() -> str:
    return generate_key()


@pytest.fixture()
def store(database_url: str, key: str) -> EncryptedTrackerStore:
    return EncryptedTrackerStore(domain(), database_url=database_url, cipher=EnquiryCipher((key,)))


def user_texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_the_migrations_make_the_table_and_its_index(store):
    inspector = inspect(store.engine)
    assert "conversation_events" in inspector.get_table_names()
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("conversation_events")}
    assert indexes["ix_conversation_events_sender_id_timestamp"] == ["sender_id", "timestamp"]
    # Migrated to the newest revision, of which the conversation store's (0006) is a part.
    scripts = ScriptDirectory.from_config(alembic_config(str(store.engine.url)))
    assert "0006" in {revision.revision for revision in scripts.walk_revisions()}
    with store.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == scripts.get_current_head()


def test_encrypted_at_rest_and_read_back_whole(store):
    tracker = saved(store, greeting("my name is Sam Jones, call me on 07700 900123"))
    dump = raw_dump(store.database)
    # (with a space or punctuation: a base64 token can hold "Sam" by chance, never "Sam Jones")
    for secret in ("Sam Jones", "07700 900123", "my name is", "Hello there"):
        assert secret not in dump
    assert raw_rows(store.database)[1]["intent_name"] == "greet"
    found = asyncio.run(store.retrieve(SENDER))
    assert [e.as_dict() for e in found.events] == [e.as_dict() for e in tracker.events]


def test_a_restart_deletes_the_rows_before_it(store):
    tracker = saved(store, greeting("my name is Sam Jones"))
    for event in (Restarted(), *greeting("what is DIT")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    rows = raw_rows(store.database, SENDER)
    assert [r["type_name"] for r in rows] == ["restart", "action", "user", "bot"]
    assert user_texts(asyncio.run(store.retrieve_full_tracker(SENDER))) == ["what is DIT"]


def test_an_ended_enquiry_leaves_none_of_its_details(store, key):
    tracker = saved(store, greeting("hello"))
    for events in enquiry_turns("saved"):
        tracker = turn_of(store, tracker, events)
    stored = str(stored_events(store.database, EnquiryCipher((key,)), SENDER))
    for detail in DETAILS:
        assert detail.lower() not in stored.lower(), detail
    assert REMOVED in stored and ENQUIRY_REFERENCE in stored


def test_retention_deletes_whole_conversations_past_it(store):
    old = (datetime.now(timezone.utc) - timedelta(days=40)).timestamp()
    saved(store, greeting("long ago", at=old), sender="old")
    saved(store, greeting("today"), sender="recent")
    assert purge_conversations(store.database, 30) == 1
    assert sorted(asyncio.run(store.keys())) == ["recent"]


def test_rotate_keys_covers_conversations(store, database_url, key):
    saved(store, greeting("hello"))
    new_key = generate_key()
    assert rotate_keys(open_database(database_url), EnquiryCipher((new_key, key))) == 3
    newest_only = EncryptedTrackerStore(
        domain(), database_url=database_url, cipher=EnquiryCipher((new_key,))
    )
    assert user_texts(asyncio.run(newest_only.retrieve(SENDER))) == ["hello"]


# ------------------------------------------------------------------------ the database down
@dataclass
class Interruptible:
    store: EncryptedTrackerStore
    down: Callable[[], AbstractContextManager[None]]


@contextmanager
def postgres_down(server: PostgresServer) -> Iterator[None]:
    """Stop the PostgreSQL server itself (its connections go with it), then start it again."""
    server.stop()
    try:
        yield
    finally:
        server.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def interruptible(request: pytest.FixtureRequest, tmp_path, key) -> Iterator[Interruptible]:
    """A store whose database the test may take down: SQLite in a temporary directory, or a
    PostgreSQL server of its own (stopping the shared one would disturb other tests)."""
    cipher = EnquiryCipher((key,))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'store.sqlite'}"
        store = EncryptedTrackerStore(domain(), database_url=url, cipher=cipher)
        yield Interruptible(store, lambda: conversation_store_down(store))
        return
    with postgres_server() as server:
        url = server.create_database()
        store = EncryptedTrackerStore(domain(), database_url=url, cipher=cipher)
        yield Interruptible(store, lambda: postgres_down(server))


def test_an_outage_is_reported_keeps_nothing_and_is_recovered_from(interruptible, monkeypatch):
    monkeypatch.setattr(module, "RETRY_AFTER_S", 0.0)
    monkeypatch.setattr(module, "FRESH_FOR_S", 0.0)
    store = interruptible.store
    tracker = saved(store, greeting("before"))
    with interruptible.down():
        assert store.check_available() is False
        assert store.status()["conversation_store"] == "unavailable"
        with conversation_turn() as turn:
            assert asyncio.run(store.retrieve(SENDER)) is None
            tracker.update(UserUttered("during"))
            asyncio.run(store.save(tracker))
        assert turn.failed
    assert store.check_available() is True
    tracker = asyncio.run(store.retrieve(SENDER))
    assert user_texts(tracker) == ["before"]
    tracker.update(UserUttered("after"))
    asyncio.run(store.save(tracker))
    assert user_texts(asyncio.run(store.retrieve(SENDER))) == ["before", "after"]


def test_a_database_restart_between_turns_goes_unnoticed(monkeypatch, key):
    """The store keeps its connections between turns and does not ping them before each use:
    one found closed is replaced at once, without a moment of "unavailable"."""
    monkeypatch.setattr(module, "FRESH_FOR_S", 0.0)
    with postgres_server() as server:
        url = server.create_database()
        store = EncryptedTrackerStore(domain(), database_url=url, cipher=EnquiryCipher((key,)))
        tracker = saved(store, greeting("before"))
        server.stop()
        server.start()
        assert store.check_available() is True
        tracker = asyncio.run(store.retrieve(SENDER))
        tracker.update(UserUttered("after"))
        server.stop()
        server.start()
        asyncio.run(store.save(tracker))
        assert user_texts(asyncio.run(store.retrieve(SENDER))) == ["before", "after"]
        assert store.health.failures == 0
