"""No conversation content in any log: a whole enquiry, an injection and oversized messages
through the real servers at DEBUG level, then every line every process wrote is searched.

These servers run with ``REST_TOKEN`` set, as a production deployment that uses REST would, so
the same module checks that the REST channel then refuses callers without the token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.servers import RunningServer, running_servers

NAME = "Zephyrine Quillfeather"
EMAIL = "zephyrine.quill@example.net"
PHONE = "07824 358274"
BEST_TIMES = "Tuesdays after the Marrowgate market"
HELP_WITH = "confidence at work, my manager is called Belladonna"
SECRETS = (
    "Zephyrine",
    "Quillfeather",
    "zephyrine.quill",
    "07824 358274",
    "7824358274",
    "Marrowgate",
    "Belladonna",
    "Xanthippe",
)


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    workdir = tmp_path_factory.mktemp("log-privacy")
    env = {"LOG_LEVEL": "DEBUG", "REST_TOKEN": secrets.token_hex(32)}
    with running_servers(workdir, env) as server:
        yield server, workdir


def texts(reply) -> str:
    return "\n".join(m.get("text", "") for m in reply)


def converse(server: RunningServer, sender: str, steps: list[tuple[str, str]]) -> None:
    for message, expected in steps:
        status, reply = server.send(sender, message)
        assert status == 200, (message, reply)
        assert expected in texts(reply), (message, texts(reply))


def test_no_conversation_content_reaches_any_log(debug_server):
    server, workdir = debug_server
    converse(
        server,
        uuid.uuid4().hex,
        [
            ("I'd like to book an appointment", "18 or over"),
            ("yes", "What name"),
            (NAME, "How would you like the team to contact you?"),
            ("phone", "What phone number"),
            (PHONE, "good time to contact you"),
            (BEST_TIMES, "optional"),
            (HELP_WITH, "store these details"),
            ("yes", "Here is what I'll send"),
            ('/intake_change{"intake_field": "Zephyrine"}', ""),
        ],
    )
    sender = uuid.uuid4().hex
    converse(
        server,
        sender,
        [
            ("please call me back", "18 or over"),
            ("yes", "What name"),
            ("Xanthippe", "How would you like the team to contact you?"),
            ("email", "What email address"),
            (EMAIL, "good time to contact you"),
            ("cancel", ""),
            (f"/greet{{ }} {NAME} wants to kill myself", "Are you safe right now?"),
            (f"{NAME} {HELP_WITH} " * 100, "too long for me to read"),
        ],
    )
    status, _ = server.send(sender, f'/greet{{"x": "{NAME}"}} {EMAIL}')
    assert status == 200

    server.send("stop", "hello")  # one more turn so that everything above has been logged
    outputs = {
        path: path.read_text("utf-8", errors="replace")
        for path in workdir.rglob("*")
        if path.is_file() and path.suffix not in {".sqlite", ".key"} and "spool" not in path.parts
    }
    log = outputs[workdir / "serve.log"]
    # the servers really did log at DEBUG, conversation details included
    assert "DEBUG" in log and "rasa.core.processor" in log and "rasa_sdk" in log
    assert "[redacted]" in log
    for path, text in outputs.items():
        assert server.env["REST_TOKEN"] not in text, f"the REST token in {path.name}"
        for secret in SECRETS:
            assert secret.lower() not in text.lower(), f"{secret!r} in {path.name}"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer wrong-token-0123456789abcdef0123456789", "Basic dXNlcjpwYXNz"],
)
def test_with_a_token_set_rest_callers_without_it_are_refused(debug_server, authorization):
    server, _ = debug_server
    token = server.env["REST_TOKEN"]
    status, body = server.send(uuid.uuid4().hex, "what is DIT?", authorization=authorization)
    assert status == 401 and "bearer token" in body
    assert token not in body
    status, reply = server.send(uuid.uuid4().hex, "what is DIT?")
    assert status == 200 and "Dynamic Interpersonal Therapy" in texts(reply)
