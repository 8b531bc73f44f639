"""The one place that reads configuration: the clinic profile file and the environment.

Every other module asks this one for clinic facts, helplines and paths, so a clinic changes what
the assistant says about it by editing ``config/clinic.yml`` (or overriding a value in ``.env``)
and never by editing answers or code.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeAlias, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import load_dotenv

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the package is installed from (the project is always installed editable)."""

DEFAULT_PROFILE = PROJECT_ROOT / "config" / "clinic.yml"
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
DEV_KEY_DIRECTORY = "dit-assistant"
DEV_KEY_NAME = "dev-enquiry.key"
"""The development key's file, in the user's configuration directory: never in ``var/``."""
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_VAR_DIR / 'dit-assistant.sqlite'}"
DEFAULT_RETENTION_DAYS = 365
DEFAULT_UNANSWERED_RETENTION_DAYS = 90
DEFAULT_CONVERSATION_RETENTION_DAYS = 30
DEFAULT_DASHBOARD_PORT = 5010
DEFAULT_DASHBOARD_SESSION_HOURS = 12
"""A dashboard session ends this long after logging in, however active it is."""
DEFAULT_DASHBOARD_IDLE_MINUTES = 30
"""A dashboard session ends after this long without a request."""
DEFAULT_ACTION_PORT = 5055
DEFAULT_ACTION_DB_TIMEOUT_S = 2
"""Seconds the action server's database work may wait for a connection and, on PostgreSQL, for
one statement; then the enquiry goes to the spool (a statistic is dropped)."""
DEFAULT_ACTION_DB_RETRY_AFTER_S = 30
"""After a database failure, the action server leaves the database alone this long (enquiries go
straight to the spool), then tries it again with one call."""
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_SMTP_PORT = 587
DEFAULT_DIGEST_HOUR = 8
ENVIRONMENTS = ("development", "production")
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

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


# The routes for people DIT may not suit first (bot/data/rules/routes.yml). Each key names a
# ``specialist_services:`` list of a region in ``safety/helplines.yml`` and the template variable
# ``{specialist_<key>}`` of the route's reply. A region without services for a route still gets a
# sentence: the person is pointed to their GP or the team, never shown an empty list.
SPECIALIST_ROUTES: tuple[str, ...] = (
    "eating",
    "psychosis",
    "substance",
    "bipolar",
    "severe",
    "recent_trauma",
    "perinatal",
    "harm_thoughts",
    "parents",
)
SPECIALIST_FALLBACK = (
    "Your GP or our team can tell you about specialist services near you, and help you find "
    "the right one."
)
SPECIALIST_INTRO = "These services can also help:"


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
    country: str
    """ISO 3166 code whose numbering plan applies to phone numbers typed without a +code."""
    emergency: str
    helplines: tuple[Service, ...]
    young_people: tuple[Service, ...]
    specialist_services: dict[str, tuple[Service, ...]] = field(default_factory=dict)
    """Reviewed specialist services by route (keys of ``SPECIALIST_ROUTES``); routes a region
    has no reviewed entry for are absent, and their replies fall back to the GP or the team."""


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


DEFAULT_WEB_PORT = 8080
DEFAULT_MAX_MESSAGE_CHARS = 2000
"""Longest message read, in characters; a longer one gets a kind reply and is not processed."""
DEFAULT_MAX_MESSAGES_PER_MINUTE = 30
"""Messages one sender may send in a minute; more get a kind reply (with the crisis lines) and
are not processed. Far above anyone typing, even in distress; a script flooding the server hits
it at once."""
DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS = 120
"""Messages one network address may send in a minute, all its senders together (REST and the
widget; platform webhooks come from the platforms' servers and are not counted). Generous: a
clinic's waiting room or an office may share one address."""
DEFAULT_MAX_REQUEST_BYTES = 256 * 1024
"""Largest request body the Rasa server reads (Sanic, socket.io): far above any message allowed
(2,000 characters as JSON escapes are under 25 KB) and far below Sanic's own 100 MB."""


