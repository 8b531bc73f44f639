"""``dit-staff``, run as the installed console script against a temporary SQLite database."""

from __future__ import annotations

import asyncio
import csv
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from dit_assistant.store import EnquiryDraft, open_database, set_status, submit_enquiry
from dit_assistant.store.crypto import generate_key
from tests.fixtures.store import sqlite_down

DIT_STAFF = Path(sys.executable).parent / "dit-staff"
NAME = "Ottoline Brackenbury"
EMAIL = "ottoline.b@example.org"
PHONE = "+447700900777"
HELP_WITH = "panic attacks on the bus"
PERSONAL = (NAME, EMAIL, PHONE, HELP_WITH, "Ottoline", "Brackenbury")
PASSWORD = "correct horse battery staple"


def run(store_env, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = store_env.subprocess_env()
    environment.update(env)
    return subprocess.run(
        [str(DIT_STAFF), "--staff-user", "tester", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_no_personal_data(result: subprocess.CompletedProcess) -> None:
    for secret in PERSONAL:
        assert secret not in result.stdout + result.stderr


def seed(store_env, **changes: object) -> str:
    values: dict[str, object] = {
        "preferred_name": NAME,
        "contact_method": "email",
        "contact_detail": EMAIL,
        "best_times": "mornings",
        "help_with": HELP_WITH,
        "channel": "rest",
        "consent_at": datetime.now(timezone.utc),
        "privacy_notice_version": "2026-01",
        "priority": False,
    }
    values.update(changes)
    database = open_database(store_env.database_url)
    return submit_enquiry(EnquiryDraft(**values), database).reference  # type: ignore[arg-type]


def test_console_script_is_installed():
    assert DIT_STAFF.exists(), "dit-staff is missing: reinstall with `pip install -e .`"


def test_create_user_from_stdin_and_refusals(store_env):
    created = run(store_env, "create-user", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert "alice" in ok(created)
    assert PASSWORD not in created.stdout + created.stderr
    assert ok(run(store_env, "users")).split() == ["alice"]
    again = run(store_env, "create-user", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = run(store_env, "create-user", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12" in short.stderr
    with open_database(store_env.database_url).engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM staff_users")).scalar_one()
    assert stored.startswith("$argon2") and PASSWORD not in stored


def test_list_shows_references_but_no_personal_data(store_env):
    first = seed(store_env)
    second = seed(store_env, priority=True, channel="telegram")
    listed = run(store_env, "list")
    assert first in ok(listed) and second in listed.stdout
    assert_no_personal_data(listed)
    priority = ok(run(store_env, "list", "--priority", "yes"))
    assert second in priority and first not in priority
    channel = ok(run(store_env, "list", "--channel", "rest"))
    assert first in channel and second not in channel
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert "No enquiries" in ok(run(store_env, "list", "--since", tomorrow))


def test_show_reveals_the_enquiry_and_accepts_loose_references(store_env):
    reference = seed(store_env)
    shown = ok(run(store_env, "show", reference[4:].lower()))
    assert NAME in shown and EMAIL in shown and HELP_WITH in shown
    missing = run(store_env, "show", "DIT-ZZZZZ")
    assert missing.returncode == 1 and "no enquiry DIT-ZZZZZ" in missing.stderr


def test_set_status_and_note(store_env):
    reference = seed(store_env)
    changed = run(store_env, "set-status", reference, "contacted")
    assert "contacted" in ok(changed)
    assert reference in ok(run(store_env, "list", "--status", "contacted"))
    assert reference not in ok(run(store_env, "list", "--status", "new"))
    bad = run(store_env, "set-status", reference, "archived")
    assert bad.returncode == 2
    noted = run(store_env, "add-note", reference, "-", stdin=f"Called {NAME}, no answer")
    ok(noted)
    assert_no_personal_data(noted)
    assert f"tester: Called {NAME}, no answer" in ok(run(store_env, "show", reference))
    audit = ok(run(store_env, "audit"))
    assert "status_changed" in audit and "note_added" in audit and "tester" in audit
    assert NAME not in audit


def test_export_writes_a_private_csv_safe_for_spreadsheets(store_env, tmp_path):
    seed(store_env, contact_method="phone", contact_detail=PHONE)
    formula = '=HYPERLINK("http://example.invalid","click")'
    seed(store_env, preferred_name=formula, help_with="@SUM(1+1)")
    target = tmp_path / "out" / "enquiries.csv"
    target.parent.mkdir()
    exported = run(store_env, "export", str(target))
    assert "Exported 2 enquiries" in ok(exported)
    assert_no_personal_data(exported)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_name = {row["Preferred name"]: row for row in rows}
    assert by_name[NAME]["Contact detail"] == "'" + PHONE
    assert by_name[NAME]["Would like help with"] == HELP_WITH
    assert by_name["'" + formula]["Would like help with"] == "'@SUM(1+1)"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    again = run(store_env, "export", str(target))
    assert again.returncode == 1 and "--force" in again.stderr
    ok(run(store_env, "export", str(target), "--force", "--status", "closed"))
    assert len(target.read_text("utf-8-sig").splitlines()) == 1  # the header only


def test_delete_asks_first_and_then_erases(store_env):
    reference = seed(store_env)
    declined = run(store_env, "delete", reference, stdin="n\n")
    assert declined.returncode == 1
    assert reference in ok(run(store_env, "list"))
    deleted = run(store_env, "delete", reference, "--yes")
    assert "deleted" in ok(deleted)
    assert_no_personal_data(deleted)
    assert reference not in ok(run(store_env, "list"))
    assert run(store_env, "show", reference).returncode == 1
    assert f"deleted         {reference}" in ok(run(store_env, "audit"))


def test_purge_applies_the_retention_period(store_env):
    expired = seed(store_env)
    kept = seed(store_env)
    database = open_database(store_env.database_url)
    set_status(database, expired, "closed", "alice")
    set_status(database, kept, "closed", "alice")
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE enquiries SET status_changed_at = :then WHERE reference = :reference"),
            {"then": datetime.now(timezone.utc) - timedelta(days=40), "reference": expired},
        )
    dry = ok(run(store_env, "purge", "--dry-run", RETENTION_DAYS="30"))
    assert "1 enquiries closed more than 30 days ago would be deleted" in dry and expired in dry
    assert expired in ok(run(store_env, "list"))
    assert expired not in ok(run(store_env, "purge"))  # default retention: 365 days
    purged = ok(run(store_env, "purge", RETENTION_DAYS="30"))
    assert expired in purged
    listed = ok(run(store_env, "list"))
    assert expired not in listed and kept in listed


def test_rotate_keys_then_the_old_key_can_go(store_env):
    reference = seed(store_env)
    old_key, new_key = store_env.values["ENQUIRY_KEYS"], generate_key()
    rotated = run(store_env, "rotate-keys", ENQUIRY_KEYS=f"{new_key},{old_key}")
    assert "Re-encrypted 1 database rows" in ok(rotated)
    assert NAME in ok(run(store_env, "show", reference, ENQUIRY_KEYS=new_key))
    assert "unreadable" in ok(run(store_env, "show", reference, ENQUIRY_KEYS=old_key))


def test_a_development_key_left_in_var_keeps_working_until_rotated(store_env, tmp_path):
    """A developer whose enquiries were encrypted with the development key an older version
    generated into var/ can still read them; the new key lives outside var/, one warning line
    says so (without key material), and rotate-keys moves everything to the new key."""
    legacy_key = generate_key()
    store_env.set(ENQUIRY_KEYS=legacy_key)
    reference = seed(store_env)
    var_dir = Path(store_env.values["DIT_VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "enquiry.key").write_text(legacy_key + "\n")
    dev_key_file = tmp_path / "config" / "dit-assistant" / "dev-enquiry.key"
    store_env.set(ENQUIRY_KEYS=None, DEV_ENQUIRY_KEY_FILE=str(dev_key_file))

    shown = run(store_env, "show", reference)
    assert NAME in ok(shown)
    warnings = [line for line in shown.stderr.splitlines() if "DEVELOPMENT KEY" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING")
    assert str(dev_key_file) in warnings[0] and str(var_dir / "enquiry.key") in warnings[0]
    new_key = dev_key_file.read_text().strip()
    assert legacy_key not in shown.stderr and new_key not in shown.stderr
    assert stat.S_IMODE(dev_key_file.stat().st_mode) == 0o600

    rotated = ok(run(store_env, "rotate-keys"))
    assert "Re-encrypted 1 database rows" in rotated
    assert f"older development key {var_dir / 'enquiry.key'}" in rotated
    (var_dir / "enquiry.key").unlink()
    shown = run(store_env, "show", reference)
    assert NAME in ok(shown) and "rotate-keys" not in shown.stderr
    assert sorted(p.name for p in var_dir.glob("*.key")) == []


def test_replay_spool_moves_enquiries_kept_during_an_outage(store_env):
    database = open_database(store_env.database_url)
    with sqlite_down(store_env.database_url):
        result = submit_enquiry(
            EnquiryDraft(
                NAME, "email", EMAIL, None, None, "rest", datetime.now(timezone.utc), "1", True
            ),
            database,
        )
    assert result.stored is False
    replayed = run(store_env, "replay-spool")
    assert "Moved 1 enquiries" in ok(replayed) and "0 left" in replayed.stdout
    assert_no_personal_data(replayed)
    assert result.reference in ok(run(store_env, "list"))
    assert "Moved 0 enquiries" in ok(run(store_env, "replay-spool"))


def test_production_without_keys_fails_clearly(store_env):
    result = run(store_env, "list", DIT_ENV="production", ENQUIRY_KEYS="")
    assert result.returncode == 1
    assert "ENQUIRY_KEYS" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_is_one_clear_line(store_env):
    url = f"postgresql+psycopg2://nobody@127.0.0.1:{_closed_port()}/none"
    result = run(store_env, "list", DATABASE_URL=url)
    assert result.returncode == 1
    assert "database is unavailable" in result.stderr and "Traceback" not in result.stderr


def _closed_port() -> int:
    from tests.fixtures.ports import free_port

    return free_port()


def test_generate_key_prints_a_fernet_key(store_env):
    key = ok(run(store_env, "generate-key")).strip()
    Fernet(key.encode())


@pytest.mark.parametrize("command", ["show", "set-status", "delete", "add-note"])
def test_commands_refuse_unknown_references(store_env, command):
    extra = {"set-status": ["closed"], "add-note": ["hello"]}.get(command, [])
    result = run(
        store_env, command, "DIT-ZZZZZ", *extra, *(["--yes"] if command == "delete" else [])
    )
    assert result.returncode == 1 and "no enquiry DIT-ZZZZZ" in result.stderr


def test_unanswered_questions_are_listed_grouped_then_covered_and_deleted(store_env):
    from dit_assistant.store.unanswered import list_questions, record_unanswered

    database = open_database(store_env.database_url)
    for message in (
        "is there parking near you",
        "can I bring my dog? call me on 07700 900777",
        "Can I bring my dog to the sessions",
    ):
        record_unanswered(database, message, "rest", "default", nearest_intent="ask_location")
    listed = ok(run(store_env, "unanswered", "list"))
    assert "3 questions not yet covered in 2 groups" in listed
    lines = [line.split() for line in listed.splitlines()[2:]]
    (dog_key, dog_count), (parking_key, parking_count) = [(row[0], row[1]) for row in lines]
    assert (dog_count, parking_count) == ("2", "1")  # newest group first
    assert "Can I bring my dog to the sessions" in listed
    assert "07700" not in listed
    every = ok(run(store_env, "unanswered", "list", "--all-questions"))
    assert "can I bring my dog? call me on [phone]" in every and "[ask_location]" in every

    covered = ok(run(store_env, "unanswered", "covered", dog_key))
    assert "2 questions marked covered" in covered
    assert "already covered" in ok(run(store_env, "unanswered", "covered", dog_key))
    remaining = ok(run(store_env, "unanswered", "list"))
    assert "dog" not in remaining and "parking" in remaining
    assert "dog" in ok(run(store_env, "unanswered", "list", "--covered"))

    refused = run(store_env, "unanswered", "delete", parking_key, stdin="n\n")
    assert refused.returncode == 1 and len(list_questions(database)) == 1
    deleted = ok(run(store_env, "unanswered", "delete", parking_key, "--yes"))
    assert "1 questions deleted" in deleted
    assert "No unanswered questions." in ok(run(store_env, "unanswered", "list"))
    missing = run(store_env, "unanswered", "delete", parking_key, "--yes")
    assert missing.returncode == 1 and f"no unanswered question {parking_key}" in missing.stderr

    audit = ok(run(store_env, "audit"))
    assert "unanswered_covered" in audit and "unanswered_deleted" in audit and "tester" in audit
    assert "dog" not in audit and "parking" not in audit


def test_purge_also_applies_the_unanswered_retention_period(store_env):
    from dit_assistant.store.unanswered import list_questions, record_unanswered

    database = open_database(store_env.database_url)
    today = datetime.now(timezone.utc).date()
    record_unanswered(database, "old question", "rest", "default", today=today - timedelta(days=91))
    record_unanswered(database, "recent question", "rest", "default", today=today)
    dry = ok(run(store_env, "purge", "--dry-run"))
    assert "1 unanswered questions older than 90 days would be deleted" in dry
    assert len(list_questions(database)) == 2
    assert "0 unanswered questions older than 100 days deleted" in ok(
        run(store_env, "purge", UNANSWERED_RETENTION_DAYS="100")
    )
    assert "1 unanswered questions older than 90 days deleted" in ok(run(store_env, "purge"))
    assert [q.text for q in list_questions(database)] == ["recent question"]


def test_purge_and_rotate_keys_cover_conversations(store_env):
    from dit_assistant.store.crypto import EnquiryCipher
    from tests.fixtures.conversations import configured_store
    from tests.fixtures.domain import load_domain
    from tests.fixtures.stored_conversations import greeting, saved

    key = store_env.values["ENQUIRY_KEYS"]
    store = configured_store(load_domain(), store_env.database_url, EnquiryCipher((key,)))
    old = (datetime.now(timezone.utc) - timedelta(days=31)).timestamp()
    saved(store, greeting("long ago", at=old), sender="old")
    saved(store, greeting("today"), sender="recent")
    dry = ok(run(store_env, "purge", "--dry-run"))
    assert "1 conversations with no message for more than 30 days would be deleted" in dry
    assert "0 conversations with no message for more than 40 days deleted" in ok(
        run(store_env, "purge", CONVERSATION_RETENTION_DAYS="40")
    )
    assert "1 conversations with no message for more than 30 days deleted" in ok(
        run(store_env, "purge")
    )
    assert list(asyncio.run(store.keys())) == ["recent"]
    rotated = ok(run(store_env, "rotate-keys", ENQUIRY_KEYS=f"{generate_key()},{key}"))
    assert "Re-encrypted 3 database rows" in rotated
    assert "conversations_purged" in ok(run(store_env, "audit"))
