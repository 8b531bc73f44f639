"""Contact details and long numbers are removed before an unanswered question is kept."""

from __future__ import annotations

import re

import pytest

from dit_assistant.redaction import scrub


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("email me at jo.bloggs+dit@example.co.uk please", "email me at [email] please"),
        ("my email is O'Neil_99@mail.example.org.", "my email is [email]."),
        ("JANE@EXAMPLE.COM can I bring my dog", "[email] can I bring my dog"),
    ],
)
def test_email_addresses_are_removed(message, expected):
    assert scrub(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("call me on 07700 900123", "call me on [phone]"),
        ("my mobile is 07700900123 ok", "my mobile is [phone] ok"),
        ("ring +44 7700 900123 after 6", "ring [phone] after 6"),
        ("+44 (0)20 7946 0018 is my work line", "[phone] is my work line"),
        ("landline (020) 7946 0018", "landline [phone]"),
        ("0161-496-0000 any time", "[phone] any time"),
        ("0044 161 496 0000", "[phone]"),
        ("my US cell is +1 (555) 123-4567", "my US cell is [phone]"),
        ("in France +33 1 23 45 67 89", "in France [phone]"),
        ("call 020.7946.0018", "call [phone]"),
    ],
)
def test_phone_numbers_uk_and_international_are_removed(message, expected):
    assert scrub(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I live at SW1A 1AA, is that near?", "I live at [postcode], is that near?"),
        ("postcode m1 1ae", "postcode [postcode]"),
        ("EC1A1BB is where I work", "[postcode] is where I work"),
        ("is B33 8TH close to you", "is [postcode] close to you"),
        ("CR2 6XH", "[postcode]"),
        ("DN55 1PT or W1A 0AX", "[postcode] or [postcode]"),
    ],
)
def test_uk_postcodes_are_removed(message, expected):
    assert scrub(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my NHS number is 943 476 5919", "my NHS number is [phone]"),
        ("reference 12345", "reference [number]"),
        ("card 4111111111111111", "card [phone]"),
        ("order A123456B", "order A[number]B"),
    ],
)
def test_long_digit_runs_are_removed(message, expected):
    assert scrub(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "can I bring my dog to the sessions?",
        "is there parking for 2 cars",
        "do you see people aged 65 or over",
        "what happens after 16 sessions",
        "is it £60 - 80 a session",
        "open 9-5?",
        "1234 is my door code",
        "I take B12 and vitamin D, is that ok",
        "do you work near the M25",
    ],
)
def test_ordinary_words_and_short_numbers_are_kept(message):
    assert scrub(message) == message


def test_several_details_in_one_message_are_all_removed():
    message = "I'm at N1 9GU, jo@example.org or 07700 900461, member no 889977"
    scrubbed = scrub(message)
    assert scrubbed == "I'm at [postcode], [email] or [phone], member no [number]"
    assert not re.search(r"\d{5}", scrubbed)


def test_spacing_is_tidied_and_nothing_becomes_empty_by_accident():
    assert scrub("  call   me  ") == "call me"
    assert scrub("") == ""
