"""CSV cells for staff: nothing a spreadsheet would run as a formula, readable dates and flags."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dit_assistant.staff.export import safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://example.invalid","x")', '\'=HYPERLINK("http://example.invalid","x")'),
        ("+447700900123", "'+447700900123"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("  =1+1", "'  =1+1"),  # leading spaces do not hide a formula
        ("\u00a0=1+1", "'\u00a0=1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("weekday mornings", "weekday mornings"),
        ("1+1", "1+1"),
        ("", ""),
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (datetime(2026, 11, 20, 9, 30, 5, tzinfo=timezone.utc), "2026-11-20 09:30:05"),
        (42, "42"),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell
