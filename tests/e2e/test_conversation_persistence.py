"""Conversations through ``make run``'s real servers and the conversation store of
``bot/endpoints.yml``: an enquiry half filled in survives a restart of the Rasa server and of
the action server and is then saved, with its details gone from the stored conversation; and
with PostgreSQL stopped, crisis replies carry on, everything else gets the clinic's contacts,
the readiness check says so, and conversations are kept again once the database is back."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dit_assistant.store import open_database
from dit_assistant.store.crypto import EnquiryCipher
from dit_assistant.store.management import list_enquiries
from tests.fixtures.conversations import stored_events
from tests.fixtures.servers import RunningServer, running_servers
from tests.fixtures.services import PostgresServer, postgres_server

NAME = "Philippa Marchbanks"
PHONE = "07824 358911"
BEST_TIMES = "Wednesdays after the allotment"
REFERENCE = re.compile(r"\bDIT-[A-Z0-9]{5}\b")
RESTART_TIMEOUT_S = 240


def texts(reply: object) -> str:
    return "\n".join(m.get("text", "") for m in reply) if isinstance(reply, list) else ""


def say(server: RunningServer, sender: str, message: str, expected: str) -> str:
    status, reply = server.send(sender, message)
    assert status == 200, (message, reply)
    assert expected in texts(reply), (message, texts(reply))
    return texts(reply)


def _pid_of(*parts: bytes) -> int:
    """The process whose command line holds all of ``parts`` (one of make run's servers)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(part in args for part in parts):
            return int(entry.name)
    raise LookupError(f"no process with {parts}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def restart_rasa_server(server: RunningServer) -> None:
    """Stop the Rasa server as a deploy would (SIGTERM); make run starts it again."""
    port = server.base_url.rsplit(":", 1)[1].encode()
    old = _pid_of(b"dit_assistant.rasa_cli", b"--model", port)
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while True:
        assert time.monotonic() < deadline, "the Rasa server did not come back"
        time.sleep(2)
        try:
            new = _pid_of(b"dit_assistant.rasa_cli", b"--model", port)
        except LookupError:
            continue
        if new != old and server.ready()[0] == 200:
            return


def restart_action_server(server: RunningServer) -> None:
    port = server.env["ACTION_PORT"]
    old = _pid_of(b"actions", port.encode())
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while _pid_of_or_none(b"actions", port.encode()) in (None, old) or not _answers(
        f"http://127.0.0.1:{port}/health"
    ):
        assert time.monotonic() < deadline, "the action server did not come back"
        time.sleep(1)


def _pid_of_or_none(*parts: bytes) -> int | None:
    try:
        return _pid_of(*parts)
    except LookupError:
        return None


def test_an_enquiry_half_filled_in_survives_restarts_and_is_saved(running_server):
    server = running_server
    sender = f"persist-{uuid.uuid4().hex}"
    time.sleep(1)  # make run has seen every server up and now supervises them
    say(server, sender, "I'd like to book an appointment", "18 or over")
    say(server, sender, "yes", "What name")
    say(server, sender, NAME, "How would you like the team to contact you?")

    restart_rasa_server(server)
    say(server, sender, "phone", "What phone number")  # the form carried on where it was

    restart_action_server(server)
    say(server, sender, PHONE, "good time to contact you")
    say(server, sender, BEST_TIMES, "optional")
    say(server, sender, "skip", "store these details")
    say(server, sender, "yes", "Here is what I'll send")
    saved = say(server, sender, "yes", "Your reference is")
    reference = REFERENCE.search(saved).group(0)

    database = open_database(server.database_url)
    cipher = EnquiryCipher((server.env["ENQUIRY_KEYS"],))
    stored = [e for e in list_enquiries(database, cipher=cipher) if e.reference == reference]
    assert [(e.preferred_name, e.contact_detail) for e in stored] == [(NAME, "+447824358911")]
    conversation = json.dumps(stored_events(database, cipher, f"rest:{sender}"))
    for detail in (NAME, "Philippa", "Marchbanks", "358911", "allotment"):
        assert detail not in conversation, detail
    assert reference in conversation  # the conversation itself is still there, without them


# ------------------------------------------------------------------- the database stopped
@pytest.fixture(scope="module")
def on_postgres(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, PostgresServer, Path]]:
    """make run's servers on a PostgreSQL server of their own, which the test may stop."""
    workdir = tmp_path_factory.mktemp("postgres-servers")
    with postgres_server() as postgres:
        url = postgres.create_database()
        with running_servers(workdir, {"DATABASE_URL": url}) as server:
            yield server, postgres, workdir


def test_with_the_database_stopped_crisis_replies_carry_on_and_others_get_the_contacts(
    on_postgres,
):
    server, postgres, workdir = on_postgres
    sender = f"outage-{uuid.uuid4().hex}"
    clinic_phone = server.env["CLINIC_PHONE"]
    say(server, sender, "hello", "")
    assert server.ready() == (
        200,
        {"status": "ready", "model": "loaded", "conversation_store": "ok"},
    )

    postgres.stop()
    try:
        time.sleep(1.5)  # past the second in which a recent answer counts as "available"
        reply = say(server, sender, "what is DIT?", "can't keep track of our conversation")
        assert clinic_phone in reply
        assert "DIT stands for" not in reply
        crisis = say(server, sender, "I want to kill myself", "999")
        assert "can't keep track of our conversation" in crisis
        status, body = server.ready()
        assert status == 503 and body["conversation_store"] == "unavailable", body
    finally:
        postgres.start()

    deadline = time.monotonic() + 60
    while server.ready()[0] != 200:
        assert time.monotonic() < deadline, "the store did not come back"
        time.sleep(1)
    later = f"after-{uuid.uuid4().hex}"
    say(server, later, "I'd like to book an appointment", "18 or over")
    say(server, later, "yes", "What name")  # kept again: the form goes on

    log = (workdir / "serve.log").read_text(errors="replace")
    assert "conversation store is unavailable" in log
    assert "a safety message is answered from a fresh conversation" in log
    assert "kill myself" not in log and "what is DIT" not in log
