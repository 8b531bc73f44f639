"""Unanswered questions on real SQLite and real PostgreSQL: scrubbed and encrypted at rest,
grouped newest first, marked covered, deleted, purged after retention, re-encrypted with the
keys, and every staff action audited without the text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from dit_assistant.store import open_database, rotate_keys
from dit_assistant.store.audit import recent_audit
from dit_assistant.store.crypto import generate_key
from dit_assistant.store.database import Database
from dit_assistant.store.unanswered import (
    GroupNotFound,
    delete_questions,
    expired_count,
    find_group,
    list_groups,
    list_questions,
    mark_covered,
    purge_unanswered,
    record_unanswered,
)
from tests.fixtures.store import count_rows, raw_dump

TODAY = date(2026, 12, 3)
DOG = "can I bring my dog to the sessions? email me at rex.owner@example.org"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, store_env) -> Database:
    """A new, empty database on each backend; the store is configured for it."""
    if request.param == "sqlite":
        return open_database(store_env.database_url)
    url = request.getfixturevalue("postgres").create_database()
    store_env.set(DATABASE_URL=url)
    return open_database(url)


def seed(database: Database) -> None:
    """Two topics over three days (oldest first), one of them asked three times."""
    for days_ago, message, reply in [
        (2, "is there parking near the clinic", "out_of_scope"),
        (2, "can I bring my dog?", "default"),
        (1, "Can I bring my dog with me", "default"),
        (0, DOG, "default"),
    ]:
        assert record_unanswered(
            database,
            message,
            "rest",
            reply,
            nearest_intent="ask_bring_someone",
            today=TODAY - timedelta(days=days_ago),
        )


def test_text_is_scrubbed_then_encrypted_and_nothing_links_it_to_a_person(database: Database):
    record_unanswered(
        database, "call me on 07700 900123 or at SW1A 1AA about my dog", "telegram", "default"
    )
    (question,) = list_questions(database)
    assert question.text == "call me on [phone] or at [postcode] about my dog"
    assert question.channel == "telegram" and question.reply == "default"
    dump = raw_dump(database)
    # The phone number whole: a fragment such as "07700" can turn up inside a stored timestamp.
    for plain in ("dog", "[phone]", "07700 900123", "7700900123", "SW1A"):
        assert plain not in dump
    with database.engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM unanswered_questions")).keys()
    assert set(columns) == {
        "id",
        "received_on",
        "channel",
        "reply",
        "nearest_intent",
        "text_token",
        "covered_at",
        "covered_by",
    }


def test_nothing_is_kept_when_only_contact_details_were_sent(database: Database):
    assert not record_unanswered(database, "  07700 900123  ", "rest", "default")
    assert not record_unanswered(database, "jo@example.org, SW1A 1AA!", "rest", "default")
    assert not record_unanswered(database, "🙂🙂 ?!", "rest", "default")
    assert not record_unanswered(database, "", "rest", "default")
    assert count_rows(database, "unanswered_questions") == 0
    with pytest.raises(ValueError, match="reply"):
        record_unanswered(database, "hello", "rest", "crisis")


def test_long_messages_are_cut(database: Database):
    record_unanswered(database, "why " * 1000, "rest", "default")
    assert len(list_questions(database)[0].text) <= 1000


def test_groups_newest_first_with_counts(database: Database):
    seed(database)
    grouped = list_groups(database)
    assert grouped.total == 4
    assert [group.count for group in grouped.groups] == [3, 1]
    dogs, parking = grouped.groups
    assert dogs.example == "can I bring my dog to the sessions? email me at [email]"
    assert (dogs.newest, dogs.oldest) == (TODAY, TODAY - timedelta(days=2))
    assert dogs.nearest_intents == [("ask_bring_someone", 3)]
    assert parking.example == "is there parking near the clinic"
    assert find_group(database, dogs.questions[-1].id).ids == dogs.ids
    with pytest.raises(GroupNotFound):
        find_group(database, 10_000)


def test_covered_groups_leave_the_default_list_and_stay_until_retention(database: Database):
    seed(database)
    dogs = list_groups(database).groups[0]
    assert mark_covered(database, dogs.ids, "alice") == 3
    assert mark_covered(database, dogs.ids, "alice") == 0  # already covered: nothing audited
    remaining = list_groups(database).groups
    assert [g.example for g in remaining] == ["is there parking near the clinic"]
    (covered,) = list_groups(database, covered=True).groups
    assert covered.ids == dogs.ids and covered.covered
    assert {q.covered_by for q in covered.questions} == {"alice"}
    assert find_group(database, dogs.key).ids == dogs.ids  # found among the covered ones
    assert count_rows(database, "unanswered_questions") == 4


def test_delete_removes_a_group_for_good(database: Database):
    seed(database)
    dogs, parking = list_groups(database).groups
    assert delete_questions(database, dogs.ids, "bob") == 3
    assert [g.ids for g in list_groups(database).groups] == [parking.ids]
    assert delete_questions(database, dogs.ids, "bob") == 0
    assert count_rows(database, "unanswered_questions") == 1


def test_staff_actions_and_purges_are_audited_without_the_text(database: Database):
    seed(database)
    dogs, parking = list_groups(database).groups
    mark_covered(database, dogs.ids, "alice")
    delete_questions(database, parking.ids, "bob")
    purge_unanswered(database, 1, today=TODAY)
    entries = {e.action: e for e in recent_audit(database)}
    assert entries["unanswered_covered"].staff_user == "alice"
    assert entries["unanswered_covered"].detail == f"3 questions (group {dogs.key})"
    assert entries["unanswered_deleted"].staff_user == "bob"
    assert entries["unanswered_purged"].staff_user == "retention"
    assert entries["unanswered_purged"].detail == "1 question; retention 1 days"
    assert "dog" not in str(recent_audit(database)) and "parking" not in str(recent_audit(database))


def test_purge_deletes_questions_past_retention_covered_or_not(database: Database):
    seed(database)
    mark_covered(database, [list_questions(database)[-1].id], "alice")  # the oldest dog
    assert expired_count(database, 1, today=TODAY) == 2
    assert expired_count(database, 2, today=TODAY) == 0
    assert purge_unanswered(database, 2, today=TODAY) == 0
    assert purge_unanswered(database, 1, today=TODAY) == 2
    assert [q.received_on for q in list_questions(database)] == [TODAY, TODAY - timedelta(days=1)]
    assert list_questions(database, covered=True) == []


def test_key_rotation_re_encrypts_questions(database: Database, store_env):
    old_key, new_key = store_env.values["ENQUIRY_KEYS"], generate_key()
    record_unanswered(database, "can I bring my dog", "rest", "default")
    store_env.set(ENQUIRY_KEYS=f"{new_key},{old_key}")
    assert rotate_keys(database) == 1
    store_env.set(ENQUIRY_KEYS=new_key)
    assert list_questions(database)[0].text == "can I bring my dog"
    store_env.set(ENQUIRY_KEYS=generate_key())  # a wrong key: unreadable, not fatal
    assert list_questions(database)[0].text.startswith("[unreadable")
