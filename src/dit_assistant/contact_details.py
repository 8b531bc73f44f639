"""Understanding and checking what people type into the enquiry form.

Kept apart from Rasa so the rules are plain functions with plain tests. Phone numbers are parsed
with ``phonenumbers`` (Google's libphonenumber data) for the clinic's country and stored in E.164;
email addresses are checked for syntax only with ``email-validator`` (no DNS look-up: the
assistant makes no network calls while it runs).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

CONTACT_METHODS = ("phone", "email", "text")


_METHOD_WORDS = {
    "phone": ("phone", "call", "ring", "telephone", "mobile", "landline", "voice"),
    "email": ("email", "e-mail", "e mail", "mail", "gmail", "inbox"),
    "text": ("text", "sms", "txt", "message", "whatsapp"),
}

_SKIP_WORDS = frozenset(
    {
        "skip",
        "skip it",
        "skip this",
        "skip this one",
        "skip that question",
        "next question",
        "no",
        "nope",
        "nothing",
        "none",
        "n/a",
        "na",
        "pass",
        "i'll pass",
        "rather not",
        "i'd rather not",
        "id rather not",
        "rather not say",
        "prefer not to say",
        "i'd prefer not to say",
        "no thanks",
        "not now",
        "-",
    }
)

MAX_NAME_LENGTH = 60
MAX_SHORT_TEXT = 200
MAX_HELP_TEXT = 600


def clean_text(text: object) -> str:
    """Collapses whitespace and drops control characters, keeping letters of every script.

    Anything but a string is no text (a form slot of type ``any`` can hold other values).
    """
    if not isinstance(text, str) or not text:
        return ""
    normalised = unicodedata.normalize("NFC", text)
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in normalised)
    return " ".join(kept.split())


def parse_contact_method(text: str | None) -> str | None:
    """'by email please' -> 'email'; None when no method (or more than one) is named."""
    words = clean_text(text).lower()
    if words in CONTACT_METHODS:
        return words
    found = {
        method
        for method, cues in _METHOD_WORDS.items()
        if any(re.search(rf"\b{re.escape(cue)}\b", words) for cue in cues)
    }
    # "text me on my phone" names both: the verb decides.
    if found == {"phone", "text"} and re.search(r"\b(text|sms|txt|message)\b", words):
        return "text"
    return found.pop() if len(found) == 1 else None


def normalise_phone(text: str | None, country: str) -> str | None:
    """A valid phone number as E.164 (+447700900123), or None."""
    raw = clean_text(text)
    if not raw or len(raw) > 40:
        return None
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def can_receive_texts(e164: str) -> bool:
    """False for numbers that are certainly landlines; unknown types are given the benefit."""
    number = phonenumbers.parse(e164)
    kind = phonenumbers.number_type(number)
    return kind not in (phonenumbers.PhoneNumberType.FIXED_LINE,)


def normalise_email(text: str | None) -> str | None:
    """A syntactically valid email address (domain lower-cased), or None."""
    raw = clean_text(text)
    if not raw or len(raw) > 254 or " " in raw.strip():
        # "my email is sam@example.org": take the one token that looks like an address.
        candidates = [word.strip(".,;:()<>") for word in raw.split() if "@" in word]
        if len(candidates) != 1:
            return None
        raw = candidates[0]
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def normalise_name(text: str | None) -> str | None:
    """The name someone wants to be called, or None when it cannot be a name."""
    name = clean_text(text)
    for prefix in ("my name is ", "my names ", "i'm ", "im ", "i am ", "call me ", "it's ", "its "):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
            break
    name = name.strip(" .,!")
    if not name or len(name) > MAX_NAME_LENGTH:
        return None
    if not any(ch.isalpha() for ch in name) or any(ch in name for ch in "<>{}[]@/\\=$%#*"):
        return None
    return name


def normalise_free_text(text: str | None, limit: int) -> str | None:
    """Short free text (best times, what they would like help with), or None if too long/empty."""
    value = clean_text(text)
    if not value or len(value) > limit:
        return None
    return value


def is_skip(text: str | None) -> bool:
    """True when someone prefers not to answer an optional question."""
    return clean_text(text).lower().strip(" .!") in _SKIP_WORDS
