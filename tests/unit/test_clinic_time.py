"""Times are stored in UTC and shown to staff in the clinic's time zone, everywhere they read one:
the dashboard's pages, its CSV export, ``dit-staff``'s listings and its filters by day.

The dashboard is the real app with Flask's test client, ``dit-staff`` runs in process, both on a
real SQLite store. The clinic is in Europe/London: in summer a time stored as 23:30 UTC is
00:30 the next day there (BST), in winter the same as UTC (GMT).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from dit_assistant.clinic_time import (
    LONG,
    SPREADSHEET,
    clinic_time,
    day_start,
    hour_start,
    week_start,
)
from dit_assistant.staff.cli import cli
from dit_assistant.store import accounts, add_note, open_database, submit_enquiry
from dit_assistant.store.models import Enquiry, EnquiryNote
from tests.fixtures.dashboard import STAFF_PASSWORD, signed_in_client
from tests.fixtures.store import draft

LONDON = ZoneInfo("Europe/London")
SUMMER_NIGHT = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # 00:30 BST on 1 July


@pytest.mark.parametrize(
    ("moment", "style", "shown"),
    [
        (SUMMER_NIGHT, "short", "2026-07-01 00:30 BST"),
        (SUMMER_NIGHT, LONG, "Wednesday 1 July 2026, 00:30 BST"),
        (SUMMER_NIGHT, SPREADSHEET, "2026-07-01 00:30:00"),
        (datetime(2026, 1, 15, 23, 30, tzinfo=timezone.utc), "short", "2026-01-15 23:30 GMT"),
        (datetime(2026, 6, 30, 23, 30), "short", "2026-07-01 00:30 BST"),  # naive: UTC
        (None, "short", ""),
    ],
)
def test_a_stored_time_is_shown_in_the_clinic_zone(moment, style, shown):
    assert clinic_time(moment, LONDON, style) == shown


def test_days_weeks_and_hours_are_the_clinics():
    assert day_start(date(2026, 7, 1), LONDON) == datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)
    # Sunday 23:30 UTC is already Monday in London in summer: a new week there.
    sunday_night = datetime(2026, 7, 5, 23, 30, tzinfo=timezone.utc)
    assert week_start(sunday_night, LONDON) == date(2026, 7, 6)
    assert week_start(sunday_night, timezone.utc) == date(2026, 6, 29)
    # An hour of a zone half an hour off UTC starts at half past in UTC.
    kolkata = ZoneInfo("Asia/Kolkata")
    moment = datetime(2026, 7, 5, 18, 40, tzinfo=timezone.utc)  # 00:10 on Monday there
    assert hour_start(moment, kolkata) == datetime(2026, 7, 5, 18, 30, tzinfo=timezone.utc)
    assert week_start(hour_start(moment, kolkata), kolkata) == date(2026, 7, 6)


@pytest.fixture()
def stored(store_env):
    """One enquiry received at 23:30 UTC on 30 June 2026, with a note written then too."""
    store_env.set(CLINIC_TIMEZONE="Europe/London")
    database = open_database(store_env.database_url)
    reference = submit_enquiry(draft(channel="rest"), database).reference
    add_note(database, reference, "Rang back", "alice")
    with database.session() as session:
        session.execute(
            update(Enquiry)
            .where(Enquiry.reference == reference)
            .values(
                created_at=SUMMER_NIGHT,
                updated_at=SUMMER_NIGHT,
                status_changed_at=SUMMER_NIGHT,
                consent_at=SUMMER_NIGHT,
            )
        )
        session.execute(update(EnquiryNote).values(created_at=SUMMER_NIGHT))
    accounts.create_user(database, "alice", STAFF_PASSWORD)
    return database, reference


def test_dashboard_pages_show_times_in_the_clinic_zone(stored):
    database, reference = stored
    client = signed_in_client(database)

    listed = client.get("/enquiries").get_data(as_text=True)
    assert "2026-07-01 00:30 BST" in listed
    assert "23:30" not in listed and "UTC" not in listed
    assert "Europe/London" in listed

    detail = client.get(f"/enquiries/{reference}").get_data(as_text=True)
    assert detail.count("2026-07-01 00:30 BST") == 5  # status, received, consent, updated, note
    assert "UTC" not in detail

    confirm = client.get(f"/enquiries/{reference}/delete").get_data(as_text=True)
    assert "received 2026-07-01 00:30 BST" in confirm


def test_dashboard_date_filters_are_clinic_days(stored):
    database, reference = stored
    client = signed_in_client(database)
    that_day = client.get("/enquiries?from=2026-07-01&to=2026-07-01").get_data(as_text=True)
    assert reference in that_day
    assert reference not in client.get("/enquiries?to=2026-06-30").get_data(as_text=True)


def test_the_csv_export_gives_times_in_the_clinic_zone(stored):
    database, reference = stored
    client = signed_in_client(database)
    response = client.get("/export.csv?from=2026-07-01")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["Reference"] for row in rows] == [reference]
    row = rows[0]
    assert row["Received (Europe/London)"] == "2026-07-01 00:30:00"
    assert row["Status changed (Europe/London)"] == "2026-07-01 00:30:00"
    assert row["Consent given (Europe/London)"] == "2026-07-01 00:30:00"
    assert row["Staff notes"] == "2026-07-01 00:30 BST alice: Rang back"
    assert not any("UTC" in title for title in rows[0])


def test_dit_staff_shows_times_in_the_clinic_zone(stored):
    database, reference = stored
    runner = CliRunner()

    listed = runner.invoke(cli, ["list", "--since", "2026-07-01"])
    assert listed.exit_code == 0, listed.output
    assert reference in listed.output and "2026-07-01 00:30 BST" in listed.output
    before = runner.invoke(cli, ["list", "--until", "2026-06-30"])
    assert reference not in before.output

    shown = runner.invoke(cli, ["show", reference])
    assert shown.exit_code == 0, shown.output
    assert "Received:    2026-07-01 00:30 BST via rest" in shown.output
    assert "Note 2026-07-01 00:30 BST alice: Rang back" in shown.output
    assert "UTC" not in shown.output

    audited = runner.invoke(cli, ["audit"])
    assert audited.exit_code == 0, audited.output
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d (BST|GMT)  viewed", audited.output, re.M)
