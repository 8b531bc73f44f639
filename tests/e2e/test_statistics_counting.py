"""The real Rasa server counts, as it replies, the conversations, the messages people type, the
topics it answers and its "I don't have an answer" replies, and writes the counts to the
database (at the latest when it stops) without any sender id or message text.

The server is started the way ``make run`` starts it, with the action server pointed at nothing:
counting must not need it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from dit_assistant.serve import (
    BOT_DIR,
    _environment,
    rasa_server_command,
    runtime_endpoints,
    wait_until_up,
)
from dit_assistant.store import open_database
from dit_assistant.store.crypto import generate_key
from dit_assistant.store.statistics import weekly_statistics
from tests.fixtures.ports import free_port

SENDER = "visitor-7731-statistics"
MESSAGES = ("/greet", "how much does DIT cost?", "what is DIT?", "zxqv blorf wibble qqq")


def _say(port: int, message: str) -> list[dict]:
    body = json.dumps({"sender": SENDER, "message": message}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        body,
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def test_the_rasa_server_counts_what_it_answers_and_writes_it_when_it_stops(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    env = _environment()
    env.update(
        DATABASE_URL=database_url,
        DIT_VAR_DIR=str(tmp_path / "var"),
        ENQUIRY_KEYS=generate_key(),
        CLINIC_TIMEZONE="Europe/London",
    )
    endpoints = runtime_endpoints(free_port(), tmp_path / "var")  # no action server there
    port = free_port()
    command = rasa_server_command(port)
    command[command.index("--endpoints") + 1] = str(endpoints)
    log_path = tmp_path / "rasa.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=BOT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/", [process], timeout=300)
            replies = [_say(port, message) for message in MESSAGES]
        finally:
            process.send_signal(signal.SIGTERM)  # as make run stops it
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail("the Rasa server did not stop on SIGTERM")
    assert all(replies), f"a message got no reply:\n{log_path.read_text()[-3000:]}"
    assert "I don't have an answer" in replies[-1][0]["text"]

    database = open_database(database_url)
    stats = weekly_statistics(database, weeks=1)
    assert stats.total_conversations == 1  # the widget-style /greet alone would not be one
    assert stats.total_messages == 3
    assert {"ask_cost", "ask_what_is_dit"} <= dict(stats.topics).keys()
    assert stats.total_unknown_answers == 1
    assert {row.channel for row in stats.by_channel} == {"rest"}
    with database.engine.connect() as connection:
        stored = "\n".join(
            str(value)
            for row in connection.execute(text("SELECT * FROM statistic_counts"))
            for value in row
        )
    for secret in (SENDER, "7731", "cost?", "blorf"):
        assert secret not in stored
