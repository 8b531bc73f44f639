"""CSV exports: the enquiries, decrypted, and the statistics; safe to open in a spreadsheet.

Names and free text are typed by the public. A cell such as ``=HYPERLINK(...)`` or
``+cmd|' /C calc'!A0`` would run as a formula in Excel or LibreOffice, so every cell that a
spreadsheet could read as a formula is prefixed with an apostrophe, which spreadsheets show as
text (OWASP's advice on CSV injection). Phone numbers in E.164 start with ``+`` and get the
prefix too: they then stay text, which is also what keeps their leading ``+``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timezone, tzinfo

from dit_assistant.clinic_time import SPREADSHEET, clinic_time, zone_name
from dit_assistant.store.management import EnquiryRecord
from dit_assistant.store.statistics import Statistics

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

COLUMNS = (
    ("reference", "Reference"),
    ("created_at", "Received ({zone})"),
    ("status", "Status"),
    ("status_changed_at", "Status changed ({zone})"),
    ("priority", "Priority (safety route)"),
    ("channel", "Channel"),
    ("preferred_name", "Preferred name"),
    ("contact_method", "Contact by"),
    ("contact_detail", "Contact detail"),
    ("best_times", "Best times"),
    ("help_with", "Would like help with"),
    ("consent_at", "Consent given ({zone})"),
    ("privacy_notice_version", "Privacy notice version"),
    ("notes", "Staff notes"),
)


def safe_cell(value: object, zone: tzinfo = timezone.utc) -> str:
    """``value`` as text that no spreadsheet will evaluate; a time in ``zone``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return clinic_time(value, zone, SPREADSHEET)
    text = str(value)
    stripped = text.lstrip(" \u00a0")
    if text.startswith(FORMULA_STARTS) or stripped.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _notes(record: EnquiryRecord, zone: tzinfo) -> str:
    return "\n".join(
        f"{clinic_time(note.created_at, zone)} {note.author}: {note.text}" for note in record.notes
    )


def write_csv(
    records: Iterable[EnquiryRecord], stream: io.TextIOBase, zone: tzinfo = timezone.utc
) -> int:
    """Write a header and one row per record, times in ``zone``; returns the number of rows."""
    writer = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([title.format(zone=zone_name(zone)) for _, title in COLUMNS])
    count = 0
    for record in records:
        values = {name: getattr(record, name, None) for name, _ in COLUMNS}
        values["notes"] = _notes(record, zone)
        writer.writerow([safe_cell(values[name], zone) for name, _ in COLUMNS])
        count += 1
    return count


def csv_text(records: Iterable[EnquiryRecord], zone: tzinfo = timezone.utc) -> tuple[str, int]:
    """The whole export as text with a byte-order mark, which Excel needs to read UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    count = write_csv(records, buffer, zone)
    return buffer.getvalue(), count


STATISTICS_COLUMNS = ("Week starting ({zone})", "Statistic", "Detail", "Channel", "Value")


def statistics_csv(stats: Statistics) -> str:
    """The statistics' figures, one per row: counts, rates and waits by week, never personal data.

    ``Statistic`` is one of ``conversations``, ``messages`` (typed by people),
    ``answers`` (``Detail``: which answer), ``unknown_answers`` (``default`` or
    ``out_of_scope``), ``safety_routes`` (the route), ``enquiries`` (received, priority,
    contacted, closed, reopened, deleted, purged), ``first_contacts``, and for each week over
    all channels (``Channel`` empty) ``unknown_answer_rate_percent`` and
    ``first_contact_median_hours``.
    """
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([title.format(zone=stats.zone) for title in STATISTICS_COLUMNS])
    for cell in stats.cells:
        writer.writerow(
            [
                cell.week.isoformat(),
                safe_cell(cell.statistic),
                safe_cell(cell.detail),
                safe_cell(cell.channel),
                cell.value,
            ]
        )
    return buffer.getvalue()
