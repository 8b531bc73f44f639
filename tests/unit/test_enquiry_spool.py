"""The outage spool on SQLite: replaying never duplicates or overwrites an enquiry, a file the
keys cannot read is kept, and files are written atomically."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dit_assistant.store import (
    get_enquiry,
    list_enquiries,
    open_database,
    replay_spool,
    submit_enquiry,
)
from dit_assistant.store.crypto import generate_key, load_cipher
from dit_assistant.store.spool import Spool, default_spool
from tests.fixtures.store import PHONE, count_rows, draft, sqlite_down


def test_replay_never_duplicates_a_file_that_survived_its_commit(store_env):
    """A crash between commit and unlink leaves the file behind: replaying it adds nothing."""
    database = open_database(store_env.database_url)
    with sqlite_down(store_env.database_url):
        result = submit_enquiry(draft(), database)
    assert result.stored is False
    spooled = store_env.spool_dir / f"{result.reference}.enquiry"
    survivor = spooled.read_bytes()

    assert replay_spool(database) == 1
    spooled.write_bytes(survivor)
    assert replay_spool(database) == 0
    assert count_rows(database) == 1
    assert not spooled.exists()


def test_replay_gives_a_new_reference_when_the_spooled_one_was_taken(store_env):
    database = open_database(store_env.database_url)
    taken = submit_enquiry(draft(preferred_name="First Person"), database).reference
    record = {
        "version": 1,
        "reference": taken,
        "submission_id": "f" * 32,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "preferred_name": "Second Person",
        "contact_method": "phone",
        "contact_detail": PHONE,
        "best_times": None,
        "help_with": None,
        "channel": "rest",
        "consent_at": datetime.now(timezone.utc).isoformat(),
        "privacy_notice_version": "2026-01",
        "priority": False,
    }
    default_spool().write(taken, record)
    assert replay_spool(database) == 1
    names = sorted(r.preferred_name for r in list_enquiries(database))
    assert names == ["First Person", "Second Person"]
    assert get_enquiry(database, taken).preferred_name == "First Person"


def test_spool_unreadable_with_the_configured_keys_is_kept(store_env):
    database = open_database(store_env.database_url)
    Spool(store_env.spool_dir, load_cipher()).write("DIT-22222", {"reference": "DIT-22222"})
    store_env.set(ENQUIRY_KEYS=generate_key())
    assert replay_spool(database) == 0
    assert (store_env.spool_dir / "DIT-22222.enquiry").exists()


def test_spool_files_are_written_atomically(store_env, monkeypatch):
    spool = default_spool()

    def failing_replace(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("dit_assistant.store.spool.os.replace", failing_replace)
    with pytest.raises(OSError):
        spool.write("DIT-33333", {"reference": "DIT-33333"})
    assert list(store_env.spool_dir.iterdir()) == []  # no partial or temporary file left
