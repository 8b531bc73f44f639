"""The one place that reads configuration: the clinic profile file and the environment.

Every other module asks this one for clinic facts, helplines and limits, so a clinic changes what
the assistant says about it by editing ``config/clinic.yml`` (or overriding a value in ``.env``)
and never by editing answers or code.

This package assembles :class:`Settings`; each part is read and checked in a module of its own
(``profile``, ``store``, ``server``, ``platforms``, ``notifications``, with the value parsers in
``environment``), and the helpline presets come from :mod:`dit_assistant.safety.helplines`.
Everything other modules use is importable from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

from dit_assistant.errors import ConfigurationError
from dit_assistant.paths import HOST, PROJECT_ROOT
from dit_assistant.safety.helplines import (
    SPECIALIST_FALLBACK,
    SPECIALIST_INTRO,
    SPECIALIST_ROUTES,
    RegionHelplines,
    Service,
    _specialist_services,
    load_region_presets,
)
from dit_assistant.settings.environment import (
    IPNetwork,
    parse_fernet_keys,
    parse_redis_url,
    parse_timezone,
)
from dit_assistant.settings.notifications import (
    DEFAULT_DIGEST_HOUR,
    DEFAULT_SMTP_PORT,
    NotificationSettings,
    notification_settings,
)
from dit_assistant.settings.platforms import (
    ChannelSettings,
    FacebookSettings,
    PlatformSettings,
    SlackSettings,
    TelegramSettings,
    TwilioSettings,
)
from dit_assistant.settings.profile import (
    DEFAULT_PROFILE,
    PRACTICAL_FACTS,
    ClinicProfile,
    clinic_profile,
    practical_variables,
    profile_path,
    read_profile,
)
from dit_assistant.settings.server import (
    DEFAULT_MAX_MESSAGE_CHARS,
    DEFAULT_MAX_MESSAGES_PER_MINUTE,
    DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_WEB_PORT,
    server_settings,
)
from dit_assistant.settings.store import (
    DEFAULT_ACTION_DB_RETRY_AFTER_S,
    DEFAULT_ACTION_DB_TIMEOUT_S,
    DEFAULT_ACTION_PORT,
    DEFAULT_CONVERSATION_RETENTION_DAYS,
    DEFAULT_DASHBOARD_IDLE_MINUTES,
    DEFAULT_DASHBOARD_PORT,
    DEFAULT_DASHBOARD_SESSION_HOURS,
    DEFAULT_DATABASE_URL,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_UNANSWERED_RETENTION_DAYS,
    DEFAULT_VAR_DIR,
    DEV_KEY_DIRECTORY,
    DEV_KEY_NAME,
    ENVIRONMENTS,
    database_url,
    default_dev_key_file,
    store_settings,
)

__all__ = [
    # Settings as a whole.
    "ConfigurationError",
    "Settings",
    "get_settings",
    "load_settings",
    "PROJECT_ROOT",
    "DEFAULT_TIMEZONE",
    # The clinic profile.
    "DEFAULT_PROFILE",
    "PRACTICAL_FACTS",
    "ClinicProfile",
    # Helpline presets and specialist services (dit_assistant.safety.helplines).
    "SPECIALIST_FALLBACK",
    "SPECIALIST_INTRO",
    "SPECIALIST_ROUTES",
    "RegionHelplines",
    "Service",
    "_specialist_services",  # parsed on its own by the route tests
    "load_region_presets",
    # Enquiry store, staff dashboard and action server.
    "DEFAULT_ACTION_DB_RETRY_AFTER_S",
    "DEFAULT_ACTION_DB_TIMEOUT_S",
    "DEFAULT_ACTION_PORT",
    "DEFAULT_CONVERSATION_RETENTION_DAYS",
    "DEFAULT_DASHBOARD_IDLE_MINUTES",
    "DEFAULT_DASHBOARD_PORT",
    "DEFAULT_DASHBOARD_SESSION_HOURS",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_UNANSWERED_RETENTION_DAYS",
    "DEFAULT_VAR_DIR",
    "DEV_KEY_DIRECTORY",
    "DEV_KEY_NAME",
    "ENVIRONMENTS",
    "default_dev_key_file",
    "parse_fernet_keys",
    # The Rasa server, the website widget and the messaging platforms.
    "DEFAULT_MAX_MESSAGE_CHARS",
    "DEFAULT_MAX_MESSAGES_PER_MINUTE",
    "DEFAULT_MAX_MESSAGES_PER_MINUTE_PER_ADDRESS",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_WEB_PORT",
    "IPNetwork",
    "ChannelSettings",
    "FacebookSettings",
    "PlatformSettings",
    "SlackSettings",
    "TelegramSettings",
    "TwilioSettings",
    # Notifications.
    "DEFAULT_DIGEST_HOUR",
    "DEFAULT_SMTP_PORT",
    "NotificationSettings",
]

DEFAULT_TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once per process."""

    clinic: ClinicProfile
    helplines: RegionHelplines
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = field(default="", repr=False)  # may hold a password: kept out of logs
    """``REDIS_URL``: a Redis server shared by several Rasa replicas, for Rasa's lock store and
    the message gate's rate limits and delivery ids. Empty: one Rasa process, both in memory."""
    # Enquiry store and staff dashboard (docs/staff.md).
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

    # Website widget and messaging platforms (docs/channels.md).
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
        return public.rstrip("/") if public else f"http://{HOST}:{self.dashboard_port}"

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
            f"http://{HOST}:{self.web_port}",
            f"http://localhost:{self.web_port}",
            *self.widget_origins,
        )

    def template_variables(self) -> dict[str, str]:
        """Values that response templates in ``bot/domain/`` may use as ``{name}``."""
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
            **practical_variables(clinic),
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


def _bulleted(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from the profile file named by ``CLINIC_PROFILE`` and ``CLINIC_*`` overrides.

    ``env`` defaults to the process environment (after ``.env`` is loaded); tests pass their own.
    """
    if env is None:
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        env = dict(os.environ)
    path = profile_path(env)
    raw = read_profile(path, env)
    clinic = clinic_profile(raw, path)

    presets = load_region_presets()
    region = clinic.region.lower()
    if region not in presets:
        raise ConfigurationError(
            f"unknown region {clinic.region!r}; choose one of: {', '.join(sorted(presets))}"
        )
    store = store_settings(env, raw)
    return Settings(
        clinic=clinic,
        helplines=presets[region],
        database_url=database_url(env, store["var_dir"]),
        redis_url=parse_redis_url(env.get("REDIS_URL") or ""),
        **store,
        **server_settings(env),
        timezone=parse_timezone(
            env.get("CLINIC_TIMEZONE") or str(raw.get("timezone") or "") or DEFAULT_TIMEZONE
        ),
        notifications=notification_settings(env),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
