"""The staff statistics: counted when things happen, kept without personal data, and unchanged
when the enquiries they counted are deleted or purged.

Everything runs against a real SQLite store: the enquiry store's own operations, the Rasa
server's counting (the message gate and the response generator, with the real domain), the
migration that counts what an existing database already holds, and the dashboard's page and CSV
download through Flask's test client.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text, update

from dit_assistant.channels import guard
from dit_assistant.channels.counting import ConversationCounter
from dit_assistant.nlg import ClinicResponseGenerator
from dit_assistant.settings import get_settings
from dit_assistant.staff.export import STATISTICS_COLUMNS
from dit_assistant.staff.web import create_app
from dit_assistant.store import (
    accounts,
    delete_enquiry,
    open_database,
    purge_expired,
    set_status,
    submit_enquiry,
)
from dit_assistant.store.database import alembic_config
from dit_assistant.store.models import Enquiry, utcnow
from dit_assistant.store.statistics import weekly_statistics
from dit_assistant.store.tally import Tally
from tests.fixtures.dashboard import STAFF_PASSWORD, form_token, signed_in_client
from tests.fixtures.domain import load_domain
from tests.fixtures.store import (
    PERSONAL,
    assert_no_personal_data,
    count_rows,
    draft,
    raw_dump,
    sqlite_down,
)
from tests.fixtures.upgrade import assert_counted_on_upgrade, seed_version_0005

LONDON = ZoneInfo("Europe/London")
SENDERS = ("socketio:9f2c-widget-session", "telegram:5551234", "twilio:+447700900461")


@cache
def bot_domain() -> Domain:
    return load_domain()


def statistic_rows(database) -> str:
    """Every value ``statistic_counts`` holds, as stored."""
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM statistic_counts")).all()
    return "\n".join(str(value) for row in rows for value in row)


def enquiry_figures(stats) -> dict[str, object]:
    """What the statistics say about enquiries, deletions and purges aside."""
    events = dict(stats.enquiry_events)
    return {
        "events": {k: v for k, v in events.items() if k not in ("deleted", "purged")},
        "weeks": [
            (w.starts, w.enquiries, w.priority_enquiries, w.contacted, w.closed)
            for w in stats.weeks
        ],
        "by_channel": {
            row.channel: {k: v for k, v in row.enquiries.items() if k not in ("deleted", "purged")}
            for row in stats.by_channel
        },
        "first_contact": stats.first_contact_waits,
    }


# ---------------------------------------------------------------------------------- enquiries
def test_enquiry_statistics_are_unchanged_after_deletion_and_purge(store_env):
    database = open_database(store_env.database_url)
    first = submit_enquiry(draft(channel="rest", priority=True), database).reference
    second = submit_enquiry(draft(channel="socketio"), database).reference
    third = submit_enquiry(draft(channel="rest"), database).reference
    three_hours_ago = utcnow() - timedelta(hours=3)
    with database.session() as session:
        session.execute(
            update(Enquiry).where(Enquiry.reference == first).values(created_at=three_hours_ago)
        )
    set_status(database, first, "contacted", "alice")
    set_status(database, first, "new", "alice")  # set back by mistake...
    set_status(database, first, "contacted", "alice")  # ...its first contact stays the first
    set_status(database, first, "closed", "alice")
    set_status(database, second, "contacted", "alice")
    set_status(database, third, "closed", "alice")

    before = weekly_statistics(database, weeks=2)
    assert dict(before.enquiry_events) == {
        "received": 3,
        "priority": 1,
        "contacted": 3,
        "closed": 2,
        "reopened": 1,
        "deleted": 0,
        "purged": 0,
    }
    assert before.total_enquiries == 3
    (wait_first, wait_second) = sorted(before.first_contact_waits, reverse=True)
    assert 3 * 3600 - 5 <= wait_first <= 3 * 3600 + 60
    assert wait_second < 60
    rest = next(row for row in before.by_channel if row.channel == "rest")
    assert rest.enquiries["received"] == 2 and rest.enquiries["priority"] == 1

    # The person behind the first asks for their data to be erased; the third's retention ends.
    delete_enquiry(database, first, "alice")
    with database.session() as session:
        session.execute(
            update(Enquiry)
            .where(Enquiry.reference == third)
            .values(status_changed_at=utcnow() - timedelta(days=400))
        )
    assert purge_expired(database, 365) == [third]
    assert count_rows(database, "enquiries") == 1

    after = weekly_statistics(database, weeks=2)
    assert enquiry_figures(after) == enquiry_figures(before)
    assert dict(after.enquiry_events)["deleted"] == 1
    assert dict(after.enquiry_events)["purged"] == 1
    assert after.first_contact_median == before.first_contact_median
    # ...and nothing in them points to anyone: no reference, no personal data.
    stored = statistic_rows(database)
    for reference in (first, second, third):
        assert reference not in stored
    assert_no_personal_data("statistic_counts", stored)


# ------------------------------------------------------------------- counting in the Rasa server
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_conversations_and_typed_messages_are_counted_without_who_or_what(store_env):
    database = open_database(store_env.database_url)
    tally = Tally()
    clock = Clock()
    counter = ConversationCounter(tally, lambda: 60, automatic={"/greet"}, clock=clock)
    widget, telegram, _ = SENDERS
    counter.seen(widget, "socketio", "/greet")  # the widget opening: not the person writing
    counter.seen(widget, "socketio", "how much does DIT cost?")  # a conversation, a message
    counter.seen(widget, "socketio", "/ask_cost")  # a button: same conversation, not typed
    clock.now += 30 * 60
    counter.seen(widget, "socketio", "thanks")  # half an hour later: same conversation
    clock.now += 61 * 60
    counter.seen(widget, "socketio", "hello again")  # after an hour's silence: a new one
    counter.seen(telegram, "telegram", "what is DIT")
    tally.flush(database)

    stats = weekly_statistics(database, weeks=1)
    assert stats.total_conversations == 3
    assert stats.total_messages == 4
    channels = {row.channel: (row.conversations, row.messages) for row in stats.by_channel}
    assert channels == {"socketio": (2, 3), "telegram": (1, 1)}
    stored = statistic_rows(database)
    for secret in (*SENDERS, "9f2c", "5551234", "cost?", "thanks", "hello again"):
        assert secret not in stored
    assert_no_personal_data("statistic_counts", raw_dump(database))


def test_the_counter_forgets_conversations_after_the_silence():
    clock = Clock()
    counter = ConversationCounter(Tally(), lambda: 60, clock=clock)
    for number in range(50):
        counter.seen(f"rest:person-{number}", "rest", "hi")
    assert len(counter) == 50
    clock.now += 61 * 60
    counter.seen("rest:someone-new", "rest", "hi")
    assert len(counter) == 1


def _tracker(channel: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        f"{channel}:abc", [UserUttered("whatever they wrote", input_channel=channel)]
    )


def test_answers_are_counted_by_topic_and_unknown_answers_by_kind(store_env):
    database = open_database(store_env.database_url)
    tally = Tally()
    nlg = ClinicResponseGenerator(domain=bot_domain(), tally=tally)

    async def answer(response: str, channel: str = "socketio") -> None:
        assert await nlg.generate(response, _tracker(channel), channel) is not None

    async def conversation() -> None:
        for response in ("utter_greet", "utter_ask_cost", "utter_ask_cost", "utter_route_eating"):
            await answer(response)
        await answer("utter_ask_cost", "telegram")
        await answer("utter_default")
        await answer("utter_out_of_scope", "telegram")
        # Not topics: a form's question, the enquiry form's messages, a crisis reply.
        for response in ("utter_ask_intake_name", "utter_intake_saved", "utter_crisis"):
            await answer(response)

    asyncio.run(conversation())
    tally.flush(database)
    stats = weekly_statistics(database, weeks=1)
    assert stats.topics == (("ask_cost", 3), ("route_eating", 1))
    assert dict(stats.unknown_by_reply) == {"default": 1, "out_of_scope": 1}
    assert stats.total_unknown_answers == 2
    assert "whatever they wrote" not in statistic_rows(database)


def test_the_message_gate_counts_what_it_lets_through(settings, monkeypatch):
    from dataclasses import replace

    tally = Tally()
    monkeypatch.setattr(guard, "process_tally", lambda: tally)
    received: list[str] = []

    async def bot(message: UserMessage) -> None:
        received.append(message.text or "")

    gate = guard.MessageGate(bot, replace(settings, max_message_chars=50))
    agent = SimpleNamespace(tracker_store=InMemoryTrackerStore(bot_domain()), domain=bot_domain())
    gate._app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))

    def send(text: str) -> None:
        message = UserMessage(text, CollectingOutputChannel(), "person", input_channel="rest")
        asyncio.run(gate(message))

    send("/greet")
    send("what is DIT?")
    send("x" * 51)  # too long: answered by the gate, never read, not counted
    send("and how long does it take?")
    assert received == ["/greet", "what is DIT?", "and how long does it take?"]
    counted = {(key.kind, key.channel): number for key, number in tally.pending().items()}
    assert counted == {("conversation", "rest"): 1, ("message", "rest"): 2}


def test_counts_wait_in_memory_while_the_database_is_down(store_env):
    database = open_database(store_env.database_url)
    tally = Tally()
    tally.add("conversation", channel="socketio")
    with sqlite_down(store_env.database_url), pytest.raises(Exception):  # noqa: B017
        tally.flush(database)
    assert sum(tally.pending().values()) == 1
    tally.add("message", channel="socketio")
    assert tally.flush(database) == 2
    assert tally.pending() == {}

    # The background writer: what is left is written when the server stops.
    tally.start(lambda: database, every_s=3600)
    tally.add("conversation", channel="rest")
    tally.stop()
    assert weekly_statistics(database, weeks=1).total_conversations == 2


def test_weeks_are_the_clinics(store_env):
    store_env.set(CLINIC_TIMEZONE="Europe/London")
    database = open_database(store_env.database_url)
    sunday_night = datetime(2026, 7, 5, 23, 30, tzinfo=timezone.utc)  # Monday 00:30 in London
    tally = Tally(clock=lambda: sunday_night)
    tally.add("conversation", channel="socketio")
    tally.flush(database)
    stats = weekly_statistics(database, weeks=2, now=sunday_night + timedelta(days=2))
    assert [(w.starts, w.conversations) for w in stats.weeks] == [
        (date(2026, 6, 29), 0),
        (date(2026, 7, 6), 1),
    ]


# ----------------------------------------------------------------------------- the dashboard
def csv_rows(client, path: str = "/statistics.csv") -> tuple[list[str], list[dict[str, str]]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True).lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(body))
    return list(reader.fieldnames or []), list(reader)


def test_statistics_page_and_csv_download_hold_no_personal_data(store_env):
    store_env.set(CLINIC_TIMEZONE="Europe/London")
    database = open_database(store_env.database_url)
    accounts.create_user(database, "alice", STAFF_PASSWORD)
    references = [
        submit_enquiry(draft(channel="socketio", priority=True), database).reference,
        submit_enquiry(draft(channel="rest"), database).reference,
    ]
    set_status(database, references[0], "contacted", "alice")
    database.record_safety_event("risk_suicide", "uk-england", "socketio")
    database.record_safety_event("under_18", "uk-england", "socketio")
    tally = Tally()
    for kind, name in (("conversation", ""), ("message", ""), ("message", "")):
        tally.add(kind, name, "socketio")
    tally.add("answer", "ask_cost", "socketio")
    tally.add("unknown_answer", "default", "socketio")
    tally.flush(database)
    client = signed_in_client(database)

    page = client.get("/statistics").get_data(as_text=True)
    for chart in ("conversations-chart", "weekly-chart", "routes-chart", "topics-chart"):
        assert f'id="{chart}"' in page
    assert re.search(r'id="unknown-rate">50\.0%<', page)
    assert "weeks start on Monday in the clinic's time zone, Europe/London" in page
    assert "ask_cost" in page and "risk_suicide" in page and "under_18" in page
    for secret in (*PERSONAL, *references):
        assert secret.lower() not in page.lower()

    columns, rows = csv_rows(client)
    assert columns == [
        "Week starting (Europe/London)",
        "Statistic",
        "Detail",
        "Channel",
        "Value",
    ]
    assert [title.format(zone="Europe/London") for title in STATISTICS_COLUMNS] == columns
    figures = {(r["Statistic"], r["Detail"], r["Channel"]): r["Value"] for r in rows}
    assert figures[("conversations", "", "socketio")] == "1"
    assert figures[("messages", "", "socketio")] == "2"
    assert figures[("answers", "ask_cost", "socketio")] == "1"
    assert figures[("unknown_answers", "default", "socketio")] == "1"
    assert figures[("unknown_answer_rate_percent", "", "")] == "50.0"
    assert figures[("safety_routes", "risk_suicide", "socketio")] == "1"
    assert figures[("enquiries", "received", "socketio")] == "1"
    assert figures[("enquiries", "priority", "socketio")] == "1"
    assert figures[("enquiries", "contacted", "socketio")] == "1"
    assert figures[("first_contacts", "", "socketio")] == "1"
    assert "first_contact_median_hours" in {r["Statistic"] for r in rows}
    download = "\n".join(",".join(r.values()) for r in rows)
    for secret in (*PERSONAL, *references, *SENDERS):
        assert secret.lower() not in download.lower()

    # Deleting an enquiry on request (through the dashboard) changes none of the figures but
    # the count of deletions.
    token = form_token(client, f"/enquiries/{references[0]}/delete")
    deleted = client.post(
        f"/enquiries/{references[0]}/delete", data={"confirm": "yes", "csrf_token": token}
    )
    assert deleted.status_code == 302
    _, after = csv_rows(client)
    figures_after = {(r["Statistic"], r["Detail"], r["Channel"]): r["Value"] for r in after}
    assert figures_after.pop(("enquiries", "deleted", "socketio")) == "1"
    assert figures_after == figures


def test_the_period_can_be_chosen(store_env):
    database = open_database(store_env.database_url)
    accounts.create_user(database, "alice", STAFF_PASSWORD)
    client = signed_in_client(database)
    assert "The last 4 weeks" in client.get("/statistics?weeks=4").get_data(as_text=True)
    assert "The last 12 weeks" in client.get("/statistics?weeks=999").get_data(as_text=True)
    response = client.get("/statistics.csv?weeks=52")
    this_week = weekly_statistics(database, weeks=1).weeks[0].starts
    first_week = this_week - timedelta(weeks=51)
    assert (
        f"statistics-{first_week:%Y%m%d}-{this_week:%Y%m%d}.csv"
        in (response.headers["Content-Disposition"])
    )
    stranger = create_app(get_settings(), database).test_client()
    assert stranger.get("/statistics.csv").status_code == 302  # only for signed-in staff


# ------------------------------------------------------------------------------- the upgrade
def test_the_upgrade_counts_the_enquiries_a_database_already_holds(store_env, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    seed_version_0005(url)
    assert_counted_on_upgrade(open_database(url))  # migrates to the latest version
    command.downgrade(alembic_config(url), "0005")
    command.upgrade(alembic_config(url), "head")
