"""How staff hear about new enquiries: email over SMTP, a webhook, and the daily digest.

Read from ``SMTP_*`` and ``NOTIFY_*``; a half-finished configuration is refused at start-up, so a
clinic notices at once rather than when an enquiry goes unannounced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dit_assistant.errors import ConfigurationError
from dit_assistant.settings.environment import (
    parse_flag,
    parse_hour,
    parse_http_url,
    parse_port,
)

DEFAULT_SMTP_PORT = 587
DEFAULT_DIGEST_HOUR = 8

# SMTP servers on this machine: a password sent to them unencrypted never crosses a network.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class NotificationSettings:
    """How staff hear about new enquiries (``docs/staff.md``); each way is off when unset.

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


def notification_settings(env: dict[str, str]) -> NotificationSettings:
    """``SMTP_*`` and ``NOTIFY_*``: half a configuration is refused, so it is noticed at once."""

    def value(name: str) -> str:
        return (env.get(name) or "").strip()

    port = parse_port(value("SMTP_PORT") or DEFAULT_SMTP_PORT, "SMTP_PORT")
    starttls = parse_flag(value("SMTP_STARTTLS") or "true", "SMTP_STARTTLS")
    recipients = tuple(part.strip() for part in value("NOTIFY_EMAIL_TO").split(",") if part.strip())
    settings = NotificationSettings(
        smtp_host=value("SMTP_HOST"),
        smtp_port=port,
        smtp_username=value("SMTP_USERNAME"),
        smtp_password=env.get("SMTP_PASSWORD") or "",
        smtp_starttls=starttls,
        email_from=value("NOTIFY_EMAIL_FROM"),
        email_to=recipients,
        webhook_url=parse_http_url(value("NOTIFY_WEBHOOK_URL"), "NOTIFY_WEBHOOK_URL"),
        webhook_secret=value("NOTIFY_WEBHOOK_SECRET"),
        dashboard_public_url=parse_http_url(value("DASHBOARD_PUBLIC_URL"), "DASHBOARD_PUBLIC_URL"),
        digest=parse_flag(value("NOTIFY_DIGEST") or "false", "NOTIFY_DIGEST"),
        digest_hour=parse_hour(
            value("NOTIFY_DIGEST_HOUR") or str(DEFAULT_DIGEST_HOUR), "NOTIFY_DIGEST_HOUR"
        ),
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
