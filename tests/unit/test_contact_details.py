"""Reading what people type into the enquiry form (src/dit_assistant/contact_details.py): contact
methods in their own words, phone numbers in E.164 for the clinic's country, email addresses,
names, free text and "skip"."""

from __future__ import annotations

import pytest

from dit_assistant.contact_details import (
    MAX_NAME_LENGTH,
    can_receive_texts,
    clean_text,
    is_skip,
    normalise_email,
    normalise_free_text,
    normalise_name,
    normalise_phone,
    parse_contact_method,
)


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  weekday   mornings ", "weekday mornings"),
        ("line one\nline two\ttab", "line one line two tab"),
        ("no\x00control\x1bcharacters", "no control characters"),
        ("Cafe\u0301", "Café"),  # combining accent composed (NFC)
        ("Zoë 李雷", "Zoë 李雷"),  # letters of every script are kept
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(text, cleaned):
    assert clean_text(text) == cleaned


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("phone", "phone"),
        ("EMAIL", "email"),
        ("text", "text"),
        ("by email please", "email"),
        ("e-mail", "email"),
        ("send it to my gmail", "email"),
        ("give me a call", "phone"),
        ("ring me", "phone"),
        ("my mobile", "phone"),
        ("sms", "text"),
        ("a txt is best", "text"),
        ("WhatsApp", "text"),
        ("message me", "text"),
        ("text me on my phone", "text"),  # names both: the verb decides
        ("call or email", None),  # two methods: ask again
        ("carrier pigeon", None),
        ("texts please", None),  # whole words only
        ("", None),
        (None, None),
    ],
)
def test_parse_contact_method(text, method):
    assert parse_contact_method(text) == method


@pytest.mark.parametrize(
    ("text", "country", "e164"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("07911123456", "GB", "+447911123456"),
        ("+44 7911 123456", "GB", "+447911123456"),
        ("+44 (0)7911 123456", "GB", "+447911123456"),
        ("(020) 7946 0000", "GB", "+442079460000"),
        ("0161 496 0999", "GB", "+441614960999"),
        ("+1 202 555 0143", "GB", "+12025550143"),  # a +code wins over the clinic's country
        ("(202) 555-0143", "US", "+12025550143"),
        ("0412 345 678", "AU", "+61412345678"),
        ("087 123 4567", "IE", "+353871234567"),
    ],
)
def test_valid_phone_numbers_are_stored_in_e164(text, country, e164):
    assert normalise_phone(text, country) == e164


@pytest.mark.parametrize(
    "text",
    [
        "12345",
        "0791 12",
        "07911 123456 ext",
        "call me on oh seven nine",
        "1" * 41,  # longer than any number anyone types
        "",
        None,
    ],
)
def test_invalid_phone_numbers_are_refused(text):
    assert normalise_phone(text, "GB") is None


@pytest.mark.parametrize(
    ("e164", "texts"),
    [
        ("+447911123456", True),  # UK mobile
        ("+442079460000", False),  # London landline
        ("+441614960999", False),  # Manchester landline
        ("+61412345678", True),  # Australian mobile
        ("+12025550143", True),  # US numbers do not say: given the benefit of the doubt
    ],
)
def test_only_certain_landlines_are_refused_for_texts(e164, texts):
    assert can_receive_texts(e164) is texts


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("sam@example.org", "sam@example.org"),
        ("Sam.Example@Example.ORG", "Sam.Example@example.org"),  # only the domain is lowered
        ("  sam@example.org  ", "sam@example.org"),
        ("my email is sam@example.org", "sam@example.org"),
        ("it's (sam@example.org).", "sam@example.org"),
    ],
)
def test_valid_email_addresses(text, address):
    assert normalise_email(text) == address


@pytest.mark.parametrize(
    "text",
    [
        "sam@",
        "@example.org",
        "sam at example dot org",
        "sam@example..org",
        "sam@example.org or jo@example.org",  # which one?
        "a" * 250 + "@example.org",
        "",
        None,
    ],
)
def test_invalid_email_addresses(text):
    assert normalise_email(text) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sam", "Sam"),
        ("  Sam   Smith  ", "Sam Smith"),
        ("my name is Priya", "Priya"),
        ("My names Jo", "Jo"),
        ("I'm Jo", "Jo"),
        ("im Jo", "Jo"),
        ("I am Alex", "Alex"),
        ("call me Alex Smith", "Alex Smith"),
        ("It's Mohammed.", "Mohammed"),
        ("Sam!", "Sam"),
        ("O'Brien", "O'Brien"),
        ("Mary-Jane", "Mary-Jane"),
        ("Zoë", "Zoë"),
        ("李雷", "李雷"),
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
    ],
)
def test_names(text, name):
    assert normalise_name(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "<b>Sam</b>",
        "sam@example.org",
        "{name}",
        "50% off",
        "12345",
        "...",
        "x" * (MAX_NAME_LENGTH + 1),
        "",
        None,
    ],
)
def test_what_cannot_be_a_name(text):
    assert normalise_name(text) is None


@pytest.mark.parametrize(
    ("text", "limit", "value"),
    [
        ("  weekday   mornings ", 200, "weekday mornings"),
        ("x" * 200, 200, "x" * 200),
        ("x" * 201, 200, None),
        ("", 200, None),
        ("\x00\x01", 200, None),
        (None, 200, None),
    ],
)
def test_free_text(text, limit, value):
    assert normalise_free_text(text, limit) == value


@pytest.mark.parametrize(
    ("text", "skipped"),
    [
        ("skip", True),
        ("Skip.", True),
        ("skip this one", True),
        ("next question", True),
        ("no", True),
        ("no thanks", True),
        ("nothing!", True),
        ("n/a", True),
        ("-", True),
        ("I'd rather not", True),
        ("prefer not to say", True),
        ("rather not say", True),
        ("my anxiety", False),
        ("maybe", False),
        ("sure", False),
        ("", False),
        (None, False),
    ],
)
def test_skipping_the_optional_question(text, skipped):
    assert is_skip(text) is skipped
