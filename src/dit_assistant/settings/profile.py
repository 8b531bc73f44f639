"""The clinic profile: the facts about one clinic that answers quote.

A clinic describes itself in ``config/clinic.yml`` (another file with ``CLINIC_PROFILE``) and may
override single facts with ``CLINIC_<KEY>`` variables, so it changes what the assistant says
about it without editing answers or code. A missing fact or a misspelt practicality stops
start-up: an answer must never quote a blank or hide a fact the clinic meant to give.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from dit_assistant.errors import ConfigurationError
from dit_assistant.paths import PROJECT_ROOT
from dit_assistant.safety.helplines import Service, parse_services

DEFAULT_PROFILE = PROJECT_ROOT / "config" / "clinic.yml"

# Clinic profile keys that can be overridden one by one from the environment, as CLINIC_<KEY>.
_OVERRIDABLE = (
    "name",
    "phone",
    "email",
    "website",
    "address",
    "hours",
    "region",
    "formats",
    "cost",
    "response_time",
    "privacy_notice_url",
    "privacy_notice_version",
)


# The practical facts a clinic sets under ``practicalities:`` in its profile, each with the words
# the assistant uses when the clinic leaves it unset ("I don't have details of ... yet").
PRACTICAL_FACTS: dict[str, str] = {
    "appointment_times": "the times and days when sessions are available",
    "cancellation": "the clinic's cancellation policy",
    "missed_sessions": "what happens when a session is missed",
    "waiting_time": "the current waiting time",
    "referral_routes": "the ways of being referred",
    "after_gp_referral": "what happens after a GP referral",
    "choosing_therapist": "how therapists are chosen",
    "languages": "the languages therapists work in, or interpreters",
    "accessibility": "the building's accessibility",
    "getting_here": "how to get to the clinic or parking",
    "bringing_someone": "bringing someone with you",
    "letters": "letters for employers or insurers",
    "qualifications": "the therapists' qualifications",
    "therapies_offered": "the other therapies the clinic offers",
    "therapist_absence": "therapists' holidays and absences",
    "after_therapy": "support after therapy ends",
    "questionnaires": "the questionnaires used at sessions",
}


@dataclass(frozen=True)
class ClinicProfile:
    """Facts about the clinic that answers quote."""

    name: str
    phone: str
    email: str
    website: str
    address: str
    hours: str
    region: str
    formats: str
    cost: str
    response_time: str
    privacy_notice_url: str
    privacy_notice_version: str
    local_services: tuple[Service, ...] = field(default_factory=tuple)
    practicalities: dict[str, str] = field(default_factory=dict)
    """The practical facts (keys of ``PRACTICAL_FACTS``) this clinic has set; unset ones absent."""


def profile_path(env: dict[str, str]) -> Path:
    """``CLINIC_PROFILE``, relative to the checkout unless absolute; else the example profile."""
    path = Path(env.get("CLINIC_PROFILE") or DEFAULT_PROFILE)
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_profile(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The profile file's values, with the ``CLINIC_<KEY>`` overrides of ``env`` applied.

    Other settings read a few keys of it too (retention periods, the time zone), so the raw
    mapping is returned; :func:`clinic_profile` makes the checked :class:`ClinicProfile`.
    """
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigurationError(f"clinic profile not found: {path}") from error
    if not isinstance(raw, dict):
        raise ConfigurationError(f"clinic profile {path} must be a mapping of keys to values")
    for key in _OVERRIDABLE:
        value = env.get(f"CLINIC_{key.upper()}")
        if value:
            raw[key] = value
    return raw


def clinic_profile(raw: dict[str, Any], path: Path) -> ClinicProfile:
    """Check that every fact is there (``path`` names the file in the error) and build it."""
    names = {f.name for f in fields(ClinicProfile)} - {"local_services", "practicalities"}
    missing = sorted(k for k in names if not str(raw.get(k) or "").strip())
    if missing:
        raise ConfigurationError(f"clinic profile {path} is missing: {', '.join(missing)}")
    return ClinicProfile(
        **{k: str(raw[k]).strip() for k in names},
        local_services=parse_services(raw.get("local_services"), "local_services"),
        practicalities=_practicalities(raw.get("practicalities")),
    )


def _practicalities(raw: Any) -> dict[str, str]:
    """The ``practicalities:`` mapping, with unknown keys refused (a typo would hide a fact)."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigurationError("practicalities must be a mapping of fact names to plain words")
    unknown = sorted(set(raw) - set(PRACTICAL_FACTS))
    if unknown:
        raise ConfigurationError(
            f"unknown practicalities: {', '.join(map(str, unknown))}; "
            f"the known ones are: {', '.join(PRACTICAL_FACTS)}"
        )
    return {key: " ".join(str(value).split()) for key, value in raw.items() if value}


def practical_variables(clinic: ClinicProfile) -> dict[str, str]:
    """``{practical_<key>}`` for every practical fact: the clinic's words, or, when it left the
    fact unset, a plain "I don't have that" with the team's contacts. Never a guess."""
    unset = (
        "I don't have details of {what} at {name}. The team can tell you: call {phone} "
        "({hours}) or email {email}."
    )
    return {
        f"practical_{key}": clinic.practicalities.get(key)
        or unset.format(
            what=what,
            name=clinic.name,
            phone=clinic.phone,
            hours=clinic.hours,
            email=clinic.email,
        )
        for key, what in PRACTICAL_FACTS.items()
    }