@dataclass(frozen=True)
class PlatformSettings:
    """Settings of one messaging platform, read from ``<ENV_PREFIX><FIELD>`` variables.

    A platform is enabled only when all its ``REQUIRED`` values are set. That is why secrets are
    read here and not written as ``${VAR}`` in ``bot/credentials.yml``: there an unset variable
    stops the whole Rasa server, here it only leaves that one platform switched off.
    """

    ENV_PREFIX: ClassVar[str] = ""
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def env_name(cls, field_name: str) -> str:
        return f"{cls.ENV_PREFIX}{field_name.upper()}"

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the required variables that are not set."""
        return tuple(self.env_name(name) for name in self.REQUIRED if not getattr(self, name))

    @property
    def enabled(self) -> bool:
        return not self.missing

    @property
    def partly_configured(self) -> bool:
        """Some but not all required values set: worth a warning, as it is probably a mistake."""
        return bool(self.missing) and len(self.missing) < len(self.REQUIRED)


@dataclass(frozen=True)
class TelegramSettings(PlatformSettings):
    """Telegram bot (``TELEGRAM_*``): the webhook secret is checked on every update."""

    ENV_PREFIX: ClassVar[str] = "TELEGRAM_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("bot_token", "webhook_secret")
    bot_token: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_url: str = ""
    """Public URL of our webhook; when set it is registered with Telegram at start-up."""
    api_base: str = "https://api.telegram.org"


@dataclass(frozen=True)
class TwilioSettings(PlatformSettings):
    """Twilio SMS and WhatsApp (``TWILIO_*``): requests are checked with the auth token."""

    ENV_PREFIX: ClassVar[str] = "TWILIO_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("account_sid", "auth_token")
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_url: str = ""
    """The public URL Twilio posts to, exactly as configured at Twilio: signatures cover it, and
    behind a proxy the URL the server sees differs from it."""
    api_base: str = "https://api.twilio.com"
    sms_max_length: int = 1600
    """Twilio's limit for one message body; a clinic may lower it to send fewer SMS segments."""


@dataclass(frozen=True)
class FacebookSettings(PlatformSettings):
    """Facebook Messenger (``FACEBOOK_*``): requests are checked with the app secret."""

    ENV_PREFIX: ClassVar[str] = "FACEBOOK_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("page_access_token", "app_secret", "verify_token")
    page_access_token: str = field(default="", repr=False)  # a secret: kept out of logs
    app_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    verify_token: str = field(default="", repr=False)  # a secret: kept out of logs
    graph_api_url: str = "https://graph.facebook.com/v21.0"


@dataclass(frozen=True)
class SlackSettings(PlatformSettings):
    """Slack app (``SLACK_*``): requests are checked with the signing secret."""

    ENV_PREFIX: ClassVar[str] = "SLACK_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("bot_token", "signing_secret")
    bot_token: str = field(default="", repr=False)  # a secret: kept out of logs
    signing_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    api_base: str = "https://slack.com/api/"


@dataclass(frozen=True)
class ChannelSettings:
    """The messaging platforms; each one is independent of the others."""

    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    facebook: FacebookSettings = field(default_factory=FacebookSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)


