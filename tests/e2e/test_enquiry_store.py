"""The enquiry store on real SQLite and real PostgreSQL: schema, operations, encryption at rest,
key rotation, the outage spool and its replay, and retention."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import inspect, text

from dit_assistant.store import (
    EnquiryFilter,
    EnquiryNotFound,
    add_note,
    delete_enquiry,
    get_enquiry,
    list_enquiries,
    open_database,
    purge_expired,
    replay_spool,
    rotate_keys,
    set_status,
    submit_enquiry,
)
from dit_assistant.store.crypto import InvalidToken, generate_key, load_cipher
from dit_assistant.store.database import Database, alembic_config
from dit_assistant.store.spool import default_spool
from tests.fixtures.services import PostgresServer, postgres_server
from tests.fixtures.store import (
    BEST_TIMES,
    EMAIL,
    HELP_WITH,
    NAME,
    NOTE,
    PHONE,
    REFERENCE,
    assert_no_personal_data,
    count_rows,
    draft,
    raw_dump,
    sqlite_down,
)
from tests.fixtures.upgrade import assert_counted_on_upgrade, seed_version_0005


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, store_env) -> str:
    """A new, empty database on each backend; the store is configured for it."""
    if request.param == "sqlite":
        url = store_env.database_url
    else:
        url = request.getfixturevalue("postgres").create_database()
        store_env.set(DATABASE_URL=url)
    return url


@pytest.fixture()
def database(database_url: str) -> Database:
    return open_database(database_url)


# --------------------------------------------------------------------------------- schema
def test_migrations_run_up_from_empty_and_back(database_url: str):
    database = open_database(database_url)
    tables = set(inspect(database.engine).get_table_names())
    expected = {
        "safety_events",
        "enquiries",
        "enquiry_notes",
        "staff_users",
        "audit_events",
        "unanswered_questions",
        "enquiry_notifications",
        "staff_sessions",
        "conversation_events",
        "statistic_counts",
    }
    assert expected <= tables
    with database.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"
        )
    with database.engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.migrate()
    assert expected <= set(inspect(database.engine).get_table_names())


MIGRATE_AT = """
import sys, time
from dit_assistant.store import open_database
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
open_database(sys.argv[1])
"""


def test_processes_starting_at_once_all_migrate_a_new_database(database_url: str):
    """Replicas, the action server and the staff tools each migrate the database they open,
    and a deployment starts several at once: every one of them must start."""
    at = str(time.time() + 4)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT, database_url, at],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=120), p.stdout.read()) for p in processes]
    assert [code for code, _ in outcomes] == [0] * 4, outcomes
    with open_database(database_url, migrate=False).engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0007",)
        ]


def test_the_upgrade_counts_the_enquiry_statistics_already_stored(database_url: str):
    seed_version_0005(database_url)
    assert_counted_on_upgrade(open_database(database_url))


def test_safety_events_are_kept_alongside_enquiries(database: Database):
    database.record_safety_event("risk_suicide", "uk-england", "rest")
    submit_enquiry(draft(priority=True), database)
    assert database.safety_event_counts() == {"risk_suicide": 1}


# -------------------------------------------------------------------- submit, read, update
def test_submit_stores_and_reads_back_decrypted(database: Database):
    consent = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    result = submit_enquiry(draft(consent_at=consent, priority=True), database)
    assert result.stored is True
    assert REFERENCE.match(result.reference)
    record = get_enquiry(database, result.reference)
    assert (record.preferred_name, record.contact_detail) == (NAME, EMAIL)
    assert (record.best_times, record.help_with) == (BEST_TIMES, HELP_WITH)
    assert record.status == "new" and record.priority is True and record.channel == "rest"
    assert record.consent_at == consent and record.privacy_notice_version == "2026-01"
    assert record.created_at.tzinfo is not None
    assert record.created_at == record.status_changed_at == record.updated_at


def test_optional_fields_may_be_missing(database: Database):
    result = submit_enquiry(
        draft(contact_method="phone", contact_detail=PHONE, best_times=None, help_with="  "),
        database,
    )
    record = get_enquiry(database, result.reference)
    assert (record.contact_method, record.contact_detail) == ("phone", PHONE)
    assert record.best_times is None and record.help_with is None


def test_list_filters(database: Database):
    first = submit_enquiry(draft(channel="rest"), database).reference
    second = submit_enquiry(draft(channel="telegram", priority=True), database).reference
    third = submit_enquiry(draft(channel="socketio"), database).reference
    set_status(database, third, "contacted", "alice")

    def references(**filters: object) -> set[str]:
        found = list_enquiries(database, EnquiryFilter(**filters))  # type: ignore[arg-type]
        return {record.reference for record in found}

    assert references() == {first, second, third}
    assert references(status="new") == {first, second}
    assert references(status="contacted") == {third}
    assert references(priority=True) == {second}
    assert references(priority=False) == {first, third}
    assert references(channel="telegram") == {second}
    today = datetime.now(timezone.utc).date()
    assert references(created_from=today, created_to=today) == {first, second, third}
    assert references(created_to=today - timedelta(days=1)) == set()
    assert references(created_from=today + timedelta(days=1)) == set()


def test_status_changes_and_notes_are_audited_without_personal_data(database: Database):
    reference = submit_enquiry(draft(), database).reference
    before = get_enquiry(database, reference)
    assert set_status(database, reference, "contacted", "alice") is True
    assert set_status(database, reference, "contacted", "alice") is False
    add_note(database, reference, NOTE, "alice")
    after = get_enquiry(database, reference, viewed_by="bob")
    assert after.status == "contacted"
    assert after.status_changed_at > before.status_changed_at
    assert [(n.author, n.text) for n in after.notes] == [("alice", NOTE)]
    with pytest.raises(ValueError):
        set_status(database, reference, "archived", "alice")
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT action, reference, staff_user, detail FROM audit_events ORDER BY id")
        ).all()
    assert [(r.action, r.reference, r.staff_user) for r in rows] == [
        ("received", reference, None),
        ("status_changed", reference, "alice"),
        ("note_added", reference, "alice"),
        ("viewed", reference, "bob"),
    ]
    assert rows[1].detail == "new -> contacted"
    assert_no_personal_data("audit_events", "\n".join(str(tuple(r)) for r in rows))


def test_raw_rows_hold_no_plaintext(database: Database):
    reference = submit_enquiry(draft(), database).reference
    submit_enquiry(draft(contact_method="text", contact_detail=PHONE), database)
    add_note(database, reference, NOTE, "alice")
    dump = raw_dump(database)
    assert reference in dump  # the dump does see the rows
    assert_no_personal_data("the database", dump)


def test_delete_on_request_removes_the_person_and_leaves_an_audit_row(database: Database):
    reference = submit_enquiry(draft(), database).reference
    other = submit_enquiry(draft(preferred_name="Someone Else"), database).reference
    add_note(database, reference, NOTE, "alice")
    delete_enquiry(database, reference, "alice")
    with pytest.raises(EnquiryNotFound):
        get_enquiry(database, reference)
    with pytest.raises(EnquiryNotFound):
        delete_enquiry(database, reference, "alice")
    assert count_rows(database) == 1 and count_rows(database, "enquiry_notes") == 0
    assert get_enquiry(database, other).preferred_name == "Someone Else"
    with database.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT reference, staff_user, occurred_at FROM audit_events WHERE action='deleted'"
            )
        ).one()
    assert (row.reference, row.staff_user) == (reference, "alice")
    assert row.occurred_at is not None


def _age(database: Database, reference: str, days: int) -> None:
    """Pretend the enquiry was created and last changed ``days`` ago."""
    moment = datetime.now(timezone.utc) - timedelta(days=days)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE enquiries SET created_at = :moment, status_changed_at = :moment "
                "WHERE reference = :reference"
            ),
            {"moment": moment, "reference": reference},
        )


def test_purge_deletes_only_closed_enquiries_past_retention(database: Database):
    expired = submit_enquiry(draft(), database).reference
    closed_recently = submit_enquiry(draft(), database).reference
    old_but_open = submit_enquiry(draft(), database).reference
    for reference in (expired, closed_recently):
        set_status(database, reference, "closed", "alice")
    add_note(database, expired, NOTE, "alice")
    _age(database, expired, 400)
    _age(database, closed_recently, 10)
    _age(database, old_but_open, 400)

    assert purge_expired(database, retention_days=365) == [expired]
    remaining = {r.reference for r in list_enquiries(database)}
    assert remaining == {closed_recently, old_but_open}
    assert count_rows(database, "enquiry_notes") == 0
    assert purge_expired(database, retention_days=365) == []
    with database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT reference, staff_user, detail FROM audit_events WHERE action='deleted'")
        ).one()
    assert (row.reference, row.staff_user) == (expired, "retention")
    assert "365" in row.detail


# --------------------------------------------------------------------------- key rotation
def test_key_rotation_re_encrypts_everything_with_the_newest_key(database: Database, store_env):
    old_key, new_key = store_env.values["ENQUIRY_KEYS"], generate_key()
    reference = submit_enquiry(draft(), database).reference
    add_note(database, reference, NOTE, "alice")
    spool = default_spool()
    spool.write("DIT-SP00L", {"reference": "DIT-SP00L", "preferred_name": NAME})
    before = raw_dump(database)

    store_env.set(ENQUIRY_KEYS=f"{new_key},{old_key}")
    assert get_enquiry(database, reference).preferred_name == NAME  # old data still readable
    assert rotate_keys(database) == 2  # one enquiry, one note
    assert default_spool().rotate() == 1
    after = raw_dump(database)
    assert before != after
    assert_no_personal_data("the database after rotation", after)

    store_env.set(ENQUIRY_KEYS=new_key)  # the old key is gone
    record = get_enquiry(database, reference)
    assert (record.preferred_name, record.contact_detail, record.help_with) == (
        NAME,
        EMAIL,
        HELP_WITH,
    )
    assert [n.text for n in record.notes] == [NOTE]
    assert default_spool().read(spool.path_for("DIT-SP00L"))["preferred_name"] == NAME

    store_env.set(ENQUIRY_KEYS=old_key)  # and the old key alone reads nothing now
    with database.engine.connect() as connection:
        token = connection.execute(text("SELECT name_token FROM enquiries")).scalar_one()
    with pytest.raises(InvalidToken):
        load_cipher().decrypt(token)


def test_without_the_key_fields_are_unreadable_not_fatal(database: Database, store_env):
    reference = submit_enquiry(draft(), database).reference
    store_env.set(ENQUIRY_KEYS=generate_key())
    record = get_enquiry(database, reference)
    assert record.preferred_name.startswith("[unreadable")
    assert NAME not in repr(record)


# -------------------------------------------------------------------- outage and the spool
@dataclass
class Interruptible:
    """A database and a way to make it really unreachable for a while."""

    database: Database
    down: Callable[[], AbstractContextManager[None]]


@contextmanager
def postgres_down(server: PostgresServer) -> Iterator[None]:
    """Stop the PostgreSQL server itself, then start it again."""
    server.stop()
    try:
        yield
    finally:
        server.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def interruptible(request: pytest.FixtureRequest, store_env) -> Iterator[Interruptible]:
    """A database the test may take down: SQLite in a temporary directory, or a PostgreSQL
    server of its own (stopping the shared one would disturb other tests)."""
    if request.param == "sqlite":
        url = store_env.database_url
        yield Interruptible(open_database(url), lambda: sqlite_down(url))
        return
    with postgres_server() as server:
        url = server.create_database()
        store_env.set(DATABASE_URL=url)
        yield Interruptible(open_database(url), lambda: postgres_down(server))


def test_outage_spools_then_replay_stores_exactly_once(interruptible, store_env, caplog):
    database = interruptible.database
    caplog.set_level(logging.DEBUG)
    assert submit_enquiry(draft(preferred_name="Before Outage"), database).stored

    with interruptible.down():
        result = submit_enquiry(draft(priority=True), database)
        assert result.stored is False
        assert REFERENCE.match(result.reference)
        files = list(store_env.spool_dir.iterdir())
        assert [f.name for f in files] == [f"{result.reference}.enquiry"]
        assert stat.S_IMODE(store_env.spool_dir.stat().st_mode) == 0o700
        assert_no_personal_data("the spool file", files[0].read_bytes().decode("ascii"))
        with pytest.raises(Exception):  # noqa: B017 - whichever error the backend raises
            replay_spool(database)
        assert len(list(store_env.spool_dir.iterdir())) == 1  # still kept

    assert replay_spool(database) == 1
    assert count_rows(database) == 2
    assert list(store_env.spool_dir.iterdir()) == []
    record = get_enquiry(database, result.reference)  # the reference the person was given
    assert (record.preferred_name, record.priority, record.help_with) == (NAME, True, HELP_WITH)
    assert replay_spool(database) == 0
    assert count_rows(database) == 2
    assert_no_personal_data("the log", caplog.text)
    assert result.reference in caplog.text


def test_next_submission_after_an_outage_empties_the_spool(interruptible, store_env):
    database = interruptible.database
    with interruptible.down():
        spooled = submit_enquiry(draft(), database)
    assert spooled.stored is False
    later = submit_enquiry(draft(preferred_name="After"), database)
    assert later.stored is True
    assert {r.reference for r in list_enquiries(database)} == {spooled.reference, later.reference}
    assert list(store_env.spool_dir.iterdir()) == []
