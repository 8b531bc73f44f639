"""Settings of the enquiry store, the staff dashboard and the action server that writes to it.

Where data lives (database, spool, development key), how it is encrypted (``ENQUIRY_KEYS``), how
long it is kept, and how the dashboard's sessions and the action server's database calls are
bounded. Production refuses the development shortcuts, so a live clinic never runs on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dit_assistant.errors import ConfigurationError
from dit_assistant.paths import PROJECT_ROOT
from dit_assistant.settings.environment import (
    parse_fernet_keys,
    parse_flag,
    parse_port,
    parse_positive_int,
)

ENVIRONMENTS = ("development", "production")
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


def database_url(env: dict[str, str], var_dir: Path) -> str:
    """``DATABASE_URL``, else SQLite in the data directory (``DIT_VAR_DIR`` when it is set)."""
    default = (
        f"sqlite:///{var_dir / 'dit-assistant.sqlite'}"
        if env.get("DIT_VAR_DIR")
        else DEFAULT_DATABASE_URL
    )
    return env.get("DATABASE_URL") or default


def store_settings(env: dict[str, str], raw_profile: dict[str, Any]) -> dict[str, Any]:
    """Settings of the enquiry store and staff dashboard, checked so start-up fails clearly.

    Retention periods may also come from the clinic profile (``raw_profile``); the environment
    wins. The keys of the result are fields of :class:`~dit_assistant.settings.Settings`.
    """
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
    secure_cookies = parse_flag(
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
        "retention_days": parse_positive_int(retention, "RETENTION_DAYS (retention_days)"),
        "unanswered_retention_days": parse_positive_int(
            unanswered_retention, "UNANSWERED_RETENTION_DAYS (unanswered_retention_days)"
        ),
        "conversation_retention_days": parse_positive_int(
            conversation_retention,
            "CONVERSATION_RETENTION_DAYS (conversation_retention_days)",
        ),
        "dashboard_port": parse_port(
            env.get("DASHBOARD_PORT") or DEFAULT_DASHBOARD_PORT, "DASHBOARD_PORT"
        ),
        "action_port": parse_port(env.get("ACTION_PORT") or DEFAULT_ACTION_PORT, "ACTION_PORT"),
        "action_db_timeout_s": parse_positive_int(
            env.get("ACTION_DB_TIMEOUT_S") or DEFAULT_ACTION_DB_TIMEOUT_S, "ACTION_DB_TIMEOUT_S", 60
        ),
        "action_db_retry_after_s": parse_positive_int(
            env.get("ACTION_DB_RETRY_AFTER_S") or DEFAULT_ACTION_DB_RETRY_AFTER_S,
            "ACTION_DB_RETRY_AFTER_S",
            3600,
        ),
        "dashboard_secret_key": (env.get("DASHBOARD_SECRET_KEY") or "").strip() or None,
        "dashboard_secure_cookies": secure_cookies,
        "dashboard_session_hours": parse_positive_int(
            env.get("DASHBOARD_SESSION_HOURS") or DEFAULT_DASHBOARD_SESSION_HOURS,
            "DASHBOARD_SESSION_HOURS",
            168,
        ),
        "dashboard_idle_minutes": parse_positive_int(
            env.get("DASHBOARD_IDLE_MINUTES") or DEFAULT_DASHBOARD_IDLE_MINUTES,
            "DASHBOARD_IDLE_MINUTES",
            1440,
        ),
    }
