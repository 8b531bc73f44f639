"""The one place that reads configuration: the clinic profile file and the environment.

Every other module asks this one for clinic facts, helplines and paths, so a clinic changes what
the assistant says about it by editing ``config/clinic.yml`` (or overriding a value in ``.env``)
and never by editing answers or code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the package is installed from (the project is always installed editable)."""

DEFAULT_PROFILE = PROJECT_ROOT / "config" / "clinic.yml"
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'dit-assistant.sqlite'}"

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


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration cannot describe a usable clinic."""


@dataclass(frozen=True)
class Service:
    """A helpline or local service: who it is and how to reach it, in plain words."""

    name: str
    contact: str

    def as_line(self) -> str:
        return f"{self.name}: {self.contact}"


@dataclass(frozen=True)
class RegionHelplines:
    """Crisis routes for one region, in the order they must be shown."""

    key: str
    label: str
    emergency: str
    helplines: tuple[Service, ...]
    young_people: tuple[Service, ...]


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


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once per process."""

    clinic: ClinicProfile
    helplines: RegionHelplines
    database_url: str = DEFAULT_DATABASE_URL

    def template_variables(self) -> dict[str, str]:
        """Values that response templates in ``bot/domain.yml`` may use as ``{name}``."""
        clinic = self.clinic
        crisis_lines = [s.as_line() for s in (*self.helplines.helplines, *clinic.local_services)]
        return {
            "clinic_name": clinic.name,
            "clinic_phone": clinic.phone,
            "clinic_email": clinic.email,
            "clinic_website": clinic.website,
            "clinic_address": clinic.address,
            "clinic_hours": clinic.hours,
            "clinic_formats": clinic.formats,
            "clinic_cost": clinic.cost,
            "clinic_response_time": clinic.response_time,
            "privacy_notice_url": clinic.privacy_notice_url,
            "region_label": self.helplines.label,
            "emergency_route": self.helplines.emergency,
            "crisis_lines": _bulleted(crisis_lines),
            "young_people_lines": _bulleted([s.as_line() for s in self.helplines.young_people]),
        }


def _bulleted(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _services(raw: Any, where: str) -> tuple[Service, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise ConfigurationError(f"{where} must be a list of {{name, contact}} entries")
    services = []
    for entry in raw:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("contact"):
            raise ConfigurationError(f"each entry of {where} needs a name and a contact")
        services.append(Service(name=str(entry["name"]), contact=str(entry["contact"])))
    return tuple(services)


def load_region_presets() -> dict[str, RegionHelplines]:
    """Read the reviewed helpline presets shipped with the safety package."""
    text = resources.files("dit_assistant.safety").joinpath("helplines.yml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return {
        key: RegionHelplines(
            key=key,
            label=str(entry["label"]),
            emergency=str(entry["emergency"]),
            helplines=_services(entry.get("helplines"), f"helplines.yml:{key}.helplines"),
            young_people=_services(entry.get("young_people"), f"helplines.yml:{key}.young_people"),
        )
        for key, entry in raw.items()
    }


def _read_profile(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigurationError(f"clinic profile not found: {path}") from error
    if not isinstance(raw, dict):
        raise ConfigurationError(f"clinic profile {path} must be a mapping of keys to values")
    return raw


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from the profile file named by ``CLINIC_PROFILE`` and ``CLINIC_*`` overrides.

    ``env`` defaults to the process environment (after ``.env`` is loaded); tests pass their own.
    """
    if env is None:
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        env = dict(os.environ)
    profile_path = Path(env.get("CLINIC_PROFILE") or DEFAULT_PROFILE)
    if not profile_path.is_absolute():
        profile_path = PROJECT_ROOT / profile_path
    raw = _read_profile(profile_path)
    for key in _OVERRIDABLE:
        value = env.get(f"CLINIC_{key.upper()}")
        if value:
            raw[key] = value

    names = {f.name for f in fields(ClinicProfile)} - {"local_services"}
    missing = sorted(k for k in names if not str(raw.get(k) or "").strip())
    if missing:
        raise ConfigurationError(f"clinic profile {profile_path} is missing: {', '.join(missing)}")
    clinic = ClinicProfile(
        **{k: str(raw[k]).strip() for k in names},
        local_services=_services(raw.get("local_services"), "local_services"),
    )

    presets = load_region_presets()
    region = clinic.region.lower()
    if region not in presets:
        raise ConfigurationError(
            f"unknown region {clinic.region!r}; choose one of: {', '.join(sorted(presets))}"
        )
    return Settings(
        clinic=clinic,
        helplines=presets[region],
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
