"""The staff statistics: counts kept when things happened, never personal data.

Read from ``statistic_counts`` (conversations, typed messages, answers given, "I don't have an
answer" replies, enquiry events, waits for a first contact; see ``store/tally.py``) and
``safety_events`` (one row per safety route), never from the enquiries themselves: an enquiry
deleted on request or purged at the end of its retention period stays in the figures it was
counted in. Only kinds, names of answers, channels, times and numbers are read.

Weeks are the clinic's (Monday to Sunday in its time zone, ``timezone`` in
``config/clinic.yml``); grouping happens here rather than in SQL so SQLite and PostgreSQL give
the same weeks.
"""

from __future__ import annotations

import statistics as maths
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import select

from dit_assistant.clinic_time import day_start, week_start, zone_name
from dit_assistant.settings import get_settings
from dit_assistant.store.database import Database
from dit_assistant.store.models import SafetyEvent, StatisticCount, utcnow

MAX_WEEKS = 104
ENQUIRY_EVENTS = ("received", "priority", "contacted", "closed", "reopened", "deleted", "purged")
"""What happens to enquiries, in the order staff read it: ``priority`` counts the received ones
whose conversation included a safety route, ``reopened`` those set back to new, ``deleted``
those erased on request and ``purged`` those deleted at the end of the retention period."""


@dataclass(frozen=True)
class Week:
    starts: date
    conversations: int = 0
    messages: int = 0
    unknown_answers: int = 0
    enquiries: int = 0
    priority_enquiries: int = 0
    contacted: int = 0
    closed: int = 0
    safety_routes: int = 0
    safety_by_route: dict[str, int] = field(default_factory=dict)
    first_contact_waits: tuple[int, ...] = ()
    """Seconds each enquiry first contacted in this week had waited since it was received."""

    @property
    def label(self) -> str:
        return self.starts.strftime("%d %b")

    @property
    def unknown_rate(self) -> float | None:
        """Share of typed messages that got "I don't have an answer", or None without any."""
        return self.unknown_answers / self.messages if self.messages else None

    @property
    def first_contact_median(self) -> timedelta | None:
        return _median(self.first_contact_waits)


@dataclass(frozen=True)
class ChannelRow:
    """One channel over the whole period."""

    channel: str
    conversations: int
    messages: int
    unknown_answers: int
    enquiries: dict[str, int]
    safety_routes: int


@dataclass(frozen=True)
class Cell:
    """One figure of the CSV download: a statistic, for one week and channel."""

    week: date
    statistic: str
    detail: str
    channel: str
    value: float | int


@dataclass(frozen=True)
class Statistics:
    zone: str
    weeks: tuple[Week, ...]
    by_channel: tuple[ChannelRow, ...]
    topics: tuple[tuple[str, int], ...]
    unknown_by_reply: tuple[tuple[str, int], ...]
    safety_by_route: tuple[tuple[str, int], ...]
    enquiry_events: tuple[tuple[str, int], ...]
    cells: tuple[Cell, ...]

    @property
    def total_conversations(self) -> int:
        return sum(w.conversations for w in self.weeks)

    @property
    def total_messages(self) -> int:
        return sum(w.messages for w in self.weeks)

    @property
    def total_unknown_answers(self) -> int:
        return sum(w.unknown_answers for w in self.weeks)

    @property
    def unknown_rate(self) -> float | None:
        messages = self.total_messages
        return self.total_unknown_answers / messages if messages else None

    @property
    def total_enquiries(self) -> int:
        return sum(w.enquiries for w in self.weeks)

    @property
    def total_safety_routes(self) -> int:
        return sum(w.safety_routes for w in self.weeks)

    @property
    def routes(self) -> tuple[str, ...]:
        """The kinds of safety route seen in the period, most frequent first."""
        return tuple(route for route, _ in self.safety_by_route)

    @property
    def first_contact_waits(self) -> tuple[int, ...]:
        return tuple(wait for w in self.weeks for wait in w.first_contact_waits)

    @property
    def first_contact_median(self) -> timedelta | None:
        return _median(self.first_contact_waits)

    @property
    def first_contact_longest(self) -> timedelta | None:
        waits = self.first_contact_waits
        return timedelta(seconds=max(waits)) if waits else None


def _median(waits: Iterable[int]) -> timedelta | None:
    values = list(waits)
    return timedelta(seconds=maths.median(values)) if values else None


