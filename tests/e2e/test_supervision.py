"""``make run`` keeps its servers running: a server that dies is started again while the others
carry on, so a crashed action server never takes the crisis replies down with it; a server that
keeps dying stops everything with a message instead of looping."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from dit_assistant import serve
from dit_assistant.serve import Supervised


def _pid_of_action_server(port: str) -> int:
    """The action server of the running servers: the process whose command line has its port."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"actions" in args and port.encode() in args:
            return int(entry.name)
    raise LookupError(f"no action server on port {port}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_a_killed_action_server_comes_back_and_crisis_replies_never_stop(running_server):
    port = running_server.env["ACTION_PORT"]
    health = f"http://127.0.0.1:{port}/health"
    assert _answers(health)
    time.sleep(1)  # make run has seen every server up and now supervises them
    old_pid = _pid_of_action_server(port)
    os.kill(old_pid, signal.SIGKILL)
    time.sleep(2)  # long enough for the old behaviour: every server stopped within 0.5 s

    status, replies = running_server.send("supervision-crisis", "I want to kill myself")
    assert status == 200
    assert any("999" in r.get("text", "") for r in replies), replies

    deadline = time.monotonic() + 120
    while not _answers(health):
        assert time.monotonic() < deadline, "the action server was not started again"
        time.sleep(1)
    assert _pid_of_action_server(port) != old_pid

    # The enquiry form works again: its answers need the action server's validation.
    sender = "supervision-form"
    running_server.send(sender, "I'd like to book an assessment")
    running_server.send(sender, "/affirm")
    status, replies = running_server.send(sender, "Sam")
    assert status == 200
    assert any("contact" in r.get("text", "").lower() for r in replies), replies


def test_a_server_that_keeps_dying_stops_everything(monkeypatch, capsys):
    monkeypatch.setattr(serve, "MAX_RESTARTS", 2)
    crashing = Supervised(
        "test server", [sys.executable, "-c", "raise SystemExit(3)"], Path.cwd(), dict(os.environ)
    )
    crashing.start()
    verdicts = []
    for _ in range(3):
        crashing.process.wait(timeout=30)
        verdicts.append(crashing.keep_running(time.monotonic()))
    assert verdicts == [True, True, False]
    err = capsys.readouterr().err
    assert err.count("starting it again") == 2 and "exit code 3" in err
    assert "stopping everything" in err


def test_restarts_long_ago_do_not_count(monkeypatch):
    monkeypatch.setattr(serve, "MAX_RESTARTS", 1)
    crashing = Supervised(
        "test server", [sys.executable, "-c", "raise SystemExit(3)"], Path.cwd(), dict(os.environ)
    )
    crashing.start()
    crashing.process.wait(timeout=30)
    assert crashing.keep_running(1000.0)
    crashing.process.wait(timeout=30)
    assert crashing.keep_running(1000.0 + serve.RESTART_WINDOW_S + 1)
