"""A database that never answers, through the real Rasa server and action server: the enquiry is
spooled and the person told so with the reference, and nobody else waits for the database.

The action server's ``DATABASE_URL`` names a PostgreSQL port that takes connections and never
answers (``tests.fixtures.services.blackhole_postgres``), as a firewalled or hung server looks.
Before the database work left the action server's event loop, one person's enquiry waiting on
that connection held up every other person's form answers until it gave up.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from bot.actions.database import DEADLINE_FACTOR
from dit_assistant.store.crypto import generate_key
from tests.fixtures.actions import action_server
from tests.fixtures.servers import RunningServer, rasa_server
from tests.fixtures.services import blackhole_postgres

REFERENCE = re.compile(r"\bDIT-[A-Z0-9]{5}\b")
# Longer than the default (2 s) so that "the other person was answered first" holds on a busy
# 2-core machine too; the default itself is checked in tests/unit/test_action_database.py.
TIMEOUT_S = 6
SPOOLED = "isn't reachable at this moment"


def texts(reply: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in reply)


def say(server: RunningServer, sender: str, message: str, expected: str) -> str:
    status, reply = server.send(sender, message)
    assert status == 200, (message, reply)
    assert expected in texts(reply), (message, texts(reply))
    return texts(reply)


def up_to_the_name(server: RunningServer, sender: str) -> None:
    say(server, sender, "I'd like to book an appointment", "18 or over")
    say(server, sender, "yes", "What name")


def up_to_the_summary(server: RunningServer, sender: str, name: str) -> None:
    up_to_the_name(server, sender)
    say(server, sender, name, "How would you like the team to contact you?")
    say(server, sender, "email", "What email address")
    say(server, sender, f"{name.lower()}@example.org", "good time to contact you")
    say(server, sender, "weekday mornings", "optional")
    say(server, sender, "skip", "store these details")
    say(server, sender, "yes", "Here is what I'll send")


def timed(server: RunningServer, sender: str, message: str) -> tuple[str, float, float]:
    """(reply text, seconds taken, when it ended) of one turn."""
    started = time.monotonic()
    status, reply = server.send(sender, message)
    ended = time.monotonic()
    assert status == 200, reply
    return texts(reply), ended - started, ended


def test_a_database_that_never_answers_holds_up_no_one_and_enquiries_are_spooled(
    tmp_path: Path,
):
    with blackhole_postgres() as database:
        env = dict(
            os.environ,
            DATABASE_URL=database.url,
            DIT_VAR_DIR=str(tmp_path / "var"),
            ENQUIRY_SPOOL_DIR=str(tmp_path / "spool"),
            ENQUIRY_KEYS=generate_key(),
            ACTION_DB_TIMEOUT_S=str(TIMEOUT_S),
            RASA_TELEMETRY_ENABLED="false",
        )
        conversations = dict(env, DATABASE_URL=f"sqlite:///{tmp_path / 'conversations.sqlite'}")
        with (
            action_server(tmp_path, env) as endpoint,
            # The Rasa server keeps its conversations in a database of its own that works: the
            # outage here is the action server's alone.
            rasa_server(tmp_path, conversations, urlsplit(endpoint).port or 0) as server,
        ):
            waiting, other, later = (uuid.uuid4().hex for _ in range(3))
            up_to_the_summary(server, waiting, "Marisol")
            up_to_the_summary(server, later, "Ottoline")
            up_to_the_name(server, other)
            assert not database.connection_waiting(0), "nothing used the database before"

            with ThreadPoolExecutor(1) as pool:
                sent = pool.submit(timed, server, waiting, "yes")
                # The action server is now connecting to the database that never answers...
                assert database.connection_waiting(60), "the enquiry never tried the database"
                # ...and another person's form answer, which needs the action server, is
                # answered meanwhile, not after the database gave up.
                other_reply, _, other_ended = timed(server, other, "Sam")
                spooled_reply, spooled_took, spooled_ended = sent.result(timeout=120)

            print(
                f"\nenquiry spooled in {spooled_took:.1f} s (database timeout {TIMEOUT_S} s); "
                f"the other person answered {spooled_ended - other_ended:.1f} s before it"
            )
            assert "How would you like the team to contact you?" in other_reply, other_reply
            assert other_ended < spooled_ended, "the other person waited for the database"
            # The person is told the truth, with the reference to quote, within a bounded time.
            assert SPOOLED in spooled_reply, spooled_reply
            assert TIMEOUT_S * 0.9 <= spooled_took < TIMEOUT_S * DEADLINE_FACTOR + 20
            first = REFERENCE.search(spooled_reply).group(0)

            # Within ACTION_DB_RETRY_AFTER_S (30 s) of the failure the database is not tried:
            # the next enquiry goes straight to the spool.
            later_reply, later_took, _ = timed(server, later, "yes")
            assert SPOOLED in later_reply, later_reply
            assert later_took < TIMEOUT_S, "the database was tried again at once"
            second = REFERENCE.search(later_reply).group(0)
            print(f"the next enquiry, with the database skipped, spooled in {later_took:.1f} s")

    spooled = sorted(path.stem for path in (tmp_path / "spool").rglob("DIT-*") if path.is_file())
    assert spooled == sorted([first, second])
    for path in (tmp_path / "spool").rglob("DIT-*"):
        content = path.read_bytes()
        assert b"Marisol" not in content and b"ottoline@" not in content  # encrypted
    log = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("action-server-*.log"))
    assert "database skipped for an enquiry" in log
    assert "Marisol" not in log and "Ottoline" not in log
