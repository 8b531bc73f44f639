"""Times as staff read them: stored in UTC, shown in the clinic's time zone.

The store keeps every time in UTC (``store.models.UTCDateTime``). Everything staff read (the
dashboard's pages, the CSV exports, ``dit-staff``'s listings and the notices sent to staff)
shows it in the clinic's zone, ``timezone`` in ``config/clinic.yml`` (``Settings.zone``), through
the functions here, and the days staff type in a filter are days of that zone too. A naive value
is read as UTC, which is what the store holds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

SHORT = "short"
"""``2026-03-03 14:05 GMT``: lists, tables and the command line."""
LONG = "long"
"""``Tuesday 3 March 2026, 14:05 GMT``: a sentence a person reads, as in an email."""
SPREADSHEET = "spreadsheet"
"""``2026-03-03 14:05:00``: a CSV cell a spreadsheet reads as a date (the zone is in the header)."""


def zone_name(zone: tzinfo) -> str:
    """``Europe/London``: the zone as configured, for headings and column titles."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` (aware, or naive UTC) as the clinic's wall-clock time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone)


def clinic_time(moment: datetime | None, zone: tzinfo, style: str = SHORT) -> str:
    """A stored time as staff read it, in the clinic's zone; "" for no time."""
    if moment is None:
        return ""
    local = in_zone(moment, zone)
    if style == LONG:
        return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()}"
    if style == SPREADSHEET:
        return f"{local:%Y-%m-%d %H:%M:%S}"
    if style == SHORT:
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    raise ValueError(f"unknown style {style!r}")


def clinic_date(moment: datetime, zone: tzinfo) -> date:
    """The clinic's calendar day at ``moment``."""
    return in_zone(moment, zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """When the clinic's ``day`` begins, in UTC (what the store compares with)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def week_start(moment: datetime, zone: tzinfo) -> date:
    """The Monday of the clinic's week holding ``moment``."""
    day = clinic_date(moment, zone)
    return day - timedelta(days=day.weekday())


def hour_start(moment: datetime, zone: tzinfo) -> datetime:
    """The start of the clinic's hour holding ``moment``, in UTC.

    Counts kept per hour then fall in the right clinic day and week even in a zone whose offset
    is not a whole number of hours.
    """
    local = in_zone(moment, zone)
    into_hour = timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    return local.astimezone(timezone.utc) - into_hour