@dataclass(frozen=True)
class NotificationSettings:
    """How staff hear about new enquiries (README: "Notifications"); each way is off when unset.

    Email needs ``SMTP_HOST``, ``NOTIFY_EMAIL_FROM`` and ``NOTIFY_EMAIL_TO``; the webhook needs
    ``NOTIFY_WEBHOOK_URL``. Secrets are kept out of ``repr`` and so out of logs.
    """

    smtp_host: str = ""
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)  # a secret: kept out of logs
    smtp_starttls: bool = True
    """STARTTLS before logging in (port 587); port 465 uses TLS from the first byte instead."""
    email_from: str = ""
    email_to: tuple[str, ...] = ()
    webhook_url: str = field(default="", repr=False)  # Slack/Teams URLs carry their own secret
    webhook_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    dashboard_public_url: str = ""
    """Where staff open the dashboard (``DASHBOARD_PUBLIC_URL``): links in notices start here."""
    digest: bool = False
    digest_hour: int = DEFAULT_DIGEST_HOUR
    """Hour of the clinic's day from which the daily digest is sent (``NOTIFY_DIGEST_HOUR``)."""

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.email_from and self.email_to)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def targets(self) -> tuple[str, ...]:
        """Where each new enquiry is announced: ``email``, ``webhook``, both or neither."""
        return tuple(
            name
            for name, enabled in (("email", self.email_enabled), ("webhook", self.webhook_enabled))
            if enabled
        )

    @property
    def enabled(self) -> bool:
        return bool(self.targets)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once per process."""

    clinic: ClinicProfile
    helplines: RegionHelplines
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = field(default="", repr=False)  # may hold a password: kept out of logs
    """``REDIS_URL``: a Redis server shared by several Rasa replicas, for Rasa's lock store and
    the message gate's rate limits and delivery ids. Empty: one Rasa process, both in memory."""
    # Enquiry store and staff dashboard (see the README, "Enquiries and the staff dashboard").
    environment: str = "development"
    var_dir: Path = DEFAULT_VAR_DIR
    enquiry_keys: tuple[str, ...] = ()
    """Fernet keys for personal data at rest, newest first; empty: the development key."""
    dev_key_file: Path = Path.home() / ".config" / DEV_KEY_DIRECTORY / DEV_KEY_NAME
    """``DEV_ENQUIRY_KEY_FILE``: the development key used without ``ENQUIRY_KEYS``; by default in
    the user's configuration directory, never beside the database in ``var/``."""
    spool_dir: Path = DEFAULT_VAR_DIR / "spool"
    retention_days: int = DEFAULT_RETENTION_DAYS
    unanswered_retention_days: int = DEFAULT_UNANSWERED_RETENTION_DAYS
    """Days an unanswered question is kept for staff review (counted from the day it came)."""
    conversation_retention_days: int = DEFAULT_CONVERSATION_RETENTION_DAYS
    """Days a conversation is kept after its latest message (the Rasa server's tracker store)."""
    dashboard_port: int = DEFAULT_DASHBOARD_PORT
    action_port: int = DEFAULT_ACTION_PORT
    """Port of the action server that ``make run`` starts (127.0.0.1 only)."""
    dashboard_secret_key: str | None = None
    dashboard_secure_cookies: bool = True
    dashboard_session_hours: int = DEFAULT_DASHBOARD_SESSION_HOURS
    """``DASHBOARD_SESSION_HOURS``: a session's absolute lifetime, activity or not."""
    dashboard_idle_minutes: int = DEFAULT_DASHBOARD_IDLE_MINUTES
    """``DASHBOARD_IDLE_MINUTES``: a session unused this long has ended."""

    # Website widget and messaging platforms (see the README, "The website widget").
    web_port: int = DEFAULT_WEB_PORT
    widget_origins: tuple[str, ...] = ()
    """Origins of the clinic's own sites that embed the widget (allowed by the Rasa server)."""
    rest_token: str = field(default="", repr=False)  # a secret: kept out of logs
    """``REST_TOKEN``: callers of the REST channel must send ``Authorization: Bearer <token>``.
    Unset: the REST channel answers only 127.0.0.1 in development and is off in production."""
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    """``MAX_MESSAGE_CHARS``: longer messages are answered kindly and never processed."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """``MAX_REQUEST_BYTES``: larger request bodies are refused (413) before they are read."""
    max_messages_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE
    """``MAX_MESSAGES_PER_MINUTE``: per sender; more get a kind reply and are not processed."""
    max_messages_per_minute_per_address: int = DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS
    """``MAX_MESSAGES_PER_MINUTE_PER_ADDRESS``: per network address (REST and the widget), all
    its senders together; more get the same kind reply and are not processed."""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """``TRUSTED_PROXIES``: addresses or networks of the clinic's own reverse proxies, whose
    ``X-Forwarded-For`` header names the caller. Empty: that header is never believed."""
    action_db_timeout_s: int = DEFAULT_ACTION_DB_TIMEOUT_S
    """``ACTION_DB_TIMEOUT_S``: the action server's wait for a database connection and (on
    PostgreSQL) for one statement."""
    action_db_retry_after_s: int = DEFAULT_ACTION_DB_RETRY_AFTER_S
    """``ACTION_DB_RETRY_AFTER_S``: after a database failure the action server skips the
    database this long, then tries one call."""
    log_level: str = "INFO"
    """``LOG_LEVEL`` of the servers ``make run`` starts; content is redacted at every level."""
    timezone: str = DEFAULT_TIMEZONE
    """The clinic's time zone (``timezone`` in the profile, ``CLINIC_TIMEZONE``): times shown to
    staff are in it; times are stored in UTC."""
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def dashboard_url(self) -> str:
        """The dashboard's address as staff reach it, without a trailing slash."""
        public = self.notifications.dashboard_public_url
        return public.rstrip("/") if public else f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def production(self) -> bool:
        """Production refuses generated development secrets: they must come from the environment."""
        return self.environment == "production"

    @property
    def allowed_widget_origins(self) -> tuple[str, ...]:
        """Pages that may talk to the Rasa server from a browser: the local demo page that
        ``make run`` serves, and ``WIDGET_ORIGINS``. One list for both checks: ``rasa run --cors``
        (HTTP) and the socket.io channel's Origin check (WebSockets, which CORS does not cover)."""
        return (
            f"http://127.0.0.1:{self.web_port}",
            f"http://localhost:{self.web_port}",
            *self.widget_origins,
        )

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
            # How long enquiries, unanswered questions and conversations are kept, as the
            # answers state it.
            "enquiry_retention_days": str(self.retention_days),
            "unanswered_retention_days": str(self.unanswered_retention_days),
            "conversation_retention_days": str(self.conversation_retention_days),
            **self._specialist_variables(),
            **self._practical_variables(),
        }

    def _specialist_variables(self) -> dict[str, str]:
        """``{specialist_<route>}``: the region's services for that route, or the fallback.

        Every route always has a value, so a reply never shows a raw placeholder or an empty
        list, whatever a region's entries hold.
        """
        variables = {}
        for route in SPECIALIST_ROUTES:
            services = self.helplines.specialist_services.get(route, ())
            variables[f"specialist_{route}"] = (
                "\n".join([SPECIALIST_INTRO, _bulleted([s.as_line() for s in services])])
                if services
                else SPECIALIST_FALLBACK
            )
        return variables

    def _practical_variables(self) -> dict[str, str]:
        """``{practical_<key>}`` for every practical fact: the clinic's words, or, when it left the
        fact unset, a plain "I don't have that" with the team's contacts. Never a guess."""
        clinic = self.clinic
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
            country=str(entry["country"]),
            emergency=str(entry["emergency"]),
            helplines=_services(entry.get("helplines"), f"helplines.yml:{key}.helplines"),
            young_people=_services(entry.get("young_people"), f"helplines.yml:{key}.young_people"),
            specialist_services=_specialist_services(entry.get("specialist_services"), key),
        )
        for key, entry in raw.items()
    }


