"""The store on a real SQLite database: migrations from empty, safety events."""

from __future__ import annotations

from sqlalchemy import inspect, text

from dit_assistant.store import open_database


def test_migrations_create_the_schema_from_empty(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'new' / 'store.sqlite'}")
    tables = set(inspect(database.engine).get_table_names())
    assert {"safety_events", "alembic_version"} <= tables


def test_migrating_twice_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    open_database(url).record_safety_event("risk_suicide", "uk-england", "rest")
    again = open_database(url)
    assert again.safety_event_counts() == {"risk_suicide": 1}


def test_safety_events_are_counted_by_route(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'store.sqlite'}")
    for route in ["risk_suicide", "risk_abuse", "risk_suicide"]:
        database.record_safety_event(route, "us", "socketio")
    assert database.safety_event_counts() == {"risk_suicide": 2, "risk_abuse": 1}
    with database.engine.connect() as connection:
        row = connection.execute(text("SELECT region, channel FROM safety_events")).first()
    assert tuple(row) == ("us", "socketio")
