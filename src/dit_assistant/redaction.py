"""Removing contact details and other numbers from a message before it is kept for staff.

Questions the assistant could not answer are kept so the clinic can write new content, but people
often type their email address, phone number or postcode into a chat ("call me on 07700 900123").
Those are replaced with a bracketed word before anything is stored, so the list staff review
shows what was asked, not who asked it. The patterns err on the side of removing too much: a date
written as 2026-05-12 is removed like a phone number, which costs a reviewer nothing.

Names cannot be recognised reliably in free text and are not removed; the stored text is
encrypted like enquiries for that reason.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[phone]"
POSTCODE = "[postcode]"
NUMBER = "[number]"

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Full UK postcodes (outward and inward code), with or without the space: "SW1A 1AA", "m1 1ae".
_POSTCODE = re.compile(
    r"\b(?:GIR\s*0AA|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b",
    re.IGNORECASE,
)
# Anything that looks like a phone number: an optional + or 00, digits grouped by spaces, dots,
# dashes or brackets. Kept only if it holds at least MIN_PHONE_DIGITS digits (see _phone).
_PHONE_LIKE = re.compile(r"(?:\+|\b00)?\(?\d[\d\s().\-/]*\d\)?")
MIN_PHONE_DIGITS = 7
# Any remaining run of five or more digits: account, NHS, reference or card numbers.
_DIGIT_RUN = re.compile(r"\d{5,}")
_SPACES = re.compile(r"[ \t]+")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(character.isdigit() for character in text)
    return PHONE if digits >= MIN_PHONE_DIGITS else text


def scrub(text: str) -> str:
    """``text`` with email addresses, phone numbers, UK postcodes and runs of 5+ digits replaced.

    Emails go first (they may contain digits), postcodes before phone numbers (an inward code
    begins with a digit), and the digit runs last, catching what the phone pattern left.
    """
    text = _EMAIL.sub(EMAIL, text)
    text = _POSTCODE.sub(POSTCODE, text)
    text = _PHONE_LIKE.sub(_phone, text)
    text = _DIGIT_RUN.sub(NUMBER, text)
    return _SPACES.sub(" ", text).strip()