def _specialist_services(raw: Any, region: str) -> dict[str, tuple[Service, ...]]:
    """A region's ``specialist_services:``: routes it has reviewed entries for.

    A route name that is not one of ``SPECIALIST_ROUTES`` is skipped with a warning rather than
    stopping the assistant: crisis replies must keep working while a clinic fixes a typo, and
    the route it meant falls back to "your GP or our team" meanwhile.
    """
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"helplines.yml:{region}.specialist_services must map route names to services"
        )
    services = {}
    for route, entries in raw.items():
        if route not in SPECIALIST_ROUTES:
            logger.warning(
                "helplines.yml:%s.specialist_services: unknown route %r skipped; known: %s",
                region,
                route,
                ", ".join(SPECIALIST_ROUTES),
            )
            continue
        found = _services(entries, f"helplines.yml:{region}.specialist_services.{route}")
        if found:
            services[str(route)] = found
    return services


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


def _read_profile(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigurationError(f"clinic profile not found: {path}") from error
    if not isinstance(raw, dict):
        raise ConfigurationError(f"clinic profile {path} must be a mapping of keys to values")
    return raw


def parse_fernet_keys(raw: str) -> tuple[str, ...]:
    """Split and check ``ENQUIRY_KEYS`` without ever putting a key into an error message."""
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise ConfigurationError(
                f"ENQUIRY_KEYS: key number {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `dit-staff generate-key`"
            )
    return keys


def _positive_int(raw: Any, name: str, maximum: int | None = None) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1 or (maximum is not None and value > maximum):
        raise ConfigurationError(f"{name} must be between 1 and {maximum or 'any'}, not {value}")
    return value


def _flag(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def default_dev_key_file(env: dict[str, str]) -> Path:
    """Where the development key lives without ``DEV_ENQUIRY_KEY_FILE``: the user's
    configuration directory (``$XDG_CONFIG_HOME``, else ``~/.config``), outside the checkout."""
    config_home = (env.get("XDG_CONFIG_HOME") or "").strip()
    if config_home and Path(config_home).is_absolute():
        base = Path(config_home)
    else:
        home = (env.get("HOME") or "").strip()
        base = (Path(home) if home else Path.home()) / ".config"
    return base / DEV_KEY_DIRECTORY / DEV_KEY_NAME


def _dev_key_file(env: dict[str, str]) -> Path:
    raw = (env.get("DEV_ENQUIRY_KEY_FILE") or "").strip()
    if not raw:
        return default_dev_key_file(env)
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _store_settings(env: dict[str, str], raw_profile: dict[str, Any]) -> dict[str, Any]:
    """Settings of the enquiry store and staff dashboard, checked so start-up fails clearly."""
    environment = (env.get("DIT_ENV") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"DIT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
        )
    var_dir = Path(env.get("DIT_VAR_DIR") or DEFAULT_VAR_DIR)
    if not var_dir.is_absolute():
        var_dir = PROJECT_ROOT / var_dir
    spool_dir = Path(env.get("ENQUIRY_SPOOL_DIR") or var_dir / "spool")
    if not spool_dir.is_absolute():
        spool_dir = PROJECT_ROOT / spool_dir
    keys = parse_fernet_keys(env.get("ENQUIRY_KEYS") or "")
    if environment == "production" and not keys:
        raise ConfigurationError(
            "DIT_ENV=production needs ENQUIRY_KEYS (comma-separated Fernet keys, newest first) "
            "to encrypt enquiries; make a key with `dit-staff generate-key`"
        )
    secure_cookies = _flag(
        env.get("DASHBOARD_SECURE_COOKIES") or "true", "DASHBOARD_SECURE_COOKIES"
    )
    if environment == "production" and not secure_cookies:
        raise ConfigurationError("DASHBOARD_SECURE_COOKIES cannot be false with DIT_ENV=production")
    retention = (
        env.get("RETENTION_DAYS") or raw_profile.get("retention_days") or DEFAULT_RETENTION_DAYS
    )
    unanswered_retention = (
        env.get("UNANSWERED_RETENTION_DAYS")
        or raw_profile.get("unanswered_retention_days")
        or DEFAULT_UNANSWERED_RETENTION_DAYS
    )
    conversation_retention = (
        env.get("CONVERSATION_RETENTION_DAYS")
        or raw_profile.get("conversation_retention_days")
        or DEFAULT_CONVERSATION_RETENTION_DAYS
    )
    return {
        "environment": environment,
        "var_dir": var_dir,
        "enquiry_keys": keys,
        "dev_key_file": _dev_key_file(env),
        "spool_dir": spool_dir,
        "retention_days": _positive_int(retention, "RETENTION_DAYS (retention_days)"),
        "unanswered_retention_days": _positive_int(
            unanswered_retention, "UNANSWERED_RETENTION_DAYS (unanswered_retention_days)"
        ),
        "conversation_retention_days": _positive_int(
            conversation_retention,
            "CONVERSATION_RETENTION_DAYS (conversation_retention_days)",
        ),
        "dashboard_port": _positive_int(
            env.get("DASHBOARD_PORT") or DEFAULT_DASHBOARD_PORT, "DASHBOARD_PORT", 65535
        ),
        "action_port": _positive_int(
            env.get("ACTION_PORT") or DEFAULT_ACTION_PORT, "ACTION_PORT", 65535
        ),
        "action_db_timeout_s": _positive_int(
            env.get("ACTION_DB_TIMEOUT_S") or DEFAULT_ACTION_DB_TIMEOUT_S, "ACTION_DB_TIMEOUT_S", 60
        ),
        "action_db_retry_after_s": _positive_int(
            env.get("ACTION_DB_RETRY_AFTER_S") or DEFAULT_ACTION_DB_RETRY_AFTER_S,
            "ACTION_DB_RETRY_AFTER_S",
            3600,
        ),
        "dashboard_secret_key": (env.get("DASHBOARD_SECRET_KEY") or "").strip() or None,
        "dashboard_secure_cookies": secure_cookies,
        "dashboard_session_hours": _positive_int(
            env.get("DASHBOARD_SESSION_HOURS") or DEFAULT_DASHBOARD_SESSION_HOURS,
            "DASHBOARD_SESSION_HOURS",
            168,
        ),
        "dashboard_idle_minutes": _positive_int(
            env.get("DASHBOARD_IDLE_MINUTES") or DEFAULT_DASHBOARD_IDLE_MINUTES,
            "DASHBOARD_IDLE_MINUTES",
            1440,
        ),
    }


Platform = TypeVar("Platform", bound=PlatformSettings)


def _platform(cls: type[Platform], env: dict[str, str]) -> Platform:
    values: dict[str, Any] = {}
    for item in fields(cls):
        name = cls.env_name(item.name)
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        if isinstance(item.default, int):
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigurationError(f"{name} must be a positive whole number, not {raw!r}")
            values[item.name] = int(raw)
        else:
            if item.name.endswith(("_url", "_base")) and urlsplit(raw).scheme not in (
                "http",
                "https",
            ):
                raise ConfigurationError(f"{name} must be an http(s) URL, not {raw!r}")
            values[item.name] = raw
    return cls(**values)


def _origins(raw: str) -> tuple[str, ...]:
    """``WIDGET_ORIGINS``: comma-separated ``scheme://host[:port]``, as browsers send them."""
    origins = []
    for part in (p.strip().rstrip("/") for p in raw.split(",")):
        if not part:
            continue
        parts = urlsplit(part)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigurationError(
                f"WIDGET_ORIGINS entries look like https://www.example-clinic.org, not {part!r}"
            )
        origins.append(part)
    return tuple(origins)


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or networks (``10.0.0.5``, ``10.0.0.0/24``,
    ``::1``)."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(
                "TRUSTED_PROXIES entries are addresses or networks such as 10.0.0.5 or "
                f"10.0.0.0/24, not {part!r}"
            ) from None
    return tuple(networks)


MIN_REST_TOKEN_CHARS = 32


def _rest_token(raw: str) -> str:
    """``REST_TOKEN``: long enough that it cannot be guessed (``openssl rand -hex 32``)."""
    token = raw.strip()
    if token and len(token) < MIN_REST_TOKEN_CHARS:
        raise ConfigurationError(
            f"REST_TOKEN must be at least {MIN_REST_TOKEN_CHARS} characters "
            "(make one with: openssl rand -hex 32)"
        )
    return token


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return level


REDIS_SCHEMES = ("redis", "rediss")


def _redis_url(raw: str) -> str:
    """``REDIS_URL``: ``redis://[[user]:password@]host[:port][/db]`` (``rediss://`` for TLS)."""
    url = raw.strip()
    if not url:
        return ""
    # The URL itself is never repeated: it may hold a password.
    problem = "REDIS_URL must look like redis://[:password@]host:6379/0 (rediss:// for TLS)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(problem) from None
    database = parts.path.strip("/")
    if (
        parts.scheme not in REDIS_SCHEMES
        or not parts.hostname
        or (database and not database.isdigit())
        or parts.query
        or port == 0
    ):
        raise ConfigurationError(problem)
    return url


def _web_and_channel_settings(env: dict[str, str]) -> dict[str, Any]:
    raw_port = (env.get("WEB_PORT") or str(DEFAULT_WEB_PORT)).strip()
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        raise ConfigurationError(f"WEB_PORT must be a port number, not {raw_port!r}")
    return {
        "web_port": int(raw_port),
        "widget_origins": _origins(env.get("WIDGET_ORIGINS") or ""),
        "rest_token": _rest_token(env.get("REST_TOKEN") or ""),
        "max_message_chars": _positive_int(
            env.get("MAX_MESSAGE_CHARS") or DEFAULT_MAX_MESSAGE_CHARS, "MAX_MESSAGE_CHARS", 100_000
        ),
        "log_level": _log_level(env.get("LOG_LEVEL") or "INFO"),
        "max_messages_per_minute": _positive_int(
            env.get("MAX_MESSAGES_PER_MINUTE") or DEFAULT_MAX_MESSAGES_PER_MINUTE,
            "MAX_MESSAGES_PER_MINUTE",
            10_000,
        ),
        "max_messages_per_minute_per_address": _positive_int(
            env.get("MAX_MESSAGES_PER_MINUTE_PER_ADDRESS")
            or DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS,
            "MAX_MESSAGES_PER_MINUTE_PER_ADDRESS",
            100_000,
        ),
        "trusted_proxies": _networks(env.get("TRUSTED_PROXIES") or ""),
        "max_request_bytes": _positive_int(
            env.get("MAX_REQUEST_BYTES") or DEFAULT_MAX_REQUEST_BYTES,
            "MAX_REQUEST_BYTES",
            100_000_000,
        ),
        "channels": ChannelSettings(
            telegram=_platform(TelegramSettings, env),
            twilio=_platform(TwilioSettings, env),
            facebook=_platform(FacebookSettings, env),
            slack=_platform(SlackSettings, env),
        ),
    }


def _timezone(raw: str) -> str:
    name = raw.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"timezone must be an IANA time zone such as Europe/London, not {raw!r}"
        ) from None
    return name


