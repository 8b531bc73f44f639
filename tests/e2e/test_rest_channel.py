"""The servers ``make run`` starts: REST answers on 127.0.0.1 and configuration reaches the
answers. Malformed requests: ``test_hostile_input.py`` and ``test_bad_input.py``."""

from __future__ import annotations

import uuid

import pytest


def texts(reply) -> str:
    return "\n".join(m.get("text", "") for m in reply)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how many sessions does DIT have", "16 sessions"),
        ("how long does each session last", "50 minutes"),
        ("what is the IPAF", "interpersonal affective focus"),
    ],
)
def test_rest_channel_answers(running_server, question, expected):
    status, reply = running_server.send(uuid.uuid4().hex, question)
    assert status == 200
    assert expected in texts(reply)


def test_answers_use_the_configured_clinic(running_server):
    status, reply = running_server.send(uuid.uuid4().hex, "how do I get started with DIT")
    assert status == 200
    assert "0161 496 0999" in texts(reply)
    assert "Testwood Therapy Centre" in texts(reply)


def test_crisis_reply_over_rest(running_server):
    status, reply = running_server.send(uuid.uuid4().hex, "i want to kill myself")
    assert status == 200
    assert "Are you safe right now?" in texts(reply)
    assert "0161 496 0999" in texts(reply)


def test_buttons_arrive_over_rest(running_server):
    _, reply = running_server.send(uuid.uuid4().hex, "hello")
    assert any(m.get("buttons") for m in reply)


def test_safety_routes_are_recorded_without_personal_data(running_server):
    from sqlalchemy import inspect

    from dit_assistant.store import open_database

    database = open_database(running_server.database_url)
    before = database.safety_event_counts()
    running_server.send(uuid.uuid4().hex, "my partner hits me and I'm scared to go home")
    running_server.send(uuid.uuid4().hex, "I want to end my life")
    after = database.safety_event_counts()
    assert after.get("risk_abuse", 0) == before.get("risk_abuse", 0) + 1
    assert after.get("risk_suicide", 0) == before.get("risk_suicide", 0) + 1
    columns = {c["name"] for c in inspect(database.engine).get_columns("safety_events")}
    assert columns == {"id", "occurred_at", "route", "region", "channel"}
