"""Dashboard sessions in the store, on real SQLite and real PostgreSQL: the migration's table,
tokens stored only as hashes, ending one session or all of an account's, the absolute lifetime,
the idle timeout and the purge. The dashboard itself: ``tests/e2e/test_dashboard.py`` (browser)
and ``tests/unit/test_dashboard_sessions.py``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from dit_assistant.store import open_database
from dit_assistant.store.accounts import (
    SessionPolicy,
    change_password,
    create_user,
    end_session,
    purge_sessions,
    session_account,
    set_active,
    set_password,
    start_session,
)
from dit_assistant.store.database import Database
from tests.fixtures.store import count_rows, raw_dump

PASSWORD = "a long enough staff password"
POLICY = SessionPolicy(lifetime=timedelta(hours=12), idle=timedelta(minutes=30))
START = datetime(2026, 12, 10, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, store_env) -> Database:
    if request.param == "sqlite":
        url = store_env.database_url
    else:
        url = request.getfixturevalue("postgres").create_database()
        store_env.set(DATABASE_URL=url)
    return open_database(url)


def test_the_sessions_table_and_its_constraints(database: Database):
    columns = {c["name"] for c in inspect(database.engine).get_columns("staff_sessions")}
    assert columns == {"id", "token_hash", "user_id", "created_at", "last_seen_at"}
    foreign = inspect(database.engine).get_foreign_keys("staff_sessions")
    assert [(f["referred_table"], f["options"].get("ondelete")) for f in foreign] == [
        ("staff_users", "CASCADE")
    ]
    alice = create_user(database, "alice", PASSWORD)
    start_session(database, alice.id, START)
    with database.engine.begin() as connection:  # deleting an account deletes its sessions
        connection.execute(text("DELETE FROM staff_users WHERE id = :id"), {"id": alice.id})
    assert count_rows(database, "staff_sessions") == 0


def test_a_session_is_found_by_its_token_which_is_stored_only_hashed(database: Database):
    alice = create_user(database, "alice", PASSWORD)
    token = start_session(database, alice.id, START)
    assert session_account(database, token, POLICY, START) == alice
    assert token not in raw_dump(database)
    assert session_account(database, token + "x", POLICY, START) is None
    assert session_account(database, "", POLICY, START) is None
    assert session_account(database, None, POLICY, START) is None
    assert session_account(database, "x" * 5000, POLICY, START) is None


def test_ending_one_session_leaves_the_others(database: Database):
    alice = create_user(database, "alice", PASSWORD)
    laptop, desktop = start_session(database, alice.id, START), start_session(database, alice.id)
    assert end_session(database, laptop, by="alice") is True
    assert end_session(database, laptop, by="alice") is False
    assert session_account(database, laptop, POLICY) is None
    assert session_account(database, desktop, POLICY) == alice


def test_a_new_password_or_a_disabled_account_ends_every_session(database: Database):
    alice = create_user(database, "alice", PASSWORD)
    bob = create_user(database, "bob", PASSWORD)
    first, second = start_session(database, alice.id), start_session(database, alice.id)
    bobs = start_session(database, bob.id)
    assert set_password(database, "alice", "a brand new password", by="cli:admin") == 2
    assert session_account(database, first, POLICY) is None
    assert session_account(database, second, POLICY) is None
    assert session_account(database, bobs, POLICY) == bob

    third = start_session(database, alice.id)
    kept = change_password(database, alice.id, "a brand new password", "yet another password")
    assert session_account(database, third, POLICY) is None
    assert session_account(database, kept, POLICY) == alice  # only the changing browser's

    set_active(database, "alice", False, by="cli:admin")
    set_active(database, "alice", True, by="cli:admin")
    assert session_account(database, kept, POLICY) is None


def test_the_absolute_lifetime_and_the_idle_timeout(database: Database):
    alice = create_user(database, "alice", PASSWORD)
    busy = start_session(database, alice.id, START)
    idle = start_session(database, alice.id, START)
    now = START
    for _ in range(28):  # a request every 25 minutes for 11 h 40 min
        now += timedelta(minutes=25)
        assert session_account(database, busy, POLICY, now) == alice
    assert session_account(database, idle, POLICY, now) is None  # unused for hours
    assert session_account(database, busy, POLICY, START + timedelta(hours=12)) is None
    assert count_rows(database, "staff_sessions") == 0  # refused sessions are deleted


def test_expired_sessions_are_purged(database: Database):
    alice = create_user(database, "alice", PASSWORD)
    start_session(database, alice.id, START)
    recent = start_session(database, alice.id, START + timedelta(minutes=20))
    assert purge_sessions(database, POLICY, START + timedelta(minutes=35)) == 1
    assert session_account(database, recent, POLICY, START + timedelta(minutes=35)) == alice
    assert purge_sessions(database, POLICY, START + timedelta(hours=13)) == 1
    assert count_rows(database, "staff_sessions") == 0