def weekly_statistics(
    database: Database,
    weeks: int = 12,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> Statistics:
    """The last ``weeks`` weeks of the clinic (1 to ``MAX_WEEKS``), this one included, oldest
    first."""
    weeks = max(1, min(MAX_WEEKS, weeks))
    zone = zone or get_settings().zone
    current = week_start(now or utcnow(), zone)
    starts = [current - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = day_start(starts[0], zone)
    with database.session() as session:
        counted = session.execute(
            select(
                StatisticCount.period_start,
                StatisticCount.kind,
                StatisticCount.name,
                StatisticCount.channel,
                StatisticCount.count,
                StatisticCount.seconds,
            ).where(StatisticCount.period_start >= since)
        ).all()
        safety = session.execute(
            select(SafetyEvent.occurred_at, SafetyEvent.route, SafetyEvent.channel).where(
                SafetyEvent.occurred_at >= since
            )
        ).all()

    in_period = set(starts)
    # (week, kind, name, channel) -> count; safety routes as the kind "safety_route".
    counts: Counter[tuple[date, str, str, str]] = Counter()
    waits: dict[tuple[date, str], list[int]] = defaultdict(list)
    for row in counted:
        week = week_start(row.period_start, zone)
        if week not in in_period:
            continue
        counts[(week, row.kind, row.name, row.channel)] += row.count
        if row.kind == "first_contact" and row.seconds is not None:
            waits[(week, row.channel)].append(row.seconds)
    for event in safety:
        week = week_start(event.occurred_at, zone)
        if week in in_period:
            counts[(week, "safety_route", event.route, event.channel)] += 1
    return _statistics(zone, starts, counts, waits)


def _statistics(
    zone: tzinfo,
    starts: list[date],
    counts: Counter[tuple[date, str, str, str]],
    waits: dict[tuple[date, str], list[int]],
) -> Statistics:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)  # kind -> name -> count
    per_week: dict[date, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    per_channel: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for (week, kind, name, channel), number in counts.items():
        by_kind[kind][name] += number
        per_week[week][kind][name] += number
        per_channel[channel][kind][name] += number

    def week_of(starts_on: date) -> Week:
        kinds = per_week[starts_on]
        enquiries = kinds["enquiry"]
        return Week(
            starts=starts_on,
            conversations=sum(kinds["conversation"].values()),
            messages=sum(kinds["message"].values()),
            unknown_answers=sum(kinds["unknown_answer"].values()),
            enquiries=enquiries["received"],
            priority_enquiries=enquiries["priority"],
            contacted=enquiries["contacted"],
            closed=enquiries["closed"],
            safety_routes=sum(kinds["safety_route"].values()),
            safety_by_route=dict(kinds["safety_route"].most_common()),
            first_contact_waits=tuple(
                sorted(w for (on, _), values in waits.items() if on == starts_on for w in values)
            ),
        )

    def activity(channel: str) -> int:
        return sum(sum(names.values()) for names in per_channel[channel].values())

    channels = sorted(per_channel, key=lambda channel: (-activity(channel), channel))
    by_channel = tuple(
        ChannelRow(
            channel=channel,
            conversations=sum(per_channel[channel]["conversation"].values()),
            messages=sum(per_channel[channel]["message"].values()),
            unknown_answers=sum(per_channel[channel]["unknown_answer"].values()),
            enquiries={event: per_channel[channel]["enquiry"][event] for event in ENQUIRY_EVENTS},
            safety_routes=sum(per_channel[channel]["safety_route"].values()),
        )
        for channel in channels
    )
    weeks = tuple(week_of(s) for s in starts)
    return Statistics(
        zone=zone_name(zone),
        weeks=weeks,
        by_channel=by_channel,
        topics=tuple(sorted(by_kind["answer"].items(), key=lambda item: (-item[1], item[0]))),
        unknown_by_reply=tuple(by_kind["unknown_answer"].most_common()),
        safety_by_route=tuple(by_kind["safety_route"].most_common()),
        enquiry_events=tuple((event, by_kind["enquiry"][event]) for event in ENQUIRY_EVENTS),
        cells=_cells(counts, waits, weeks),
    )


CSV_STATISTICS = {
    "conversation": "conversations",
    "message": "messages",
    "answer": "answers",
    "unknown_answer": "unknown_answers",
    "safety_route": "safety_routes",
    "enquiry": "enquiries",
    "first_contact": "first_contacts",
}
"""The statistic names of the CSV download, by the kind they are counted as."""


def _cells(
    counts: Counter[tuple[date, str, str, str]],
    waits: dict[tuple[date, str], list[int]],
    weeks: tuple[Week, ...],
) -> tuple[Cell, ...]:
    """Every counted figure by week, statistic, detail and channel; then, for each week and all
    channels together, the unknown-answer rate and the median wait for a first contact."""
    cells = [
        Cell(week, CSV_STATISTICS[kind], name, channel, number)
        for (week, kind, name, channel), number in counts.items()
        if number and kind in CSV_STATISTICS
    ]
    for week in weeks:
        if week.unknown_rate is not None:
            rate = round(100 * week.unknown_rate, 1)
            cells.append(Cell(week.starts, "unknown_answer_rate_percent", "", "", rate))
        median = week.first_contact_median
        if median is not None:
            hours = round(median.total_seconds() / 3600, 1)
            cells.append(Cell(week.starts, "first_contact_median_hours", "", "", hours))
    return tuple(sorted(cells, key=lambda c: (c.week, c.statistic, c.detail, c.channel)))