def _http_url(raw: str, name: str) -> str:
    value = raw.strip()
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise ConfigurationError(f"{name} must be an http(s) URL")  # the URL may hold a secret
    return value


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _hour(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 23:
        raise ConfigurationError(f"NOTIFY_DIGEST_HOUR must be an hour from 0 to 23, not {raw!r}")
    return int(raw)


def _notification_settings(env: dict[str, str]) -> NotificationSettings:
    """``SMTP_*`` and ``NOTIFY_*``: half a configuration is refused, so it is noticed at once."""

    def value(name: str) -> str:
        return (env.get(name) or "").strip()

    port = _positive_int(value("SMTP_PORT") or DEFAULT_SMTP_PORT, "SMTP_PORT", 65535)
    starttls = _flag(value("SMTP_STARTTLS") or "true", "SMTP_STARTTLS")
    recipients = tuple(part.strip() for part in value("NOTIFY_EMAIL_TO").split(",") if part.strip())
    settings = NotificationSettings(
        smtp_host=value("SMTP_HOST"),
        smtp_port=port,
        smtp_username=value("SMTP_USERNAME"),
        smtp_password=env.get("SMTP_PASSWORD") or "",
        smtp_starttls=starttls,
        email_from=value("NOTIFY_EMAIL_FROM"),
        email_to=recipients,
        webhook_url=_http_url(value("NOTIFY_WEBHOOK_URL"), "NOTIFY_WEBHOOK_URL"),
        webhook_secret=value("NOTIFY_WEBHOOK_SECRET"),
        dashboard_public_url=_http_url(value("DASHBOARD_PUBLIC_URL"), "DASHBOARD_PUBLIC_URL"),
        digest=_flag(value("NOTIFY_DIGEST") or "false", "NOTIFY_DIGEST"),
        digest_hour=_hour(value("NOTIFY_DIGEST_HOUR") or str(DEFAULT_DIGEST_HOUR)),
    )
    email_values = {
        "SMTP_HOST": settings.smtp_host,
        "NOTIFY_EMAIL_FROM": settings.email_from,
        "NOTIFY_EMAIL_TO": settings.email_to,
    }
    missing = [name for name, given in email_values.items() if not given]
    if 0 < len(missing) < len(email_values):
        raise ConfigurationError(
            f"email notifications need {', '.join(email_values)}; missing: {', '.join(missing)}"
        )
    if settings.digest and not settings.enabled:
        raise ConfigurationError("NOTIFY_DIGEST needs email (SMTP_HOST, ...) or NOTIFY_WEBHOOK_URL")
    if (
        settings.smtp_username
        and not starttls
        and port != 465
        and settings.smtp_host not in _LOCAL_HOSTS
    ):
        raise ConfigurationError(
            "SMTP_USERNAME with SMTP_STARTTLS=false would send the SMTP password unencrypted; "
            "use STARTTLS or port 465"
        )
    return settings


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

    names = {f.name for f in fields(ClinicProfile)} - {"local_services", "practicalities"}
    missing = sorted(k for k in names if not str(raw.get(k) or "").strip())
    if missing:
        raise ConfigurationError(f"clinic profile {profile_path} is missing: {', '.join(missing)}")
    clinic = ClinicProfile(
        **{k: str(raw[k]).strip() for k in names},
        local_services=_services(raw.get("local_services"), "local_services"),
        practicalities=_practicalities(raw.get("practicalities")),
    )

    presets = load_region_presets()
    region = clinic.region.lower()
    if region not in presets:
        raise ConfigurationError(
            f"unknown region {clinic.region!r}; choose one of: {', '.join(sorted(presets))}"
        )
    store = _store_settings(env, raw)
    default_database_url = (
        f"sqlite:///{store['var_dir'] / 'dit-assistant.sqlite'}"
        if env.get("DIT_VAR_DIR")
        else DEFAULT_DATABASE_URL
    )
    return Settings(
        clinic=clinic,
        helplines=presets[region],
        database_url=env.get("DATABASE_URL") or default_database_url,
        redis_url=_redis_url(env.get("REDIS_URL") or ""),
        **store,
        **_web_and_channel_settings(env),
        timezone=_timezone(
            env.get("CLINIC_TIMEZONE") or str(raw.get("timezone") or "") or DEFAULT_TIMEZONE
        ),
        notifications=_notification_settings(env),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
