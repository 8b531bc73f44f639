"""Counts for the staff statistics page: no personal data goes in or comes out.

Only timestamps, channels and safety routes are read, and grouping happens here rather than in
SQL so SQLite and PostgreSQL give the same weeks (ISO weeks, Monday to Sunday, UTC). Enquiries
deleted on request or purged no longer count: the statistics cannot outlive the data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from dit_assistant.store.database import Database
from dit_assistant.store.models import Enquiry, SafetyEvent, utcnow


@dataclass(frozen=True)
class Week:
    starts: date
    enquiries: int
    priority_enquiries: int
    safety_routes: int

    @property
    def label(self) -> str:
        return self.starts.strftime("%d %b")


@dataclass(frozen=True)
class Statistics:
    weeks: tuple[Week, ...]
    by_channel: tuple[tuple[str, int], ...]
    safety_by_route: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]

    @property
    def total_enquiries(self) -> int:
        return sum(w.enquiries for w in self.weeks)

    @property
    def total_safety_routes(self) -> int:
        return sum(w.safety_routes for w in self.weeks)


def week_start(moment: datetime) -> date:
    day = moment.astimezone(timezone.utc).date()
    return day - timedelta(days=day.weekday())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def weekly_statistics(
    database: Database, weeks: int = 12, now: datetime | None = None
) -> Statistics:
    """The last ``weeks`` weeks, this one included, oldest first."""
    current = week_start(now or utcnow())
    starts = [current - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = datetime.combine(starts[0], time.min, tzinfo=timezone.utc)
    with database.session() as session:
        enquiries = session.execute(
            select(Enquiry.created_at, Enquiry.channel, Enquiry.priority, Enquiry.status).where(
                Enquiry.created_at >= since
            )
        ).all()
        safety = session.execute(
            select(SafetyEvent.occurred_at, SafetyEvent.route).where(
                SafetyEvent.occurred_at >= since
            )
        ).all()
    per_week = Counter(week_start(_aware(row.created_at)) for row in enquiries)
    priority_per_week = Counter(
        week_start(_aware(row.created_at)) for row in enquiries if row.priority
    )
    safety_per_week = Counter(week_start(_aware(row.occurred_at)) for row in safety)
    return Statistics(
        weeks=tuple(
            Week(s, per_week.get(s, 0), priority_per_week.get(s, 0), safety_per_week.get(s, 0))
            for s in starts
        ),
        by_channel=tuple(Counter(row.channel for row in enquiries).most_common()),
        safety_by_route=tuple(Counter(row.route for row in safety).most_common()),
        by_status=tuple(Counter(row.status for row in enquiries).most_common()),
    )
