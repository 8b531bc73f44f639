"""Who may talk to which widget conversation, through the real Rasa server's socket.io channel:
only the widget's pages may connect from a browser, and a socket can write only into the session
the server confirmed to it.

The client is python-socketio's own, over HTTP long-polling (its asyncio WebSocket client needs a
newer aiohttp than Rasa allows); the server treats both transports alike.
"""

from __future__ import annotations

import functools
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import socketio

from tests.fixtures.servers import RunningServer

REPLY_TIMEOUT_S = 60


class WidgetClient:
    """A socket.io client speaking the widget's protocol, recording what the bot sends it."""

    def __init__(self) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.sessions: queue.Queue[str] = queue.Queue()
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.sio.on("session_confirm", lambda session_id: self.sessions.put(str(session_id)))
        self.sio.on("bot_uttered", self.replies.put)
        # Leave as a browser tab does, without waiting for the long-poll request still open to
        # run out (about 30 s): engine.io's disconnect otherwise joins its reader thread, which
        # ends only when the server answers that request. The server still gets the close
        # packet. socket.io's client calls this itself when the server refuses a connection.
        self.sio.eio.disconnect = functools.partial(self.sio.eio.disconnect, abort=True)

    def start_session(self, session_id: str | None = None) -> str:
        self.sio.emit("session_request", {"session_id": session_id})
        return self.sessions.get(timeout=REPLY_TIMEOUT_S)

    def say(self, text: str, session_id: str) -> None:
        self.sio.emit("user_uttered", {"message": text, "session_id": session_id})

    def next_reply(self, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        return self.replies.get(timeout=timeout)

    def leave(self) -> None:
        self.sio.disconnect()


@contextmanager
def widget(server: RunningServer, origin: str | None) -> Iterator[WidgetClient]:
    client = WidgetClient()
    headers = {"Origin": origin} if origin else {}
    client.sio.connect(server.base_url, headers=headers, transports=["polling"])
    try:
        yield client
    finally:
        client.leave()


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1:1", "null", "https://clinic.example.net"]
)
def test_a_page_that_is_not_the_widgets_cannot_connect(running_server, origin):
    with pytest.raises(socketio.exceptions.ConnectionError), widget(running_server, origin):
        pass


def test_the_widgets_page_connects_and_is_answered(running_server):
    with widget(running_server, running_server.web_url) as client:
        session = client.start_session()
        client.say("what is DIT?", session)
        assert "Dynamic Interpersonal Therapy" in client.next_reply().get("text", "")


def test_a_socket_cannot_write_into_a_session_confirmed_to_another(running_server):
    with (
        widget(running_server, running_server.web_url) as owner,
        widget(running_server, running_server.web_url) as intruder,
    ):
        session = owner.start_session()
        intruder.start_session()
        intruder.say("what is DIT?", session)
        # the intruder's message is dropped: nothing reaches either socket...
        with pytest.raises(queue.Empty):
            owner.next_reply(timeout=10)
        assert intruder.replies.empty()
        # ...and the owner's own messages are answered
        owner.say("what is DIT?", session)
        assert "Dynamic Interpersonal Therapy" in owner.next_reply().get("text", "")


def test_a_returning_widget_resumes_its_own_session(running_server):
    with widget(running_server, running_server.web_url) as first:
        session = first.start_session()
    with widget(running_server, running_server.web_url) as again:
        assert again.start_session(session) == session
        again.say("what is DIT?", session)
        assert "Dynamic Interpersonal Therapy" in again.next_reply().get("text", "")
